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

package controllers

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

var (
	walletBalances = &balanceCollector{
		desc: prometheus.NewDesc("wallet_operator_wallet_balance_credits",
			"Credits of a wallet by category: available, paid, granted, pending, debt.", []string{"namespace", "wallet", "category"}, nil),
		overdraft: prometheus.NewDesc("wallet_operator_wallet_overdraft_limit_credits",
			"How far below zero debits may take a wallet's available balance.", []string{"namespace", "wallet"}, nil),
		low: prometheus.NewDesc("wallet_operator_wallet_low_balance",
			"1 while a wallet's available balance is at or below its lowBalanceThreshold (its LowBalance condition), else 0.", []string{"namespace", "wallet"}, nil),
		runsOut: prometheus.NewDesc("wallet_operator_wallet_runs_out_timestamp_seconds",
			"When a wallet's usage is forecast to be first refused (status.runsOutAt), as a Unix time; absent when not within 90 days.", []string{"namespace", "wallet"}, nil),
		wallets: map[types.NamespacedName]walletSample{},
	}
	transactionsApplied = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_operator_transactions_total",
		Help: "WalletTransactions that reached a phase, by type and outcome (Settled, Pending, Failed, Rejected).",
	}, []string{"type", "outcome"})
	ledgerSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "wallet_operator_ledger_operation_seconds",
		Help:    "Latency of ledger operations called by the controllers.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
	}, []string{"operation"})
	autoTopUpsFired = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_operator_auto_topups_total",
		Help: "Auto top-up rules fired.",
	}, []string{"namespace", "wallet", "rule"})
)

func init() {
	metrics.Registry.MustRegister(walletBalances, transactionsApplied, ledgerSeconds, autoTopUpsFired)
}

// balanceCategories are the category label's values, in walletSample's order.
var balanceCategories = [...]string{"available", "paid", "granted", "pending", "debt"}

type walletSample struct {
	balances  [len(balanceCategories)]money.Micros
	overdraft money.Micros
	low       bool
	runsOut   time.Time // zero: not within the forecast
}

// balanceCollector serves the wallets' balance gauges. It keeps five exact
// amounts per wallet and makes the samples only when scraped: a GaugeVec
// would keep a series object with its label pairs, about a kilobyte, for
// each of the five categories of every wallet for the life of the process.
type balanceCollector struct {
	desc, overdraft, low, runsOut *prometheus.Desc
	mu                            sync.Mutex
	wallets                       map[types.NamespacedName]walletSample
}

func (c *balanceCollector) set(w types.NamespacedName, b ledger.Balance, overdraft money.Micros, low bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.wallets[w]
	s.balances, s.overdraft, s.low = [...]money.Micros{b.Available, b.Paid, b.Granted, b.Pending, b.Debt}, overdraft, low
	c.wallets[w] = s
}

func (c *balanceCollector) setRunway(w types.NamespacedName, runsOut time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.wallets[w]
	s.runsOut = runsOut
	c.wallets[w] = s
}

// forgetWalletMetrics drops a deleted wallet's series.
func forgetWalletMetrics(w types.NamespacedName) {
	walletBalances.mu.Lock()
	delete(walletBalances.wallets, w)
	walletBalances.mu.Unlock()
	autoTopUpsFired.DeletePartialMatch(prometheus.Labels{"namespace": w.Namespace, "wallet": w.Name})
}

func (c *balanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	ch <- c.overdraft
	ch <- c.low
	ch <- c.runsOut
}

func (c *balanceCollector) Collect(ch chan<- prometheus.Metric) {
	type row struct {
		wallet types.NamespacedName
		sample walletSample
	}
	c.mu.Lock()
	rows := make([]row, 0, len(c.wallets))
	for w, s := range c.wallets {
		rows = append(rows, row{w, s})
	}
	c.mu.Unlock()
	for _, r := range rows {
		ns, name := r.wallet.Namespace, r.wallet.Name
		for i, category := range balanceCategories {
			// a metric only: money itself never goes through a float
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, credits(r.sample.balances[i]), ns, name, category)
		}
		ch <- prometheus.MustNewConstMetric(c.overdraft, prometheus.GaugeValue, credits(r.sample.overdraft), ns, name)
		low := 0.0
		if r.sample.low {
			low = 1
		}
		ch <- prometheus.MustNewConstMetric(c.low, prometheus.GaugeValue, low, ns, name)
		if !r.sample.runsOut.IsZero() {
			ch <- prometheus.MustNewConstMetric(c.runsOut, prometheus.GaugeValue, float64(r.sample.runsOut.Unix()), ns, name)
		}
	}
}

// Instrument wraps a ledger so that every operation of ledger.Store (all
// but Changes and Close) is timed in wallet_operator_ledger_operation_seconds;
// TestEveryLedgerOperationIsTimed keeps it so.
func Instrument(s ledger.Store) ledger.Store { return instrumented{s} }

type instrumented struct{ ledger.Store }

func observe(op string, start time.Time) {
	ledgerSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
}

func (i instrumented) OpenWallet(ctx context.Context, spec ledger.WalletSpec) error {
	defer observe("open", time.Now())
	return i.Store.OpenWallet(ctx, spec)
}

func (i instrumented) Terminate(ctx context.Context, wallet string) (ledger.Result, error) {
	defer observe("terminate", time.Now())
	return i.Store.Terminate(ctx, wallet)
}

func (i instrumented) TopUp(ctx context.Context, req ledger.TopUpRequest) (ledger.Result, error) {
	defer observe("top_up", time.Now())
	res, err := i.Store.TopUp(ctx, req)
	countCredits("top_up", req.Paid+req.Granted, res, err)
	return res, err
}

func (i instrumented) SettlePayment(ctx context.Context, wallet, key string, status ledger.Status) (ledger.Result, error) {
	defer observe("settle", time.Now())
	return i.Store.SettlePayment(ctx, wallet, key, status)
}

func (i instrumented) Debit(ctx context.Context, req ledger.DebitRequest) (ledger.Result, error) {
	defer observe("debit", time.Now())
	res, err := i.Store.Debit(ctx, req)
	countDebits([]ledger.DebitRequest{req}, func(int) bool { return err == nil && !res.Replayed })
	return res, err
}

func (i instrumented) Void(ctx context.Context, req ledger.VoidRequest) (ledger.Result, error) {
	defer observe("void", time.Now())
	res, err := i.Store.Void(ctx, req)
	countCredits("void", req.Credits, res, err)
	return res, err
}

func (i instrumented) Refund(ctx context.Context, req ledger.RefundRequest) (ledger.Result, error) {
	defer observe("refund", time.Now())
	res, err := i.Store.Refund(ctx, req)
	countCredits("refund", req.Credits, res, err)
	return res, err
}

func (i instrumented) Adjust(ctx context.Context, req ledger.AdjustRequest) (ledger.Result, error) {
	defer observe("adjust", time.Now())
	res, err := i.Store.Adjust(ctx, req)
	op := "adjust_up"
	if req.Credits < 0 {
		op = "adjust_down"
	}
	countCredits(op, req.Credits, res, err)
	return res, err
}

func (i instrumented) ExpireDue(ctx context.Context, wallet string) (int, error) {
	defer observe("expire", time.Now())
	return i.Store.ExpireDue(ctx, wallet)
}

func (i instrumented) Balance(ctx context.Context, wallet string) (ledger.Balance, error) {
	defer observe("balance", time.Now())
	return i.Store.Balance(ctx, wallet)
}

func (i instrumented) DebitBatch(ctx context.Context, reqs []ledger.DebitRequest) ([]ledger.Result, []error) {
	defer observe("debit_batch", time.Now())
	res, errs := i.Store.DebitBatch(ctx, reqs)
	countDebits(reqs, func(n int) bool { return (n >= len(errs) || errs[n] == nil) && n < len(res) && !res[n].Replayed })
	return res, errs
}

func (i instrumented) Consumption(ctx context.Context, q ledger.ConsumptionQuery) ([]ledger.Period, error) {
	defer observe("consumption", time.Now())
	return i.Store.Consumption(ctx, q)
}

func (i instrumented) Entries(ctx context.Context, q ledger.EntryQuery) (ledger.EntryPage, error) {
	defer observe("entries", time.Now())
	return i.Store.Entries(ctx, q)
}

func (i instrumented) DryRunDebits(ctx context.Context, reqs []ledger.DebitRequest) ([]ledger.Result, []error) {
	defer observe("dry_run_debits", time.Now())
	return i.Store.DryRunDebits(ctx, reqs)
}

func (i instrumented) BalanceAt(ctx context.Context, wallet string, at time.Time) (ledger.Balance, error) {
	defer observe("balance_at", time.Now())
	return i.Store.BalanceAt(ctx, wallet, at)
}

func (i instrumented) Grants(ctx context.Context, wallet string) ([]ledger.Grant, error) {
	defer observe("grants", time.Now())
	return i.Store.Grants(ctx, wallet)
}

func (i instrumented) Entry(ctx context.Context, wallet, key string) (ledger.Entry, error) {
	defer observe("entry", time.Now())
	return i.Store.Entry(ctx, wallet, key)
}

func (i instrumented) Payments(ctx context.Context, q ledger.EntryQuery) (ledger.EntryPage, error) {
	defer observe("payments", time.Now())
	return i.Store.Payments(ctx, q)
}

func (i instrumented) Wallets(ctx context.Context, prefix string) ([]string, error) {
	defer observe("wallets", time.Now())
	return i.Store.Wallets(ctx, prefix)
}

func (i instrumented) Verify(ctx context.Context) (ledger.VerifyReport, error) {
	defer observe("verify", time.Now())
	return i.Store.Verify(ctx)
}

func (i instrumented) Preview(ctx context.Context, req ledger.PreviewRequest) (ledger.Preview, error) {
	defer observe("preview", time.Now())
	return i.Store.Preview(ctx, req)
}

func (i instrumented) Forecast(ctx context.Context, req ledger.ForecastRequest) (ledger.Forecast, error) {
	defer observe("forecast", time.Now())
	return i.Store.Forecast(ctx, req)
}
