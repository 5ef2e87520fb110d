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
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/selection"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
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

// noLabels refuses a label selector: the ledger's records carry no labels,
// and a selector silently ignored would answer another question.
func noLabels(o *metainternalversion.ListOptions, resource string) error {
	if o != nil && o.LabelSelector != nil && !o.LabelSelector.Empty() {
		return apierrors.NewBadRequest(fmt.Sprintf("labelSelector %s: %s have no labels", o.LabelSelector, resource))
	}
	return nil
}

// fieldEquals reads a field selector of equalities over the fields given,
// refusing any other field or operator.
func fieldEquals(o *metainternalversion.ListOptions, resource string, fields ...string) (map[string]string, error) {
	out := map[string]string{}
	if o == nil || o.FieldSelector == nil {
		return out, nil
	}
	for _, req := range o.FieldSelector.Requirements() {
		if req.Operator != selection.Equals && req.Operator != selection.DoubleEquals {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("fieldSelector %s%s%s: only = is supported", req.Field, req.Operator, req.Value))
		}
		if !slices.Contains(fields, req.Field) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("fieldSelector %s: %s are selected by %s only", req.Field, resource, strings.Join(fields, ", ")))
		}
		out[req.Field] = req.Value
	}
	return out, nil
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

// transactionREST lists a wallet's ledger history, newest first.
type transactionREST struct {
	store ledger.Store
	tabler
}

var (
	_ rest.Lister               = &transactionREST{}
	_ rest.Scoper               = &transactionREST{}
	_ rest.SingularNameProvider = &transactionREST{}
)

func newTransactionREST(store ledger.Store) *transactionREST {
	return &transactionREST{store: store, tabler: tabler{
		columns: columns("ID", "Wallet", "Type", "Status", "Credits", "Balance After", "Origin", "Endpoint", "Timestamp"),
		cells: func(o runtime.Object) []any {
			t := o.(*reportsv1alpha1.Transaction)
			return []any{t.Name, t.Wallet, t.Type, t.Status, t.Credits, t.BalanceAfter, t.Origin, t.Endpoint, timeCell(&t.Timestamp)}
		},
	}}
}

func (r *transactionREST) New() runtime.Object     { return &reportsv1alpha1.Transaction{} }
func (r *transactionREST) NewList() runtime.Object { return &reportsv1alpha1.TransactionList{} }
func (r *transactionREST) Destroy()                {}
func (r *transactionREST) NamespaceScoped() bool   { return true }
func (r *transactionREST) GetSingularName() string { return "transaction" }

var entryTypes = map[string]ledger.EntryType{}

func init() {
	for _, t := range []ledger.EntryType{ledger.EntryGrant, ledger.EntryDebit, ledger.EntryVoid, ledger.EntryRefund, ledger.EntryExpiry, ledger.EntryAdjustment, ledger.EntrySettlement} {
		entryTypes[string(t)] = t
	}
}

// List pages through the wallet's history.
func (r *transactionREST) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	h, err := parseHistory(ctx, "transactions", o)
	if err != nil {
		return nil, err
	}
	ns := genericapirequest.NamespaceValue(ctx)
	q := ledger.EntryQuery{Wallet: ledgerWallet(ns, h.wallet), Limit: h.limit, Cursor: h.cursor}
	if h.typ != "" {
		t, ok := entryTypes[h.typ]
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("type=%q is not known: use grant, debit, void, refund, expiry, adjustment or settlement", h.typ))
		}
		q.Types = []ledger.EntryType{t}
	}
	switch ledger.Status(h.status) {
	case "":
	case ledger.StatusPending, ledger.StatusSettled, ledger.StatusFailed:
		q.Statuses = []ledger.Status{ledger.Status(h.status)}
	default:
		return nil, apierrors.NewBadRequest(fmt.Sprintf("status=%q is not known: use pending, settled or failed", h.status))
	}
	page, err := r.store.Entries(ctx, q)
	if err != nil {
		return nil, apiError(err, h.wallet)
	}
	list := &reportsv1alpha1.TransactionList{ListMeta: metav1.ListMeta{Continue: h.token(page.Next)}, Items: make([]reportsv1alpha1.Transaction, 0, len(page.Entries))}
	for _, e := range page.Entries {
		list.Items = append(list.Items, reportsv1alpha1.Transaction{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: e.ID, CreationTimestamp: mt(e.AppliedAt)},
			Wallet:     h.wallet, TransactionEntry: entryObject(e),
		})
	}
	return list, nil
}

// paymentREST lists a wallet's payments: top-ups paid by a payment,
// refunds and failed refunds, newest first.
type paymentREST struct {
	store ledger.Store
	tabler
}

var (
	_ rest.Lister               = &paymentREST{}
	_ rest.Scoper               = &paymentREST{}
	_ rest.SingularNameProvider = &paymentREST{}
)

func newPaymentREST(store ledger.Store) *paymentREST {
	return &paymentREST{store: store, tabler: tabler{
		columns: columns("ID", "Wallet", "Type", "Status", "Credits", "Amount", "Currency", "Created"),
		cells: func(o runtime.Object) []any {
			p := o.(*reportsv1alpha1.Payment)
			return []any{p.Name, p.Wallet, p.Type, p.Status, p.Credits, p.Amount, p.Currency, timeCell(&p.CreatedAt)}
		},
	}}
}

func (r *paymentREST) New() runtime.Object     { return &reportsv1alpha1.Payment{} }
func (r *paymentREST) NewList() runtime.Object { return &reportsv1alpha1.PaymentList{} }
func (r *paymentREST) Destroy()                {}
func (r *paymentREST) NamespaceScoped() bool   { return true }
func (r *paymentREST) GetSingularName() string { return "payment" }

// List pages through the wallet's payments.
func (r *paymentREST) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	h, err := parseHistory(ctx, "payments", o)
	if err != nil {
		return nil, err
	}
	if h.typ != "" {
		return nil, apierrors.NewBadRequest("payments are filtered by status only (pending, paid or failed)")
	}
	ns := genericapirequest.NamespaceValue(ctx)
	q := ledger.EntryQuery{Wallet: ledgerWallet(ns, h.wallet), Limit: h.limit, Cursor: h.cursor}
	if h.status != "" {
		st, ok := paymentStatuses[h.status]
		if !ok {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("status=%q is not known: use pending, paid or failed", h.status))
		}
		q.Statuses = []ledger.Status{st}
	}
	b, err := r.store.Balance(ctx, q.Wallet)
	if err != nil {
		return nil, apiError(err, h.wallet)
	}
	page, err := r.store.Payments(ctx, q)
	if err != nil {
		return nil, apiError(err, h.wallet)
	}
	list := &reportsv1alpha1.PaymentList{ListMeta: metav1.ListMeta{Continue: h.token(page.Next)}, Items: make([]reportsv1alpha1.Payment, 0, len(page.Entries))}
	for _, e := range page.Entries {
		list.Items = append(list.Items, paymentObject(ns, h.wallet, b, e))
	}
	return list, nil
}
