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

// previewREST answers what an operation would do; it stores nothing.
type previewREST struct{ store ledger.Reader }

var (
	_ rest.Creater              = &previewREST{}
	_ rest.Scoper               = &previewREST{}
	_ rest.SingularNameProvider = &previewREST{}
)

func (r *previewREST) New() runtime.Object     { return &reportsv1alpha1.Preview{} }
func (r *previewREST) Destroy()                {}
func (r *previewREST) NamespaceScoped() bool   { return true }
func (r *previewREST) GetSingularName() string { return "preview" }

// Create runs the ledger's preview: bad input is a 400, a missing wallet a
// 404, a refusal the ledger would give is the answer (status.allowed false).
func (r *previewREST) Create(ctx context.Context, obj runtime.Object, validate rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	p, err := createInput[*reportsv1alpha1.Preview](ctx, obj, validate, "Preview")
	if err != nil {
		return nil, err
	}
	ns := genericapirequest.NamespaceValue(ctx)
	req, err := previewRequest(ns, p.Spec)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	out := p.DeepCopy()
	out.Namespace = ns
	out.CreationTimestamp = metav1.Now()
	res, err := r.store.Preview(ctx, req)
	var short *ledger.ShortfallError
	switch {
	case err == nil:
		out.Status = reportsv1alpha1.PreviewStatus{Allowed: true, BalanceAfter: res.BalanceAfter.String(), DebtAfter: res.DebtAfter.String()}
		for _, d := range res.Draws {
			out.Status.Draws = append(out.Status.Draws, reportsv1alpha1.PreviewDraw{TopUp: strings.TrimPrefix(d.TopUpKey, ns+"/"),
				Category: string(d.Category), Credits: d.Credits.String()})
		}
	case errors.Is(err, ledger.ErrInsufficientBalance), errors.Is(err, ledger.ErrNotApplicable),
		errors.Is(err, ledger.ErrWalletTerminated), errors.Is(err, ledger.ErrNotFound):
		out.Status = reportsv1alpha1.PreviewStatus{Reason: previewReason(err), Message: err.Error()}
		if errors.As(err, &short) {
			out.Status.Shortfall = short.Shortfall.String()
		}
	default:
		return nil, apiError(err, p.Spec.Wallet)
	}
	return out, nil
}

func previewReason(err error) string {
	switch {
	case errors.Is(err, ledger.ErrInsufficientBalance):
		return string(ReasonInsufficientBalance)
	case errors.Is(err, ledger.ErrNotApplicable):
		return string(ReasonNotApplicable)
	case errors.Is(err, ledger.ErrWalletTerminated):
		return string(ReasonWalletTerminated)
	}
	return "GrantNotFound"
}

// previewRequest checks a preview's spec and turns it into the ledger's.
func previewRequest(ns string, s reportsv1alpha1.PreviewSpec) (ledger.PreviewRequest, error) {
	if s.Wallet == "" {
		return ledger.PreviewRequest{}, errors.New("spec.wallet: required")
	}
	if errs := validation.IsDNS1123Subdomain(s.Wallet); len(errs) > 0 {
		return ledger.PreviewRequest{}, fmt.Errorf("spec.wallet=%q is not a Wallet name: %s", s.Wallet, strings.Join(errs, "; "))
	}
	credits, err := money.Parse(string(s.Credits))
	if err != nil {
		return ledger.PreviewRequest{}, fmt.Errorf("spec.credits=%q: %v", s.Credits, err)
	}
	positive := func() error {
		if credits <= 0 {
			return fmt.Errorf("spec.credits=%q: must be more than zero for a %s", s.Credits, s.Type)
		}
		return nil
	}
	wallet := billingv1alpha1.LedgerWalletName(ns, s.Wallet)
	grantKey := ""
	if s.GrantRef != "" {
		grantKey = s.GrantRef
		if !strings.Contains(s.GrantRef, "/") {
			grantKey = ns + "/" + s.GrantRef // a WalletTransaction's default key
		}
	}
	var req ledger.PreviewRequest
	switch s.Type {
	case "Debit":
		if err := positive(); err != nil {
			return req, err
		}
		if s.Origin == "" {
			return req, errors.New("spec.origin: required for a Debit")
		}
		d := ledger.DebitRequest{Wallet: wallet, Credits: credits, Origin: s.Origin, Endpoint: s.Endpoint}
		if s.At != nil {
			d.Timestamp = s.At.UTC()
		}
		req.Debit = &d
	case "Void":
		if err := positive(); err != nil {
			return req, err
		}
		req.Void = &ledger.VoidRequest{Wallet: wallet, Credits: credits, GrantKey: grantKey}
	case "Refund":
		if err := positive(); err != nil {
			return req, err
		}
		if grantKey == "" {
			return req, errors.New("spec.grantRef: required for a Refund: name the TopUp to refund")
		}
		req.Refund = &ledger.RefundRequest{Wallet: wallet, Credits: credits, GrantKey: grantKey, Payment: ledger.StatusSettled}
	case "Adjustment":
		if credits == 0 {
			return req, fmt.Errorf("spec.credits=%q: an Adjustment is not zero", s.Credits)
		}
		req.Adjust = &ledger.AdjustRequest{Wallet: wallet, Credits: credits, Reason: "preview"}
	default:
		return req, fmt.Errorf("spec.type=%q: use Debit, Void, Refund or Adjustment", s.Type)
	}
	if s.At != nil && s.Type != "Debit" {
		return req, errors.New("spec.at: only a Debit takes a time")
	}
	return req, nil
}
