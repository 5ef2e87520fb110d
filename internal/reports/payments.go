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
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

// paymentREST lists a wallet's payments: top-ups paid by a payment,
// refunds and failed refunds, newest first.
type paymentREST struct {
	store ledger.Reader
	tabler
}

var (
	_ rest.Lister               = &paymentREST{}
	_ rest.Scoper               = &paymentREST{}
	_ rest.SingularNameProvider = &paymentREST{}
)

func newPaymentREST(store ledger.Reader) *paymentREST {
	return &paymentREST{store: store, tabler: tabler{
		columns: columns("ID", "Wallet", "Type", "Status", "Credits", "Amount", "Currency", "Created"),
		cells: func(o runtime.Object) []any {
			p := o.(*reportsv1alpha1.Payment)
			return []any{p.Name, p.Wallet, p.Type, p.Status, p.Credits, p.Amount, p.Currency, timeCell(&p.CreatedAt)}
		},
	}}
}

func (r *paymentREST) New() runtime.Object { return &reportsv1alpha1.Payment{} }

func (r *paymentREST) NewList() runtime.Object { return &reportsv1alpha1.PaymentList{} }

func (r *paymentREST) Destroy() {}

func (r *paymentREST) NamespaceScoped() bool { return true }

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
	q := ledger.EntryQuery{Wallet: billingv1alpha1.LedgerWalletName(ns, h.wallet), Limit: h.limit, Cursor: h.cursor}
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
