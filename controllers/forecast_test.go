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

package controllers_test

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/ledgertest"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/money"
)

// runsOutMetric is the wallet's wallet_operator_wallet_runs_out_timestamp_seconds
// sample (-1: none).
func runsOutMetric(ns, name string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "wallet_operator_wallet_runs_out_timestamp_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["namespace"] == ns && labels["wallet"] == name {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

var _ = Describe("runway, with an injected clock", func() {
	It("forecasts status.runsOutAt at most once a minute, at once after a spec change, and again when the rate moves", func() {
		clock := ledgertest.NewClock()
		s, err := sqlite.Open(context.Background(), filepath.Join(GinkgoT().TempDir(), "ledger.db"), ledger.Options{Clock: clock})
		Expect(err).NotTo(HaveOccurred())
		defer s.Close()
		wr := &controllers.WalletReconciler{Client: k8sClient, Ledger: s, Forecasts: s, Now: clock.Now}
		reconcileWallet := func(ns string) (ctrl.Result, *billingv1alpha1.Wallet) {
			res, err := wr.Reconcile(ctx(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: "main"}})
			Expect(err).NotTo(HaveOccurred())
			w := &billingv1alpha1.Wallet{}
			Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "main"}, w)).To(Succeed())
			return res, w
		}
		ns := newNamespace()
		newWallet(ns, "main")
		_, w := reconcileWallet(ns)
		Expect(w.Status.RunsOutAt).To(BeNil()) // no usage: never
		Expect(w.Status.ForecastTime).NotTo(BeNil())

		// A week of usage at 20 a day (recorded straight in the ledger, as
		// the reports API's usages are), then 30 left: out in a day and a half.
		name := billingv1alpha1.LedgerWalletName(ns, "main")
		at := clock.Now()
		_, err = s.TopUp(ctx(), ledger.TopUpRequest{Wallet: name, Key: "history", Paid: money.MustParse("140"), Priority: ledger.DefaultPriority})
		Expect(err).NotTo(HaveOccurred())
		for d := range 7 {
			_, err = s.Debit(ctx(), ledger.DebitRequest{Wallet: name, Key: fmt.Sprintf("used-%d", d), Credits: money.MustParse("20"), Origin: "api",
				Timestamp: at.Add(-time.Duration(d)*24*time.Hour - time.Hour)})
			Expect(err).NotTo(HaveOccurred())
		}
		_, err = s.TopUp(ctx(), ledger.TopUpRequest{Wallet: name, Key: "left", Paid: money.MustParse("30"), Priority: ledger.DefaultPriority})
		Expect(err).NotTo(HaveOccurred())

		// within the minute of the last forecast: the balance moves, the runway waits
		res, w := reconcileWallet(ns)
		Expect(w.Status.Balance).To(Equal("30"))
		Expect(w.Status.RunsOutAt).To(BeNil())
		Expect(res.RequeueAfter).To(BeNumerically("~", controllers.ForecastInterval, time.Second))

		clock.Advance(controllers.ForecastInterval)
		res, w = reconcileWallet(ns)
		Expect(w.Status.RunsOutAt).NotTo(BeNil())
		Expect(w.Status.RunsOutAt.Time).To(BeTemporally("==", clock.Now().Add(36*time.Hour)))
		Expect(runsOutMetric(ns, "main")).To(Equal(float64(w.Status.RunsOutAt.Unix())))
		// the rate moves by itself at the next hour (the window slides)
		Expect(res.RequeueAfter).To(BeNumerically("~", time.Hour-controllers.ForecastInterval, time.Second))

		// a daily top-up of 20 pays for the usage: a spec change forecasts at once
		Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "main"}, w)).To(Succeed())
		w.Spec.AutoTopUp = []billingv1alpha1.AutoTopUpRule{{Name: "daily", Trigger: billingv1alpha1.TriggerSchedule, Schedule: "0 0 * * *",
			Method: billingv1alpha1.MethodFixed, PaidCredits: "20"}}
		Expect(k8sClient.Update(ctx(), w)).To(Succeed())
		_, w = reconcileWallet(ns)
		Expect(w.Status.RunsOutAt).To(BeNil())
		Expect(runsOutMetric(ns, "main")).To(Equal(-1.0))

		// a terminated wallet has no runway
		Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "main"}, w)).To(Succeed())
		w.Spec.AutoTopUp, w.Spec.Terminated = nil, true
		Expect(k8sClient.Update(ctx(), w)).To(Succeed())
		_, w = reconcileWallet(ns)
		Expect(w.Status.Phase).To(Equal(billingv1alpha1.WalletTerminated))
		Expect(w.Status.RunsOutAt).To(BeNil())
	})
})
