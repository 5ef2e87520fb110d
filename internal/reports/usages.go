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
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// MaxBatchEvents bounds the events of one UsageBatch.
const MaxBatchEvents = 10000

// usageKeyPrefix keeps the idempotency keys of usage events apart from
// those of WalletTransactions in the wallet's ledger (which admission keeps
// out of this prefix).
const usageKeyPrefix = billingv1alpha1.UsageKeyPrefix

// debitRequest checks one usage event and turns it into a ledger debit;
// field is its path in the request, for messages.
func debitRequest(namespace, field, defaultKey string, u reportsv1alpha1.UsageSpec) (ledger.DebitRequest, error) {
	var missing []string
	if u.Wallet == "" {
		missing = append(missing, field+".wallet")
	}
	if u.Credits == "" {
		missing = append(missing, field+".credits")
	}
	if u.Origin == "" {
		missing = append(missing, field+".origin")
	}
	key := u.IdempotencyKey
	if key == "" {
		key = defaultKey
	}
	if key == "" {
		missing = append(missing, field+".idempotencyKey")
	}
	if len(missing) > 0 {
		return ledger.DebitRequest{}, fmt.Errorf("%s: required", strings.Join(missing, ", "))
	}
	if errs := validation.IsDNS1123Subdomain(u.Wallet); len(errs) > 0 {
		return ledger.DebitRequest{}, fmt.Errorf("%s.wallet=%q is not a Wallet name: %s", field, u.Wallet, strings.Join(errs, "; "))
	}
	// The bounds of a Debit WalletTransaction's fields: history pages and
	// reports stay small whoever writes them.
	for _, f := range []struct {
		name, value string
		max         int
	}{{"origin", u.Origin, billingv1alpha1.MaxOriginLength}, {"endpoint", u.Endpoint, billingv1alpha1.MaxEndpointLength},
		{"description", u.Description, billingv1alpha1.MaxDescriptionLength}, {"idempotencyKey", key, billingv1alpha1.MaxKeyLength}} {
		if len(f.value) > f.max {
			what := field + "." + f.name
			if f.name == "idempotencyKey" && u.IdempotencyKey == "" {
				what = "metadata.name (the idempotency key)"
			}
			return ledger.DebitRequest{}, fmt.Errorf("%s is %d bytes long: at most %d", what, len(f.value), f.max)
		}
	}
	credits, err := money.Parse(string(u.Credits))
	if err == nil && credits <= 0 {
		err = errors.New("must be more than zero")
	}
	if err != nil {
		return ledger.DebitRequest{}, fmt.Errorf("%s.credits=%q: %v", field, u.Credits, err)
	}
	req := ledger.DebitRequest{Wallet: billingv1alpha1.LedgerWalletName(namespace, u.Wallet), Key: usageKeyPrefix + key, Credits: credits,
		Origin: u.Origin, Endpoint: u.Endpoint, Description: u.Description}
	if u.Timestamp != nil {
		req.Timestamp = u.Timestamp.UTC()
	}
	return req, nil
}

func usageStatus(r ledger.Result) reportsv1alpha1.UsageStatus {
	at := mt(r.AppliedAt)
	return reportsv1alpha1.UsageStatus{TransactionID: r.EntryID, BalanceAfter: r.BalanceAfter.String(), AppliedAt: &at, Replayed: r.Replayed}
}

// usageREST records single usage events.
type usageREST struct{ store ledger.UsageRecorder }

var (
	_ rest.Creater              = &usageREST{}
	_ rest.Scoper               = &usageREST{}
	_ rest.SingularNameProvider = &usageREST{}
)

func (r *usageREST) New() runtime.Object     { return &reportsv1alpha1.Usage{} }
func (r *usageREST) Destroy()                {}
func (r *usageREST) NamespaceScoped() bool   { return true }
func (r *usageREST) GetSingularName() string { return "usage" }

// Create debits the wallet, or returns the first result for a key already
// recorded.
func (r *usageREST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	u, err := createInput[*reportsv1alpha1.Usage](ctx, obj, validate, "Usage")
	if err != nil {
		return nil, err
	}
	ns := genericapirequest.NamespaceValue(ctx)
	req, err := debitRequest(ns, "spec", u.Name, u.Spec)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	out := u.DeepCopy()
	out.Namespace = ns
	if out.Name == "" {
		out.Name = req.Key[len(usageKeyPrefix):]
	}
	var res ledger.Result
	if isDryRun(options) {
		// What a real request would answer (unknown wallet, balance,
		// replayed key), from a copy of the wallet: nothing is recorded.
		results, errs := r.store.DryRunDebits(ctx, []ledger.DebitRequest{req})
		res, err = results[0], errs[0]
	} else {
		res, err = r.store.Debit(ctx, req)
	}
	if err != nil {
		return nil, apiError(err, u.Spec.Wallet)
	}
	out.CreationTimestamp = mt(res.AppliedAt)
	out.Status = usageStatus(res)
	return out, nil
}

// usageBatchREST records many usage events per request.
type usageBatchREST struct{ store ledger.UsageRecorder }

var (
	_ rest.Creater              = &usageBatchREST{}
	_ rest.Scoper               = &usageBatchREST{}
	_ rest.SingularNameProvider = &usageBatchREST{}
)

func (r *usageBatchREST) New() runtime.Object     { return &reportsv1alpha1.UsageBatch{} }
func (r *usageBatchREST) Destroy()                {}
func (r *usageBatchREST) NamespaceScoped() bool   { return true }
func (r *usageBatchREST) GetSingularName() string { return "usagebatch" }

// Create applies every event on its own. A malformed event refuses the
// whole batch before anything is written; a refusal by the ledger (e.g.
// insufficient balance) is that event's result only.
func (r *usageBatchREST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	b, err := createInput[*reportsv1alpha1.UsageBatch](ctx, obj, validate, "UsageBatch")
	if err != nil {
		return nil, err
	}
	n := len(b.Spec.Events)
	if n == 0 || n > MaxBatchEvents {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("spec.events holds %d events: send 1 to %d per batch", n, MaxBatchEvents))
	}
	ns := genericapirequest.NamespaceValue(ctx)
	reqs := make([]ledger.DebitRequest, n)
	for i, e := range b.Spec.Events {
		req, err := debitRequest(ns, fmt.Sprintf("spec.events[%d]", i), "", e)
		if err != nil {
			return nil, apierrors.NewBadRequest(err.Error() + "; nothing in this batch was recorded")
		}
		reqs[i] = req
	}
	var results []ledger.Result
	var errs []error
	if isDryRun(options) {
		results, errs = r.store.DryRunDebits(ctx, reqs) // every event answered, none recorded
	} else {
		results, errs = r.store.DebitBatch(ctx, reqs)
	}
	out := b.DeepCopy()
	out.Namespace = ns
	out.Status = reportsv1alpha1.UsageBatchStatus{Results: make([]reportsv1alpha1.UsageResult, n)}
	for i := range reqs {
		res := reportsv1alpha1.UsageResult{IdempotencyKey: b.Spec.Events[i].IdempotencyKey}
		switch err := errs[i]; {
		case err == nil:
			res.TransactionID, res.BalanceAfter, res.Replayed = results[i].EntryID, results[i].BalanceAfter.String(), results[i].Replayed
			if res.Replayed {
				out.Status.Replayed++
			} else {
				out.Status.Applied++
			}
		default:
			var se apierrors.APIStatus
			if errors.As(apiError(err, b.Spec.Events[i].Wallet), &se) {
				res.Reason, res.Message = string(se.Status().Reason), se.Status().Message
			}
			out.Status.Refused++
		}
		out.Status.Results[i] = res
	}
	return out, nil
}

func isDryRun(o *metav1.CreateOptions) bool { return o != nil && len(o.DryRun) > 0 }

// createInput checks what a create handler received: its Go type, then the
// API server's admission (validate is nil on no admission).
func createInput[T runtime.Object](ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, kind string) (T, error) {
	t, ok := obj.(T)
	if !ok {
		return t, apierrors.NewBadRequest(fmt.Sprintf("not a %s: %T", kind, obj))
	}
	if validate != nil {
		if err := validate(ctx, obj); err != nil {
			return t, err
		}
	}
	return t, nil
}
