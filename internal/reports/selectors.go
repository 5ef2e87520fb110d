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
	"fmt"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/selection"
)

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
