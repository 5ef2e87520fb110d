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
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
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
	b, err := store.Balance(ctx(), billingv1alpha1.LedgerWalletName(ns, name))
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
