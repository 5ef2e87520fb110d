/*
Copyright 2026 The wallet-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package reports

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
)

// MaxPageSize is the largest limit a transactions or payments list takes.
const MaxPageSize = 100

// historyQuery is what a transactions or payments list asks for.
type historyQuery struct {
	wallet, typ, status string
	limit               int
	cursor              string // the ledger's
}

// continueToken binds a ledger cursor to the list it continues, so that a
// token is refused with other filters instead of paging something else.
type continueToken struct {
	Wallet string `json:"w"`
	Type   string `json:"t,omitempty"`
	Status string `json:"s,omitempty"`
	Cursor string `json:"c"`
}

func (h historyQuery) token(next string) string {
	if next == "" {
		return ""
	}
	b, _ := json.Marshal(continueToken{Wallet: h.wallet, Type: h.typ, Status: h.status, Cursor: next})
	return base64.RawURLEncoding.EncodeToString(b)
}

// parseHistory reads the field selectors, limit and continue of a list of
// resource (transactions or payments).
func parseHistory(ctx context.Context, resource string, o *metainternalversion.ListOptions) (historyQuery, error) {
	var h historyQuery
	if genericapirequest.NamespaceValue(ctx) == "" {
		return h, apierrors.NewBadRequest(fmt.Sprintf("%s are listed per wallet: give a namespace (-n) and fieldSelector wallet=<name>", resource))
	}
	if err := noLabels(o, resource); err != nil {
		return h, err
	}
	sel, err := fieldEquals(o, resource, "wallet", "type", "status")
	if err != nil {
		return h, err
	}
	h.wallet, h.typ, h.status = sel["wallet"], sel["type"], sel["status"]
	if h.wallet == "" {
		return h, apierrors.NewBadRequest(fmt.Sprintf("%s are listed per wallet: add fieldSelector wallet=<name> (kubectl get %s --field-selector wallet=<name> --chunk-size=%d)", resource, resource, MaxPageSize))
	}
	h.limit = MaxPageSize
	if o != nil && o.Limit != 0 {
		if o.Limit < 0 || o.Limit > MaxPageSize {
			return h, apierrors.NewBadRequest(fmt.Sprintf("limit=%d: a page holds 1 to %d %s; page on with continue (with kubectl: --chunk-size=%d)", o.Limit, MaxPageSize, resource, MaxPageSize))
		}
		h.limit = int(o.Limit)
	}
	if o != nil && o.Continue != "" {
		var t continueToken
		b, err := base64.RawURLEncoding.DecodeString(o.Continue)
		if err == nil {
			err = json.Unmarshal(b, &t)
		}
		if err != nil || t.Cursor == "" {
			return h, apierrors.NewBadRequest("the continue token is malformed: pass metadata.continue of the previous page as it is")
		}
		if t.Wallet != h.wallet || t.Type != h.typ || t.Status != h.status {
			return h, apierrors.NewBadRequest("the continue token belongs to a list with other field selectors: keep wallet, type and status as on the first page")
		}
		h.cursor = t.Cursor
	}
	return h, nil
}
