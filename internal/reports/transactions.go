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

// transactionREST lists a wallet's ledger history, newest first.
type transactionREST struct {
	store ledger.Reader
	tabler
}

var (
	_ rest.Lister               = &transactionREST{}
	_ rest.Scoper               = &transactionREST{}
	_ rest.SingularNameProvider = &transactionREST{}
)

func newTransactionREST(store ledger.Reader) *transactionREST {
	return &transactionREST{store: store, tabler: tabler{
		columns: columns("ID", "Wallet", "Type", "Status", "Credits", "Balance After", "Origin", "Endpoint", "Timestamp"),
		cells: func(o runtime.Object) []any {
			t := o.(*reportsv1alpha1.Transaction)
			return []any{t.Name, t.Wallet, t.Type, t.Status, t.Credits, t.BalanceAfter, t.Origin, t.Endpoint, timeCell(&t.Timestamp)}
		},
	}}
}

func (r *transactionREST) New() runtime.Object { return &reportsv1alpha1.Transaction{} }

func (r *transactionREST) NewList() runtime.Object { return &reportsv1alpha1.TransactionList{} }

func (r *transactionREST) Destroy() {}

func (r *transactionREST) NamespaceScoped() bool { return true }

func (r *transactionREST) GetSingularName() string { return "transaction" }

var entryTypes = map[string]ledger.EntryType{}

func init() {
	for _, t := range []ledger.EntryType{ledger.EntryTopUp, ledger.EntryDebit, ledger.EntryVoid, ledger.EntryRefund, ledger.EntryExpiry, ledger.EntryAdjustment, ledger.EntrySettlement} {
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
	q := ledger.EntryQuery{Wallet: billingv1alpha1.LedgerWalletName(ns, h.wallet), Limit: h.limit, Cursor: h.cursor}
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
