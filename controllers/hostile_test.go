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
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
)

// laxSchema drops every CEL rule, pattern and bound below p and lets
// priority be anything: the CRD of an older release, or one edited by hand.
func laxSchema(p *apiextv1.JSONSchemaProps) {
	p.XValidations, p.Pattern, p.MaxLength, p.Minimum, p.Maximum, p.Enum = nil, "", nil, nil, nil, nil
	for k, c := range p.Properties {
		if k == "priority" {
			c = apiextv1.JSONSchemaProps{XIntOrString: true, AnyOf: []apiextv1.JSONSchemaProps{{Type: "integer"}, {Type: "string"}}}
		}
		laxSchema(&c)
		p.Properties[k] = c
	}
	if p.Items != nil && p.Items.Schema != nil {
		laxSchema(p.Items.Schema)
	}
}

// storeBypassingValidation stores objects the current CRDs refuse: under
// lax CRDs, which are then restored. It returns once admission refuses
// them again.
func storeBypassingValidation(objs ...*unstructured.Unstructured) {
	GinkgoHelper()
	s := runtime.NewScheme()
	Expect(apiextv1.AddToScheme(s)).To(Succeed())
	c, err := client.New(cfg, client.Options{Scheme: s})
	Expect(err).NotTo(HaveOccurred())
	originals := map[string]*apiextv1.CustomResourceDefinitionSpec{}
	setSchema := func(name string, lax bool) {
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			crd := &apiextv1.CustomResourceDefinition{}
			if err := c.Get(ctx(), client.ObjectKey{Name: name}, crd); err != nil {
				return err
			}
			if _, ok := originals[name]; !ok {
				originals[name] = crd.Spec.DeepCopy()
			}
			crd.Spec = *originals[name].DeepCopy()
			if lax {
				laxSchema(crd.Spec.Versions[0].Schema.OpenAPIV3Schema)
			}
			return c.Update(ctx(), crd)
		})).To(Succeed())
	}
	crds := []string{"wallets.billing.walletop.io", "wallettransactions.billing.walletop.io"}
	for _, n := range crds {
		setSchema(n, true)
	}
	for _, o := range objs {
		Eventually(func() error { return k8sClient.Create(ctx(), o.DeepCopy()) }).Should(Succeed(), "%s %s", o.GetKind(), o.GetName())
	}
	for _, n := range crds {
		setSchema(n, false)
	}
	for _, o := range objs {
		probe := o.DeepCopy()
		probe.SetName(o.GetName() + "-probe")
		Eventually(func() error { return k8sClient.Create(ctx(), probe, client.DryRunAll) }).ShouldNot(Succeed(),
			"admission still accepts %s %s", o.GetKind(), o.GetName())
	}
}

func fromYAML(text string) *unstructured.Unstructured {
	GinkgoHelper()
	u := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(text), &u.Object)).To(Succeed())
	return u
}

func walletCondition(ns, name, typ string) *metav1.Condition {
	GinkgoHelper()
	var c *metav1.Condition
	Eventually(func(g Gomega) {
		w := &billingv1alpha1.Wallet{}
		g.Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: name}, w)).To(Succeed())
		c = meta.FindStatusCondition(w.Status.Conditions, typ)
		g.Expect(c).NotTo(BeNil(), "no %s condition", typ)
	}).Should(Succeed())
	return c
}

var hostileSpecs = func() {
	It("fails an object stored before today's rules alone, while every other namespace goes on settling", func() {
		bad, good := newNamespace(), newNamespace()
		newWallet(bad, "main")
		newWallet(good, "main")
		storeBypassingValidation(
			fromYAML(fmt.Sprintf(`{apiVersion: billing.walletop.io/v1alpha1, kind: WalletTransaction, metadata: {name: abc, namespace: %s},
spec: {walletRef: {name: main}, type: TopUp, grantedCredits: "5", expiresAfter: abc}}`, bad)),
			fromYAML(fmt.Sprintf(`{apiVersion: billing.walletop.io/v1alpha1, kind: WalletTransaction, metadata: {name: high, namespace: %s},
spec: {walletRef: {name: main}, type: TopUp, grantedCredits: "5", priority: high}}`, bad)),
			fromYAML(fmt.Sprintf(`{apiVersion: billing.walletop.io/v1alpha1, kind: WalletTransaction, metadata: {name: key, namespace: %s},
spec: {walletRef: {name: main}, type: TopUp, grantedCredits: "5", idempotencyKey: "usage:req-x"}}`, bad)),
			fromYAML(fmt.Sprintf(`{apiVersion: billing.walletop.io/v1alpha1, kind: Wallet, metadata: {name: rules, namespace: %s},
spec: {currency: USD, autoTopUp: [
  {name: feb31, trigger: Schedule, schedule: "0 0 31 2 *", method: Fixed, grantedCredits: "5"},
  {name: mars, trigger: Schedule, schedule: "@daily", timeZone: Mars/Olympus, method: Fixed, grantedCredits: "5"},
  {name: expiry, trigger: Threshold, thresholdCredits: "5", method: Fixed, grantedCredits: "5", grantExpiresAfter: "-720h"},
  {name: upside, trigger: Threshold, thresholdCredits: "500", method: Target, targetBalance: "100"}]}}`, bad)),
			fromYAML(fmt.Sprintf(`{apiVersion: billing.walletop.io/v1alpha1, kind: Wallet, metadata: {name: rate, namespace: %s},
spec: {currency: USD, rate: "0.1234567"}}`, bad)),
		)
		// another tenant, after the bad objects: settles as ever
		newTx(good, "buy", topUp("main", "7", ""))
		phaseOf(good, "buy", billingv1alpha1.PhaseSettled)
		balanceOf(good, "main", "7")

		// a value of the wrong type: the API server refuses every write of
		// the object, status included, so an Event says why
		// (or, while the API server still applies the lax CRD, Failed)
		Eventually(func(g Gomega) {
			list := &eventsv1.EventList{}
			g.Expect(k8sClient.List(ctx(), list, client.InNamespace(bad))).To(Succeed())
			g.Expect(list.Items).To(ContainElement(SatisfyAll(
				HaveField("Regarding.Name", "high"), HaveField("Type", "Warning"),
				HaveField("Reason", BeElementOf(controllers.ReasonInvalidSpec, "Failed")),
				HaveField("Note", ContainSubstring("spec.priority: json: cannot unmarshal string")))))
		}).Should(Succeed())
		for name, want := range map[string]string{
			"abc": `spec.expiresAfter: Invalid value: "abc": "abc" must be a positive duration`,
			"key": "idempotencyKey must not start with usage:",
		} {
			t := phaseOf(bad, name, billingv1alpha1.PhaseFailed)
			Expect(t.Status.Reason).To(Equal(controllers.ReasonInvalidSpec))
			Expect(t.Status.Message).To(ContainSubstring(want))
			Expect(t.Status.Message).To(ContainSubstring("nothing was written to the ledger"))
			eventFor(bad, "WalletTransaction", name, "Failed")
		}
		Expect(ledgerSeq(bad, "main")).To(BeZero(), "an invalid transaction wrote to the ledger")

		// the broken rules disable themselves; the wallet's status is written
		c := walletCondition(bad, "rules", billingv1alpha1.ConditionAutoTopUpReady)
		Expect(c.Status).To(Equal(metav1.ConditionFalse))
		Expect(c.Reason).To(Equal("InvalidRule"))
		for _, want := range []string{"rule feb31 is disabled", billingv1alpha1.ScheduleNeverRule, "rule mars is disabled",
			`timeZone "Mars/Olympus"`, "rule expiry is disabled", "grantExpiresAfter", "rule upside is disabled", billingv1alpha1.TargetRule} {
			Expect(c.Message).To(ContainSubstring(want))
		}
		w := balanceOf(bad, "rules", "0")
		Expect(w.Status.Phase).To(Equal(billingv1alpha1.WalletActive))
		Expect(meta.IsStatusConditionTrue(w.Status.Conditions, billingv1alpha1.ConditionReady)).To(BeTrue())
		eventFor(bad, "Wallet", "rules", "InvalidRule")
		// the schedule that never fires created nothing
		list := &billingv1alpha1.WalletTransactionList{}
		Expect(k8sClient.List(ctx(), list, client.InNamespace(bad), client.MatchingLabels{controllers.LabelWallet: "rules"})).To(Succeed())
		Expect(list.Items).To(BeEmpty())

		// a wallet-level value the operator cannot use: Ready=False, nothing opened
		r := walletCondition(bad, "rate", billingv1alpha1.ConditionReady)
		Expect(r.Status).To(Equal(metav1.ConditionFalse))
		Expect(r.Reason).To(Equal(controllers.ReasonInvalidSpec))
		Expect(r.Message).To(ContainSubstring("spec.rate"))
		eventFor(bad, "Wallet", "rate", controllers.ReasonInvalidSpec)
	})

	It("fails a Void or Refund whose grantRef is another wallet's TopUp, or not a TopUp", func() {
		ns := newNamespace()
		newWallet(ns, "a")
		newWallet(ns, "b")
		newTx(ns, "grant-b", topUp("b", "10", ""))
		phaseOf(ns, "grant-b", billingv1alpha1.PhaseSettled)
		void := billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: "a"}, Type: billingv1alpha1.TypeVoid,
			Credits: "1", GrantRef: &billingv1alpha1.LocalObjectReference{Name: "grant-b"}}
		newTx(ns, "void-a", void)
		t := phaseOf(ns, "void-a", billingv1alpha1.PhaseFailed)
		Expect(t.Status.Reason).To(Equal("NotApplicable"))
		Expect(t.Status.Message).To(ContainSubstring(`grantRef "grant-b" is a TopUp of wallet "b", not of wallet "a"`))
		newTx(ns, "use-b", debit("b", "1"))
		phaseOf(ns, "use-b", billingv1alpha1.PhaseSettled)
		refund := billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: "b"}, Type: billingv1alpha1.TypeRefund,
			Credits: "1", GrantRef: &billingv1alpha1.LocalObjectReference{Name: "use-b"}}
		newTx(ns, "refund-b", refund)
		t = phaseOf(ns, "refund-b", billingv1alpha1.PhaseFailed)
		Expect(t.Status.Reason).To(Equal("NotApplicable"))
		Expect(t.Status.Message).To(ContainSubstring(`grantRef "use-b" is a Debit, not a TopUp`))
		balanceOf(ns, "b", "9")
	})

	It("empties moneyBalance when balance x rate does not fit an amount, rather than keep a stale one", func() {
		ns := newNamespace()
		newWallet(ns, "big", func(w *billingv1alpha1.Wallet) { w.Spec.Rate = "1000" })
		newTx(ns, "small", topUp("big", "1", ""))
		w := balanceOf(ns, "big", "1")
		Eventually(func() *billingv1alpha1.Money {
			Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w)).To(Succeed())
			return w.Status.MoneyBalance
		}).Should(Equal(&billingv1alpha1.Money{Amount: "1000", Currency: "USD"}))
		newTx(ns, "huge", topUp("big", "999999999999", ""))
		w = balanceOf(ns, "big", "1000000000000")
		Expect(w.Status.MoneyBalance).To(BeNil())
	})
}
