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
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	"k8s.io/apimachinery/pkg/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

// balanceREST serves balances: get (with options) and list.
type balanceREST struct {
	store ledger.Reader
	plans Plans
	now   func() time.Time
	tabler
}

var (
	_ rest.GetterWithOptions    = &balanceREST{}
	_ rest.Lister               = &balanceREST{}
	_ rest.Scoper               = &balanceREST{}
	_ rest.SingularNameProvider = &balanceREST{}
)

func newBalanceREST(store ledger.Reader, plans Plans, now func() time.Time) *balanceREST {
	return &balanceREST{store: store, plans: plans, now: now, tabler: tabler{
		// -o wide adds the debt, the money value and whether the wallet is terminated
		columns: wide(columns("Wallet", "Currency", "Balance", "Paid", "Granted", "Pending", "Next Expiration", "Runs Out", "Computed At",
			"Debt", "Money Balance", "Terminated"), 9),
		cells: func(o runtime.Object) []any {
			b := o.(*reportsv1alpha1.Balance)
			next := "<none>"
			if b.NextExpiration != nil {
				next = b.NextExpiration.Credits + " at " + timeCell(&b.NextExpiration.At)
			}
			runsOut := runsOutCell(b.RunsOutAt, b.ForecastTime)
			if b.Terminated {
				runsOut = "<none>"
			}
			return []any{b.Name, b.Currency, b.Balance, b.Paid, b.Granted, b.Pending, next, runsOut, timeCell(&b.ComputedAt),
				b.Debt, b.MoneyBalance + " " + b.Currency, b.Terminated}
		},
	}}
}

func (r *balanceREST) New() runtime.Object     { return &reportsv1alpha1.Balance{} }
func (r *balanceREST) NewList() runtime.Object { return &reportsv1alpha1.BalanceList{} }
func (r *balanceREST) Destroy()                {}
func (r *balanceREST) NamespaceScoped() bool   { return true }
func (r *balanceREST) GetSingularName() string { return "balance" }
func (r *balanceREST) NewGetOptions() (runtime.Object, bool, string) {
	return &reportsv1alpha1.BalanceOptions{}, false, ""
}

// Get reads one wallet's balance, now or as of ?at=.
func (r *balanceREST) Get(ctx context.Context, name string, options runtime.Object) (runtime.Object, error) {
	opts, ok := options.(*reportsv1alpha1.BalanceOptions)
	if !ok {
		return nil, fmt.Errorf("unexpected options %T", options)
	}
	ns := genericapirequest.NamespaceValue(ctx)
	wallet := billingv1alpha1.LedgerWalletName(ns, name)
	var b ledger.Balance
	var err error
	if opts.At != nil {
		if opts.At.After(r.now()) {
			return nil, apierrors.NewBadRequest(fmt.Sprintf("at=%s is in the future: ask for a past time, or leave at out for the live balance", opts.At.UTC().Format(time.RFC3339)))
		}
		if opts.IncludeGrants {
			return nil, apierrors.NewBadRequest("includeGrants shows the grants as they are now and cannot be combined with at: leave one of them out")
		}
		b, err = r.store.BalanceAt(ctx, wallet, opts.At.Time)
	} else {
		b, err = r.store.Balance(ctx, wallet)
	}
	if err != nil {
		return nil, apiError(err, name)
	}
	out := balanceObject(ns, name, b)
	if opts.At == nil {
		if err := r.runway(ctx, out); err != nil {
			return nil, err
		}
	}
	if opts.IncludeGrants {
		grants, err := r.store.Grants(ctx, wallet)
		if err != nil {
			return nil, apiError(err, name)
		}
		for _, g := range grants {
			out.Grants = append(out.Grants, grantObject(g))
		}
	}
	if opts.IncludeLedger {
		q := ledger.EntryQuery{Wallet: wallet, Limit: 100}
		if opts.At != nil {
			q.To = opts.At.Time
		}
		page, err := r.store.Entries(ctx, q)
		if err != nil {
			return nil, apiError(err, name)
		}
		for _, e := range page.Entries {
			out.Ledger = append(out.Ledger, entryObject(e))
		}
	}
	return out, nil
}

// List reads the balances of every wallet in the namespace (every
// namespace for kubectl get -A).
func (r *balanceREST) List(ctx context.Context, o *metainternalversion.ListOptions) (runtime.Object, error) {
	ns := genericapirequest.NamespaceValue(ctx)
	q, err := parseBalanceList(o)
	if err != nil {
		return nil, err
	}
	prefix := ""
	if ns != "" {
		prefix = billingv1alpha1.LedgerWalletName(ns, "") // every wallet of the namespace
	}
	names, err := r.store.Wallets(ctx, prefix)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	list := &reportsv1alpha1.BalanceList{Items: []reportsv1alpha1.Balance{}}
	for i, n := range names {
		wns, name, ok := strings.Cut(n, "/")
		if !ok || n <= q.after || (q.name != "" && name != q.name) || (q.namespace != "" && wns != q.namespace) {
			continue // not a wallet of this operator, before the page, or not selected
		}
		if q.limit > 0 && len(list.Items) == q.limit {
			list.Continue = base64.RawURLEncoding.EncodeToString([]byte(names[i-1]))
			break
		}
		b, err := r.store.Balance(ctx, n)
		if err != nil {
			return nil, apiError(err, name)
		}
		out := balanceObject(wns, name, b)
		if err := r.runway(ctx, out); err != nil {
			return nil, err
		}
		list.Items = append(list.Items, *out)
	}
	return list, nil
}

// runway adds the operator's last forecast (the Wallet's status): a list
// of 500 balances computes no forecast.
func (r *balanceREST) runway(ctx context.Context, b *reportsv1alpha1.Balance) error {
	if r.plans == nil || b.Terminated {
		return nil
	}
	runsOut, at, err := r.plans.Runway(ctx, b.Namespace, b.Name)
	if err != nil {
		return apierrors.NewInternalError(fmt.Errorf("reading Wallet %s/%s: %w", b.Namespace, b.Name, err))
	}
	if !runsOut.IsZero() {
		t := mt(runsOut)
		b.RunsOutAt = &t
	}
	if !at.IsZero() {
		t := mt(at)
		b.ForecastTime = &t
	}
	return nil
}

// MaxBalancePage is the largest limit a balances list takes (kubectl asks
// for 500 by default).
const MaxBalancePage = 500

type balanceList struct {
	name, namespace string
	limit           int
	after           string // the ledger name the previous page ended with
}

// parseBalanceList reads the selectors, limit and continue of a balances
// list: metadata.name and metadata.namespace select, nothing is ignored.
func parseBalanceList(o *metainternalversion.ListOptions) (balanceList, error) {
	var q balanceList
	if err := noLabels(o, "balances"); err != nil {
		return q, err
	}
	if o == nil {
		return q, nil
	}
	sel, err := fieldEquals(o, "balances", "metadata.name", "metadata.namespace")
	if err != nil {
		return q, err
	}
	q.name, q.namespace = sel["metadata.name"], sel["metadata.namespace"]
	if o.Limit < 0 || o.Limit > MaxBalancePage {
		return q, apierrors.NewBadRequest(fmt.Sprintf("limit=%d: a page holds 1 to %d balances; page on with continue", o.Limit, MaxBalancePage))
	}
	q.limit = int(o.Limit)
	if o.Continue != "" {
		b, err := base64.RawURLEncoding.DecodeString(o.Continue)
		if err != nil || len(b) == 0 {
			return q, apierrors.NewBadRequest("the continue token is malformed: pass metadata.continue of the previous page as it is")
		}
		q.after = string(b)
	}
	return q, nil
}
