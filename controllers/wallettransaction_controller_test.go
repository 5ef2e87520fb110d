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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
	"github.com/walletop/wallet-operator/internal/ledger"
)

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
			Expect(metric("wallet_operator_credits_debited_total", map[string]string{"namespace": ns, "origin": "api", "endpoint": "/v1/chat"})).To(Equal(30.5))
			Expect(metric("wallet_operator_credits_total", map[string]string{"operation": "debit"})).To(BeNumerically(">=", 30.5))
			Expect(metric("wallet_operator_wallet_low_balance", map[string]string{"namespace": ns, "wallet": "main"})).To(BeZero())
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
			Expect(metric("wallet_operator_transaction_failures_total", map[string]string{"type": "Debit", "reason": "InsufficientBalance"})).To(BeNumerically(">=", 1))
			Eventually(func() float64 {
				v, _ := metricValue("wallet_operator_wallet_low_balance", map[string]string{"namespace": ns, "wallet": "main"})
				return v
			}).Should(Equal(1.0))
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
			b, err := store.Balance(ctx(), billingv1alpha1.LedgerWalletName(ns, "main"))
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
			b, _ := store.Balance(ctx(), billingv1alpha1.LedgerWalletName(ns, "main"))
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
	return ledger.EntryQuery{Wallet: billingv1alpha1.LedgerWalletName(ns, "main")}
}
