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
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// Money over time, for alerts and dashboards. Credits are exact in the
// ledger; these counters are floats, for observation only.
var (
	creditsMoved = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_operator_credits_total",
		Help: "Credits written to the ledger by operation: top_up, debit, void, refund, adjust_up, adjust_down (repeats of an applied key not counted).",
	}, []string{"operation"})
	creditsDebited = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_operator_credits_debited_total",
		Help: "Credits debited, by namespace, origin and endpoint. At most " + strconv.Itoa(maxUsageSeries) +
			" label sets: later ones are counted under origin and endpoint \"" + otherLabel + "\".",
	}, []string{"namespace", "origin", "endpoint"})
	transactionFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "wallet_operator_transaction_failures_total",
		Help: "WalletTransactions that turned Failed or Rejected, by type and reason.",
	}, []string{"type", "reason"})
)

func init() {
	metrics.Registry.MustRegister(creditsMoved, creditsDebited, transactionFailures, pendingTransactions)
}

// maxUsageSeries bounds creditsDebited: origin and endpoint are free text
// that tenants choose.
const (
	maxUsageSeries = 500
	otherLabel     = "_other"
)

var usageSeries = struct {
	sync.Mutex
	seen map[[3]string]bool
}{seen: map[[3]string]bool{}}

// countDebits counts the debits that did something now; a batch adds once
// per label set, not once per event.
func countDebits(reqs []ledger.DebitRequest, applied func(i int) bool) {
	// summed as floats: the metric is one, and a batch of large debits can
	// pass int64 while each debit is exact in the ledger
	sums := map[[3]string]float64{}
	var total float64
	usageSeries.Lock()
	for i, req := range reqs {
		if !applied(i) {
			continue
		}
		ns, _, _ := billingv1alpha1.ParseLedgerWalletName(req.Wallet)
		key := [3]string{ns, req.Origin, req.Endpoint}
		if !usageSeries.seen[key] {
			if len(usageSeries.seen) < maxUsageSeries {
				usageSeries.seen[key] = true
			} else {
				key[1], key[2] = otherLabel, otherLabel
			}
		}
		f := float64(req.Credits) / 1e6
		sums[key] += f
		total += f
	}
	usageSeries.Unlock()
	for key, f := range sums {
		creditsDebited.WithLabelValues(key[0], key[1], key[2]).Add(f)
	}
	if total > 0 {
		creditsMoved.WithLabelValues("debit").Add(total)
	}
}

// countCredits counts a write that did something now.
func countCredits(op string, m money.Micros, res ledger.Result, err error) {
	if err != nil || res.Replayed {
		return
	}
	if m < 0 {
		m = -m
	}
	creditsMoved.WithLabelValues(op).Add(credits(m))
}

func credits(m money.Micros) float64 {
	f, _ := strconv.ParseFloat(m.String(), 64)
	return f
}

// pendingTransactions tracks the WalletTransactions now Pending and since
// when, and serves their count and the age of the oldest per namespace when
// scraped.
var pendingTransactions = &pendingCollector{
	count: prometheus.NewDesc("wallet_operator_transactions_pending",
		"WalletTransactions now Pending, by namespace.", []string{"namespace"}, nil),
	oldest: prometheus.NewDesc("wallet_operator_transaction_pending_oldest_seconds",
		"How long the oldest Pending WalletTransaction of a namespace has existed.", []string{"namespace"}, nil),
	since: map[types.NamespacedName]time.Time{},
}

type pendingCollector struct {
	count, oldest *prometheus.Desc
	mu            sync.Mutex
	since         map[types.NamespacedName]time.Time
}

func (c *pendingCollector) set(t *billingv1alpha1.WalletTransaction) {
	key := types.NamespacedName{Namespace: t.Namespace, Name: t.Name}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Status.Phase == billingv1alpha1.PhasePending {
		c.since[key] = t.CreationTimestamp.Time
	} else {
		delete(c.since, key)
	}
}

func (c *pendingCollector) forget(key types.NamespacedName) {
	c.mu.Lock()
	delete(c.since, key)
	c.mu.Unlock()
}

func (c *pendingCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.count; ch <- c.oldest }

func (c *pendingCollector) Collect(ch chan<- prometheus.Metric) {
	count := map[string]int{}
	oldest := map[string]time.Time{}
	c.mu.Lock()
	for k, t := range c.since {
		count[k.Namespace]++
		if o, ok := oldest[k.Namespace]; !ok || t.Before(o) {
			oldest[k.Namespace] = t
		}
	}
	c.mu.Unlock()
	now := time.Now()
	for ns, n := range count {
		ch <- prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(n), ns)
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, now.Sub(oldest[ns]).Seconds(), ns)
	}
}
