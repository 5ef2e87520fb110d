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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
)

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
			_, err := store.Entry(ctx(), billingv1alpha1.LedgerWalletName(ns, "main"), ns+"/main-low-1")
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
