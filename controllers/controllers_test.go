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
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
	"github.com/walletop/wallet-operator/internal/ledger"
)

var nsSeq atomic.Int64

func newNamespace() string {
	ns := fmt.Sprintf("team-%d", nsSeq.Add(1))
	Expect(k8sClient.Create(ctx(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	return ns
}

func ctx() context.Context { return context.Background() }

func newWallet(ns, name string, mutate ...func(*billingv1alpha1.Wallet)) *billingv1alpha1.Wallet {
	w := &billingv1alpha1.Wallet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: billingv1alpha1.WalletSpec{Currency: "USD", Rate: "0.01"}}
	for _, m := range mutate {
		m(w)
	}
	Expect(k8sClient.Create(ctx(), w)).To(Succeed())
	return w
}

func newTx(ns, name string, spec billingv1alpha1.WalletTransactionSpec) *billingv1alpha1.WalletTransaction {
	t := &billingv1alpha1.WalletTransaction{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: spec}
	Expect(k8sClient.Create(ctx(), t)).To(Succeed())
	return t
}

func topUp(wallet string, granted, paid billingv1alpha1.Amount) billingv1alpha1.WalletTransactionSpec {
	return billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: wallet}, Type: billingv1alpha1.TypeTopUp,
		GrantedCredits: granted, PaidCredits: paid}
}

func debit(wallet string, credits billingv1alpha1.SignedAmount) billingv1alpha1.WalletTransactionSpec {
	return billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: wallet}, Type: billingv1alpha1.TypeDebit,
		Credits: credits, Origin: "api", Endpoint: "/v1/chat"}
}

// phaseOf waits for a transaction to reach phase and returns it.
func phaseOf(ns, name string, phase billingv1alpha1.TransactionPhase) *billingv1alpha1.WalletTransaction {
	GinkgoHelper()
	t := &billingv1alpha1.WalletTransaction{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
		g.Expect(t.Status.Phase).To(Equal(phase), "reason %s: %s", t.Status.Reason, t.Status.Message)
		g.Expect(t.Status.ObservedGeneration).To(Equal(t.Generation))
	}).Should(Succeed())
	return t
}

// balanceOf waits for a wallet's status to show balance and returns the wallet.
func balanceOf(ns, name, balance string) *billingv1alpha1.Wallet {
	GinkgoHelper()
	w := &billingv1alpha1.Wallet{}
	Eventually(func(g Gomega) {
		g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, w)).To(Succeed())
		g.Expect(w.Status.Balance).To(Equal(balance))
	}).Should(Succeed())
	return w
}

func ledgerSeq(ns, name string) int64 {
	GinkgoHelper()
	b, err := store.Balance(ctx(), controllers.LedgerWallet(ns, name))
	Expect(err).NotTo(HaveOccurred())
	return b.Sequence
}

// metricValue reads one sample from the operator's metrics registry (a
// histogram's sample count); found is false when no sample has all labels.
func metricValue(name string, labels map[string]string) (value float64, found bool) {
	GinkgoHelper()
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue samples
				}
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}

// eventFor waits for an events.k8s.io/v1 Event about the named object with
// this reason and returns it.
func eventFor(ns, kind, name, reason string) eventsv1.Event {
	GinkgoHelper()
	var found eventsv1.Event
	Eventually(func(g Gomega) {
		list := &eventsv1.EventList{}
		g.Expect(k8sClient.List(ctx(), list, client.InNamespace(ns))).To(Succeed())
		for _, e := range list.Items {
			if e.Regarding.Kind == kind && e.Regarding.Name == name && e.Reason == reason {
				found = e
				return
			}
		}
		g.Expect(list.Items).To(ContainElement(HaveField("Reason", reason)), "no %s Event for %s %s", reason, kind, name)
	}).Should(Succeed())
	return found
}

// metric is metricValue of a sample that must be there.
func metric(name string, labels map[string]string) float64 {
	GinkgoHelper()
	v, found := metricValue(name, labels)
	Expect(found).To(BeTrue(), "%s%v", name, labels)
	return v
}

func balanceLabels(ns, wallet, category string) map[string]string {
	return map[string]string{"namespace": ns, "wallet": wallet, "category": category}
}

const balanceMetric = "wallet_operator_wallet_balance_credits"

var transactionSpecs = func() {
	Describe("WalletTransactions", func() {
		It("applies a top-up and a debit, and the Wallet shows the balance", func() {
			ns := newNamespace()
			newWallet(ns, "main")
			newTx(ns, "grant", topUp("main", "100", ""))
			t := phaseOf(ns, "grant", billingv1alpha1.PhaseSettled)
			Expect(t.Status.TransactionID).To(HavePrefix("wtx_"))
			Expect(t.Status.Credits).To(Equal("100"))
			Expect(meta.IsStatusConditionTrue(t.Status.Conditions, billingv1alpha1.ConditionReady)).To(BeTrue())
			newTx(ns, "use", debit("main", "30.5"))
			t = phaseOf(ns, "use", billingv1alpha1.PhaseSettled)
			Expect(t.Status.Credits).To(Equal("-30.5"))
			Expect(t.Status.BalanceAfter).To(Equal("69.5"))
			w := balanceOf(ns, "main", "69.5")
			Expect(w.Status.GrantedBalance).To(Equal("69.5"))
			Expect(w.Status.PaidBalance).To(Equal("0"))
			Expect(w.Status.MoneyBalance).To(Equal(&billingv1alpha1.Money{Amount: "0.695", Currency: "USD"}))
			Expect(w.Status.Phase).To(Equal(billingv1alpha1.WalletActive))
			Expect(w.Status.LedgerSequence).To(Equal(int64(2)))
			Expect(meta.IsStatusConditionTrue(w.Status.Conditions, billingv1alpha1.ConditionLedgerSynced)).To(BeTrue())
			Expect(w.Finalizers).To(ContainElement(controllers.WalletFinalizer))

			By("an Event through the events.k8s.io API for each transaction's phase")
			e := eventFor(ns, "WalletTransaction", "use", "Settled")
			Expect(e.Type).To(Equal("Normal"))
			Expect(e.Action).To(Equal("Apply"))
			Expect(e.ReportingController).To(Equal("wallet-operator"))
			Expect(e.Note).To(ContainSubstring(t.Status.TransactionID))

			By("metrics: the wallet's balances by category, transactions by outcome, ledger latency")
			for category, want := range map[string]float64{"available": 69.5, "granted": 69.5, "paid": 0, "pending": 0, "debt": 0} {
				Expect(metric(balanceMetric, balanceLabels(ns, "main", category))).To(Equal(want), category)
			}
			Eventually(func() float64 { // counted right after the status write the test saw
				v, _ := metricValue("wallet_operator_transactions_total", map[string]string{"type": "Debit", "outcome": "Settled"})
				return v
			}).Should(BeNumerically(">=", 1))
			Expect(metric("wallet_operator_ledger_operation_seconds", map[string]string{"operation": "debit"})).To(BeNumerically(">=", 1))
		})

		It("fails a debit beyond the balance, with the reason, and writes nothing", func() {
			ns := newNamespace()
			newWallet(ns, "main", func(w *billingv1alpha1.Wallet) { w.Spec.LowBalanceThreshold = "20" })
			newTx(ns, "grant", topUp("main", "10", ""))
			phaseOf(ns, "grant", billingv1alpha1.PhaseSettled)
			seq := ledgerSeq(ns, "main")
			newTx(ns, "too-much", debit("main", "10.000001"))
			t := phaseOf(ns, "too-much", billingv1alpha1.PhaseFailed)
			Expect(t.Status.Reason).To(Equal("InsufficientBalance"))
			Expect(t.Status.TransactionID).To(BeEmpty())
			Expect(ledgerSeq(ns, "main")).To(Equal(seq))
			w := balanceOf(ns, "main", "10")
			Expect(meta.IsStatusConditionTrue(w.Status.Conditions, billingv1alpha1.ConditionLowBalance)).To(BeTrue())
			e := eventFor(ns, "WalletTransaction", "too-much", "Failed")
			Expect(e.Type).To(Equal("Warning"))
			Expect(e.Note).To(ContainSubstring("insufficient"))
			Expect(eventFor(ns, "Wallet", "main", "LowBalance").Type).To(Equal("Warning"))
		})

		It("settles paid credits only once the payment is Paid, and never a Failed one", func() {
			ns := newNamespace()
			newWallet(ns, "main")
			spec := topUp("main", "", "50")
			spec.Payment = &billingv1alpha1.Payment{Reference: "ch_1", Amount: "0.50", Method: "Card"}
			newTx(ns, "card", spec)
			t := phaseOf(ns, "card", billingv1alpha1.PhasePending)
			Expect(t.Status.Reason).To(Equal("PaymentPending"))
			Eventually(func(g Gomega) {
				w := &billingv1alpha1.Wallet{}
				g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "main"}, w)).To(Succeed())
				g.Expect(w.Status.PendingCredits).To(Equal("50"))
				g.Expect(w.Status.Balance).To(Equal("0"))
			}).Should(Succeed())
			t.Spec.Payment.Status = billingv1alpha1.PaymentPaid
			Expect(k8sClient.Update(ctx(), t)).To(Succeed())
			phaseOf(ns, "card", billingv1alpha1.PhaseSettled)
			w := balanceOf(ns, "main", "50")
			Expect(w.Status.PendingCredits).To(Equal("0"))
			Expect(w.Status.PaidBalance).To(Equal("50"))

			spec.Payment = &billingv1alpha1.Payment{Reference: "ch_2", Status: billingv1alpha1.PaymentPending}
			newTx(ns, "card2", spec)
			t = phaseOf(ns, "card2", billingv1alpha1.PhasePending)
			t.Spec.Payment.Status = billingv1alpha1.PaymentFailed
			Expect(k8sClient.Update(ctx(), t)).To(Succeed())
			t = phaseOf(ns, "card2", billingv1alpha1.PhaseFailed)
			Expect(t.Status.Reason).To(Equal("PaymentFailed"))
			balanceOf(ns, "main", "50")
		})

		It("is safe under GitOps: re-apply, delete and re-create change nothing; another spec is Rejected", func() {
			ns := newNamespace()
			newWallet(ns, "main")
			t := newTx(ns, "refill", topUp("main", "25", ""))
			t = phaseOf(ns, "refill", billingv1alpha1.PhaseSettled)
			id := t.Status.TransactionID
			balanceOf(ns, "main", "25")
			seq := ledgerSeq(ns, "main")

			// re-apply: an update with the same spec is not even a new generation
			Expect(k8sClient.Update(ctx(), t)).To(Succeed())
			// delete and re-create with the same name and spec
			Expect(k8sClient.Delete(ctx(), t)).To(Succeed())
			balanceOf(ns, "main", "25") // deleting never reverses
			newTx(ns, "refill", topUp("main", "25", ""))
			t = phaseOf(ns, "refill", billingv1alpha1.PhaseSettled)
			Expect(t.Status.TransactionID).To(Equal(id))
			Expect(ledgerSeq(ns, "main")).To(Equal(seq))
			balanceOf(ns, "main", "25")

			// the same name with another spec
			Expect(k8sClient.Delete(ctx(), t)).To(Succeed())
			newTx(ns, "refill", topUp("main", "2500", ""))
			t = phaseOf(ns, "refill", billingv1alpha1.PhaseRejected)
			Expect(t.Status.Reason).To(Equal("IdempotencyConflict"))
			Expect(ledgerSeq(ns, "main")).To(Equal(seq))
			balanceOf(ns, "main", "25")
		})

		It("applies voids, refunds and adjustments", func() {
			ns := newNamespace()
			newWallet(ns, "main")
			buy := topUp("main", "", "100")
			buy.Payment = &billingv1alpha1.Payment{Reference: "inv-7", Status: billingv1alpha1.PaymentPaid}
			newTx(ns, "buy", buy)
			newTx(ns, "promo", topUp("main", "20", ""))
			phaseOf(ns, "buy", billingv1alpha1.PhaseSettled)
			phaseOf(ns, "promo", billingv1alpha1.PhaseSettled)
			balanceOf(ns, "main", "120")
			newTx(ns, "void", billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: "main"},
				Type: billingv1alpha1.TypeVoid, Credits: "15", GrantRef: &billingv1alpha1.LocalObjectReference{Name: "promo"}})
			phaseOf(ns, "void", billingv1alpha1.PhaseSettled)
			newTx(ns, "refund", billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: "main"},
				Type: billingv1alpha1.TypeRefund, Credits: "40", GrantRef: &billingv1alpha1.LocalObjectReference{Name: "buy"},
				Payment: &billingv1alpha1.Payment{Status: billingv1alpha1.PaymentPaid}})
			phaseOf(ns, "refund", billingv1alpha1.PhaseSettled)
			newTx(ns, "fix", billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: "main"},
				Type: billingv1alpha1.TypeAdjustment, Credits: "-4.5", Reason: "double-counted batch"})
			t := phaseOf(ns, "fix", billingv1alpha1.PhaseSettled)
			Expect(t.Status.Credits).To(Equal("-4.5"))
			w := balanceOf(ns, "main", "60.5")
			// the adjustment draws granted credits before paid ones: 20 - 15 voided - 4.5
			Expect(w.Status.GrantedBalance).To(Equal("0.5"))
			Expect(w.Status.PaidBalance).To(Equal("60")) // 100 - 40 refunded
		})

		It("waits for a missing Wallet and applies once it exists", func() {
			ns := newNamespace()
			newTx(ns, "early", topUp("later", "7", ""))
			t := phaseOf(ns, "early", billingv1alpha1.PhasePending)
			Expect(t.Status.Reason).To(Equal("WalletNotFound"))
			newWallet(ns, "later")
			phaseOf(ns, "early", billingv1alpha1.PhaseSettled)
			balanceOf(ns, "later", "7")
		})

		It("terminates a wallet one way: credits expire, writes fail, history stays", func() {
			ns := newNamespace()
			w := newWallet(ns, "main")
			newTx(ns, "grant", topUp("main", "9", ""))
			phaseOf(ns, "grant", billingv1alpha1.PhaseSettled)
			balanceOf(ns, "main", "9")
			Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w)).To(Succeed())
			w.Spec.Terminated = true
			Expect(k8sClient.Update(ctx(), w)).To(Succeed())
			w = balanceOf(ns, "main", "0")
			Expect(w.Status.Phase).To(Equal(billingv1alpha1.WalletTerminated))
			newTx(ns, "late", debit("main", "1"))
			t := phaseOf(ns, "late", billingv1alpha1.PhaseFailed)
			Expect(t.Status.Reason).To(Equal("WalletTerminated"))
			page, err := store.Entries(ctx(), ledgerEntries(ns))
			Expect(err).NotTo(HaveOccurred())
			Expect(page.Entries).To(HaveLen(2)) // the grant and its expiry
		})

		It("terminates a deleted Wallet in the ledger, keeps its history and drops its metrics", func() {
			ns := newNamespace()
			w := newWallet(ns, "main")
			newTx(ns, "grant", topUp("main", "7", ""))
			phaseOf(ns, "grant", billingv1alpha1.PhaseSettled)
			balanceOf(ns, "main", "7")
			Expect(metric(balanceMetric, balanceLabels(ns, "main", "available"))).To(Equal(7.0))
			Expect(k8sClient.Delete(ctx(), w)).To(Succeed())
			Eventually(func() bool {
				return apierrors.IsNotFound(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), &billingv1alpha1.Wallet{}))
			}).Should(BeTrue(), "the finalizer lets the Wallet go once the ledger has terminated it")
			b, err := store.Balance(ctx(), controllers.LedgerWallet(ns, "main"))
			Expect(err).NotTo(HaveOccurred())
			Expect(b.Terminated).To(BeTrue())
			Expect(b.Available.String()).To(Equal("0"))
			page, err := store.Entries(ctx(), ledgerEntries(ns))
			Expect(err).NotTo(HaveOccurred())
			Expect(page.Entries).To(HaveLen(2)) // the grant and its expiry
			_, found := metricValue(balanceMetric, balanceLabels(ns, "main", "available"))
			Expect(found).To(BeFalse())
		})

		It("applies exactly once when the operator dies between the ledger commit and the status write", func() {
			ns := newNamespace()
			newWallet(ns, "main")
			newTx(ns, "first", topUp("main", "10", ""))
			phaseOf(ns, "first", billingv1alpha1.PhaseSettled)
			balanceOf(ns, "main", "10")
			stopManager()
			startLedgerOnly()

			// A reconcile that commits to the ledger and then cannot write status.
			newTx(ns, "crash", topUp("main", "5", ""))
			r := &controllers.WalletTransactionReconciler{Client: statusFails{k8sClient}, Ledger: store}
			_, err := r.Reconcile(ctx(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: "crash"}})
			Expect(err).To(MatchError(ContainSubstring("status write lost")))
			seq := ledgerSeq(ns, "main")
			b, _ := store.Balance(ctx(), controllers.LedgerWallet(ns, "main"))
			Expect(b.Available.String()).To(Equal("15")) // committed once

			Expect(store.Close()).To(Succeed())
			startManager() // the restarted operator
			t := phaseOf(ns, "crash", billingv1alpha1.PhaseSettled)
			Expect(t.Status.TransactionID).To(HavePrefix("wtx_"))
			balanceOf(ns, "main", "15")
			Expect(ledgerSeq(ns, "main")).To(Equal(seq))
		})
	})
}

// statusFails is a client whose status writes fail, as if the process died
// right after the ledger commit.
type statusFails struct{ client.Client }

func (c statusFails) Status() client.SubResourceWriter { return failingWriter{} }

type failingWriter struct{ client.SubResourceWriter }

func (failingWriter) Patch(context.Context, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
	return errors.New("status write lost")
}

func ledgerEntries(ns string) ledger.EntryQuery {
	return ledger.EntryQuery{Wallet: controllers.LedgerWallet(ns, "main")}
}

var autoTopUpSpecs = func() {
	Describe("Auto top-up", func() {
		autoTx := func(ns, rule string) []billingv1alpha1.WalletTransaction {
			var list billingv1alpha1.WalletTransactionList
			Expect(k8sClient.List(ctx(), &list, client.InNamespace(ns), client.MatchingLabels{controllers.LabelRule: rule})).To(Succeed())
			return list.Items
		}
		ruleState := func(ns string) billingv1alpha1.AutoTopUpRuleStatus {
			w := &billingv1alpha1.Wallet{}
			Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "main"}, w)).To(Succeed())
			if len(w.Status.AutoTopUp) != 1 {
				return billingv1alpha1.AutoTopUpRuleStatus{}
			}
			return w.Status.AutoTopUp[0]
		}

		It("tops up to the target once per threshold crossing, then cleans the transaction up and keeps its credits", func() {
			ns := newNamespace()
			newWallet(ns, "main", func(w *billingv1alpha1.Wallet) {
				w.Spec.AutoTopUp = []billingv1alpha1.AutoTopUpRule{{Name: "low", Trigger: billingv1alpha1.TriggerThreshold, ThresholdCredits: "10",
					Method: billingv1alpha1.MethodTarget, TargetBalance: "100", TargetCategory: billingv1alpha1.CategoryGranted}}
			})
			// a new wallet is at 0: no crossing yet, nothing fires
			balanceOf(ns, "main", "0")
			Consistently(func() []billingv1alpha1.WalletTransaction { return autoTx(ns, "low") }, "1500ms").Should(BeEmpty())
			newTx(ns, "grant", topUp("main", "20", ""))
			Eventually(func() bool { return ruleState(ns).Armed }).Should(BeTrue())
			newTx(ns, "use-1", debit("main", "15"))
			phaseOf(ns, "main-low-1", billingv1alpha1.PhaseSettled)
			w := balanceOf(ns, "main", "100")
			Expect(w.Status.AutoTopUp[0].Count).To(Equal(int64(1)))
			Expect(w.Status.AutoTopUp[0].LastTransaction).To(Equal("main-low-1"))
			t := autoTx(ns, "low")[0]
			Expect(t.Spec.Source).To(Equal(billingv1alpha1.SourceAutoTopUp))
			Expect(t.Spec.GrantedCredits).To(Equal(billingv1alpha1.Amount("95")))
			Expect(t.OwnerReferences).To(HaveLen(1))
			Expect(t.OwnerReferences[0].Name).To(Equal("main"))
			Eventually(func() bool { return ruleState(ns).Armed }).Should(BeTrue()) // above the threshold again

			newTx(ns, "use", debit("main", "95.5"))
			t2 := phaseOf(ns, "main-low-2", billingv1alpha1.PhaseSettled)
			Expect(t2.Spec.GrantedCredits).To(Equal(billingv1alpha1.Amount("95.5")))
			balanceOf(ns, "main", "100")
			Consistently(func() int64 { return ruleState(ns).Count }, "1s").Should(Equal(int64(2)))

			// Settled auto top-ups go away after the TTL; their credits stay and nothing fires again.
			Eventually(func() []billingv1alpha1.WalletTransaction { return autoTx(ns, "low") }).Should(BeEmpty())
			_, err := store.Entry(ctx(), controllers.LedgerWallet(ns, "main"), ns+"/main-low-1")
			Expect(err).NotTo(HaveOccurred())
			Consistently(func() int64 { return ruleState(ns).Count }, "1s").Should(Equal(int64(2)))
			balanceOf(ns, "main", "100")
		})

		It("never loops: a Fixed top-up that stays under the threshold fires once", func() {
			ns := newNamespace()
			newWallet(ns, "main", func(w *billingv1alpha1.Wallet) {
				w.Spec.AutoTopUp = []billingv1alpha1.AutoTopUpRule{{Name: "drip", Trigger: billingv1alpha1.TriggerThreshold, ThresholdCredits: "10",
					Method: billingv1alpha1.MethodFixed, GrantedCredits: "1"}}
			})
			newTx(ns, "grant", topUp("main", "15", ""))
			Eventually(func() bool { return ruleState(ns).Armed }).Should(BeTrue())
			newTx(ns, "use", debit("main", "10"))
			phaseOf(ns, "main-drip-1", billingv1alpha1.PhaseSettled) // 5 is at or below 10
			balanceOf(ns, "main", "6")
			Consistently(func() int64 { return ruleState(ns).Count }, "2s").Should(Equal(int64(1)))
			Expect(ruleState(ns).Armed).To(BeFalse())
		})

		It("fires a Schedule rule when it is due, once, and says when it runs next", func() {
			ns := newNamespace()
			tz := billingv1alpha1.TimeZone("Europe/Paris")
			w := newWallet(ns, "main", func(w *billingv1alpha1.Wallet) {
				w.Spec.AutoTopUp = []billingv1alpha1.AutoTopUpRule{{Name: "yearly", Trigger: billingv1alpha1.TriggerSchedule,
					Schedule: "0 0 1 1 *", TimeZone: &tz, Method: billingv1alpha1.MethodFixed, GrantedCredits: "12"}}
			})
			balanceOf(ns, "main", "0")
			Eventually(func() *metav1.Time { return ruleState(ns).NextScheduleTime }).ShouldNot(BeNil())
			next := ruleState(ns).NextScheduleTime
			paris, _ := time.LoadLocation(string(tz))
			Expect(next.In(paris).Format("01-02 15:04")).To(Equal("01-01 00:00"))

			// The operator, a second after New Year in Paris.
			r := &controllers.WalletReconciler{Client: k8sClient, Ledger: store, Now: func() time.Time { return next.Add(time.Second) }}
			Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w)).To(Succeed())
			for range 2 { // twice: the second sees the rule already fired
				_, err := r.Reconcile(ctx(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(w)})
				Expect(err).NotTo(HaveOccurred())
			}
			phaseOf(ns, "main-yearly-1", billingv1alpha1.PhaseSettled)
			balanceOf(ns, "main", "12")
			Expect(autoTx(ns, "yearly")).To(HaveLen(1))
			Expect(ruleState(ns).Count).To(Equal(int64(1)))
		})
	})
}

var walletStatusSpecs = func() {
	Describe("Wallet status", func() {
		It("shows debits written without a WalletTransaction within 2 seconds, in coalesced status writes", func() {
			ns := newNamespace()
			newWallet(ns, "main")
			newTx(ns, "grant", topUp("main", "1000", ""))
			w := balanceOf(ns, "main", "1000")

			watcher, err := client.NewWithWatch(cfg, client.Options{Scheme: scheme})
			Expect(err).NotTo(HaveOccurred())
			wctx, cancel := context.WithCancel(ctx())
			defer cancel()
			watch, err := watcher.Watch(wctx, &billingv1alpha1.WalletList{}, client.InNamespace(ns),
				&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: w.ResourceVersion}})
			Expect(err).NotTo(HaveOccurred())
			var mu sync.Mutex
			var writes []time.Time
			go func() {
				for range watch.ResultChan() {
					mu.Lock()
					writes = append(writes, time.Now())
					mu.Unlock()
				}
			}()

			// 200 usage debits straight into the ledger (as the reports API's
			// usage ingestion does), spread over more than two seconds: a
			// status write must not start a chain of writes while usage comes in
			start := time.Now()
			for i := range 200 {
				_, err := store.Debit(ctx(), ledger.DebitRequest{Wallet: controllers.LedgerWallet(ns, "main"), Key: fmt.Sprint("usage-", i),
					Credits: 2_500_000, Origin: "api"})
				Expect(err).NotTo(HaveOccurred())
				time.Sleep(10 * time.Millisecond)
			}
			posted := time.Since(start)
			Eventually(func() string {
				Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w)).To(Succeed())
				return w.Status.Balance
			}, "2s", "20ms").Should(Equal("500"))
			fresh := time.Since(start)
			time.Sleep(1500 * time.Millisecond)
			mu.Lock()
			defer mu.Unlock()
			GinkgoWriter.Printf("200 debits posted in %s; status showed them %s after the first; status writes at %v\n", posted, fresh, writes)
			// one write per second of posting, plus the last: never one per
			// debit, and never two close together (StatusInterval is 1s; half
			// of it leaves room for a slow reconcile)
			Expect(len(writes)).To(BeNumerically("<=", int(posted/time.Second)+3))
			for i := 1; i < len(writes); i++ {
				Expect(writes[i].Sub(writes[i-1])).To(BeNumerically(">=", 500*time.Millisecond), "status writes %d and %d", i, i+1)
			}
			Expect(w.Status.LedgerSequence).To(Equal(int64(201)))
		})

		It("expires credits on time and expires the wallet at expiresAt", func() {
			ns := newNamespace()
			at := metav1.NewTime(time.Now().Add(3 * time.Second).Truncate(time.Second))
			newWallet(ns, "main", func(w *billingv1alpha1.Wallet) { w.Spec.ExpiresAt = &at })
			short := topUp("main", "7", "")
			soon := metav1.NewTime(time.Now().Add(1500 * time.Millisecond))
			short.ExpiresAt = &soon
			newTx(ns, "short", short)
			newTx(ns, "long", topUp("main", "3", ""))
			w := balanceOf(ns, "main", "10")
			Expect(w.Status.NextExpiration).NotTo(BeNil())
			Expect(w.Status.NextExpiration.Credits).To(Equal("7"))
			balanceOf(ns, "main", "3") // the promo expired on time (RequeueAfter, no polling)
			page, err := store.Entries(ctx(), ledger.EntryQuery{Wallet: controllers.LedgerWallet(ns, "main"), Types: []ledger.EntryType{ledger.EntryExpiry}})
			Expect(err).NotTo(HaveOccurred())
			Expect(page.Entries).To(HaveLen(1))
			Expect(page.Entries[0].Credits.String()).To(Equal("-7"))
			Eventually(func() billingv1alpha1.WalletPhase {
				Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w)).To(Succeed())
				return w.Status.Phase
			}).Should(Equal(billingv1alpha1.WalletExpired))
			Expect(w.Status.Balance).To(Equal("0"))
		})
	})
}
