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

package admission

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

const ns = "admission"

var seq atomic.Int64

// manifest builds the object a user would write: kind, a fresh name in the
// test namespace, and spec given as YAML (indented freely).
func manifest(kind, spec string) *unstructured.Unstructured {
	name := fmt.Sprintf("%s-%d", strings.ToLower(kind), seq.Add(1))
	text := fmt.Sprintf("apiVersion: billing.walletop.io/v1alpha1\nkind: %s\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n%s",
		kind, name, ns, indent(dedent(spec), "  "))
	u := &unstructured.Unstructured{}
	ExpectWithOffset(2, yaml.Unmarshal([]byte(text), &u.Object)).To(Succeed(), text)
	return u
}

func wtx(spec string) *unstructured.Unstructured    { return manifest("WalletTransaction", spec) }
func wallet(spec string) *unstructured.Unstructured { return manifest("Wallet", spec) }

func dedent(s string) string {
	lines := strings.Split(strings.Trim(s, "\n"), "\n")
	minIndent := -1
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		n := len(l) - len(strings.TrimLeft(l, " \t"))
		if minIndent < 0 || n < minIndent {
			minIndent = n
		}
	}
	for i, l := range lines {
		if len(l) >= minIndent {
			lines[i] = l[minIndent:]
		}
	}
	return strings.Join(lines, "\n")
}

func indent(s, pre string) string {
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre) + "\n"
}

// expectRefused asserts that the apiserver refused err as invalid with a
// message containing want, and that nothing named like u is stored.
func expectRefused(u *unstructured.Unstructured, err error, want string) {
	GinkgoHelper()
	Expect(err).To(HaveOccurred(), "the apiserver accepted an invalid object")
	Expect(apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)).To(BeTrue(), "want 422 Invalid or 400, got %v", err)
	Expect(err.Error()).To(ContainSubstring(want))
}

func expectNotStored(u *unstructured.Unstructured) {
	GinkgoHelper()
	got := &unstructured.Unstructured{}
	got.SetGroupVersionKind(u.GroupVersionKind())
	err := k8sClient.Get(ctx, client.ObjectKeyFromObject(u), got)
	Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a refused object was stored: %v", err)
}

const validTopUp = `
walletRef: {name: main}
type: TopUp
grantedCredits: "10"
`

var _ = Describe("admission", func() {
	BeforeEach(func() {
		err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
	})

	DescribeTable("refuses an invalid object on create, with a clear message, and stores nothing",
		func(u func() *unstructured.Unstructured, want string) {
			obj := u()
			err := k8sClient.Create(ctx, obj)
			expectRefused(obj, err, want)
			expectNotStored(obj)
		},
		// Amounts.
		Entry("negative paidCredits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: "-5"}`)
		}, "spec.paidCredits: Invalid value: \"-5\": must be a non-negative decimal with at most 12 integer digits and 6 fractional digits"),
		Entry("negative integer paidCredits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: -5}`)
		}, "spec.paidCredits: Invalid value: -5: must be a non-negative decimal"),
		Entry("decimal comma", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, grantedCredits: "12,5"}`)
		}, "spec.grantedCredits: Invalid value: \"12,5\": must be a non-negative decimal"),
		Entry("seven fractional digits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, grantedCredits: "1.1234567"}`)
		}, "at most 12 integer digits and 6 fractional digits"),
		Entry("thirteen integer digits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, grantedCredits: "1234567890123"}`)
		}, "at most 12 integer digits and 6 fractional digits"),
		Entry("integer beyond 12 digits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: 1000000000000}`)
		}, "at most 12 integer digits"),
		Entry("exponent", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: "1e5"}`)
		}, "must be a non-negative decimal"),
		Entry("unquoted YAML float", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: 12.5}`)
		}, "spec.paidCredits in body must be of type integer,string: \"number\""),
		Entry("malformed debit credits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Debit, origin: api, credits: "ten"}`)
		}, "spec.credits: Invalid value: \"ten\": must be a decimal with an optional minus sign"),

		// TopUp.
		Entry("TopUp with neither paid nor granted credits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, description: nothing}`)
		}, "a TopUp needs paidCredits or grantedCredits greater than zero"),
		Entry("TopUp with zero credits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: 0, grantedCredits: "0.000"}`)
		}, "a TopUp needs paidCredits or grantedCredits greater than zero"),
		Entry("TopUp with credits", func() *unstructured.Unstructured {
			return wtx(validTopUp + `credits: "5"`)
		}, "spec.credits: Invalid value: credits is not allowed for type TopUp; use paidCredits or grantedCredits"),
		Entry("TopUp with origin", func() *unstructured.Unstructured {
			return wtx(validTopUp + `origin: api`)
		}, "spec.origin: Invalid value: origin and endpoint are allowed only for type Debit"),
		Entry("TopUp with reason", func() *unstructured.Unstructured {
			return wtx(validTopUp + `reason: typo`)
		}, "spec.reason: Invalid value: reason is allowed only for type Adjustment"),
		Entry("TopUp with grantRef", func() *unstructured.Unstructured {
			return wtx(validTopUp + `grantRef: {name: other}`)
		}, "grantRef is allowed only for type Void and Refund"),
		Entry("TopUp expiring before it is effective", func() *unstructured.Unstructured {
			return wtx(validTopUp + "effectiveAt: \"2027-02-01T00:00:00Z\"\nexpiresAt: \"2027-01-01T00:00:00Z\"")
		}, "spec.expiresAt: Invalid value: expiresAt must be after effectiveAt"),
		Entry("TopUp with expiresAt and expiresAfter", func() *unstructured.Unstructured {
			return wtx(validTopUp + "expiresAt: \"2027-01-01T00:00:00Z\"\nexpiresAfter: 24h")
		}, "set expiresAt or expiresAfter, not both"),
		Entry("priority above 100", func() *unstructured.Unstructured {
			return wtx(validTopUp + `priority: 101`)
		}, "spec.priority: Invalid value: 101: spec.priority in body should be less than or equal to 100"),
		Entry("unknown source", func() *unstructured.Unstructured {
			return wtx(validTopUp + `source: Gift`)
		}, "spec.source: Unsupported value: \"Gift\""),
		Entry("unknown payment status", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {status: Refunded}}`)
		}, "spec.payment.status: Unsupported value: \"Refunded\""),

		// Void, Refund, Debit, Adjustment.
		Entry("Void without credits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Void}`)
		}, "credits is required for type Void, Refund, Debit and Adjustment"),
		Entry("Void with paidCredits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Void, credits: "1", paidCredits: "1"}`)
		}, "spec.paidCredits: Invalid value: paidCredits is allowed only for type TopUp"),
		Entry("Void with negative credits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Void, credits: "-3"}`)
		}, "credits must be greater than zero for type Void, Refund and Debit; only an Adjustment may be negative"),
		Entry("Void of zero credits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Void, credits: 0}`)
		}, "credits must be greater than zero"),
		Entry("Refund without grantRef", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Refund, credits: "5"}`)
		}, "spec.grantRef: Invalid value: grantRef is required for type Refund: name the TopUp to refund"),
		Entry("Debit without origin", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Debit, credits: "5"}`)
		}, "spec.origin: Invalid value: origin is required for type Debit"),
		Entry("Debit with payment", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Debit, credits: "5", origin: api, payment: {reference: x}}`)
		}, "payment is allowed only for type TopUp and Refund"),
		Entry("Debit with expiresAt", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Debit, credits: "5", origin: api, expiresAt: "2027-01-01T00:00:00Z"}`)
		}, "expiresAt is allowed only for type TopUp"),
		Entry("Debit with negative credits", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Debit, credits: -5, origin: api}`)
		}, "credits must be greater than zero"),
		Entry("Adjustment without reason", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Adjustment, credits: "-5"}`)
		}, "spec.reason: Invalid value: reason is required for type Adjustment"),
		Entry("Adjustment of zero", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Adjustment, credits: "-0.0", reason: nothing}`)
		}, "an Adjustment's credits must not be zero"),
		Entry("unknown type", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: main}, type: Transfer, credits: "5"}`)
		}, "spec.type: Unsupported value: \"Transfer\": supported values: \"TopUp\", \"Void\", \"Refund\", \"Debit\", \"Adjustment\""),
		Entry("missing walletRef", func() *unstructured.Unstructured {
			return wtx(`{type: TopUp, grantedCredits: "5"}`)
		}, "spec.walletRef: Required value"),
		Entry("walletRef to another namespace's style name", func() *unstructured.Unstructured {
			return wtx(`{walletRef: {name: "team-b/main"}, type: TopUp, grantedCredits: "5"}`)
		}, "spec.walletRef.name: Invalid value: \"team-b/main\""),

		// Wallet.
		Entry("lower-case currency", func() *unstructured.Unstructured {
			return wallet(`{currency: usd}`)
		}, "spec.currency: Invalid value: \"usd\": spec.currency in body should match '^[A-Z]{3}$'"),
		Entry("four-letter currency", func() *unstructured.Unstructured {
			return wallet(`{currency: USDT}`)
		}, "should match '^[A-Z]{3}$'"),
		Entry("missing currency", func() *unstructured.Unstructured {
			return wallet(`{rate: "1"}`)
		}, "spec.currency: Required value"),
		Entry("zero rate", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, rate: "0.00"}`)
		}, "spec.rate: Invalid value: \"0.00\": rate must be greater than zero"),
		Entry("negative overdraft limit", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, overdraftLimit: "-10"}`)
		}, "spec.overdraftLimit: Invalid value: \"-10\": must be a non-negative decimal"),
		Entry("six auto top-up rules", func() *unstructured.Unstructured {
			rules := ""
			for i := range 6 {
				rules += fmt.Sprintf("- {name: r%d, trigger: Threshold, thresholdCredits: 10, method: Fixed, paidCredits: 10}\n", i)
			}
			return wallet("currency: EUR\nautoTopUp:\n" + rules)
		}, "spec.autoTopUp: Too many: 6: must have at most 5 items"),
		Entry("duplicate rule names", func() *unstructured.Unstructured {
			return wallet(`
				currency: EUR
				autoTopUp:
				- {name: r, trigger: Threshold, thresholdCredits: 10, method: Fixed, paidCredits: 10}
				- {name: r, trigger: Threshold, thresholdCredits: 20, method: Fixed, paidCredits: 10}`)
		}, "spec.autoTopUp[1]: Duplicate value"),
		Entry("cron schedule with four fields", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: m, trigger: Schedule, schedule: "0 6 * *", method: Fixed, grantedCredits: 5}]}`)
		}, "schedule must be five cron fields separated by single spaces (minute 0-59, hour 0-23"),
		Entry("cron schedule with a bad macro", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: m, trigger: Schedule, schedule: "@fortnightly", method: Fixed, grantedCredits: 5}]}`)
		}, "schedule must be five cron fields"),
		Entry("time zone inside the cron schedule", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: m, trigger: Schedule, schedule: "CRON_TZ=UTC 0 6 * * *", method: Fixed, grantedCredits: 5}]}`)
		}, "do not put a time zone in schedule; use timeZone"),
		Entry("Schedule rule without schedule", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: m, trigger: Schedule, method: Fixed, grantedCredits: 5}]}`)
		}, "schedule is required when trigger is Schedule"),
		Entry("Threshold rule without thresholdCredits", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: t, trigger: Threshold, method: Fixed, paidCredits: 5}]}`)
		}, "thresholdCredits is required when trigger is Threshold"),
		Entry("Fixed rule adding nothing", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: t, trigger: Threshold, thresholdCredits: 5, method: Fixed}]}`)
		}, "method Fixed needs paidCredits or grantedCredits greater than zero"),
		Entry("Target rule without targetBalance", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: t, trigger: Threshold, thresholdCredits: 5, method: Target}]}`)
		}, "targetBalance is required when method is Target"),
		Entry("Target rule with paidCredits", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: t, trigger: Threshold, thresholdCredits: 5, method: Target, targetBalance: 100, paidCredits: 5}]}`)
		}, "paidCredits and grantedCredits are allowed only when method is Fixed"),
		Entry("bad rule name", func() *unstructured.Unstructured {
			return wallet(`{currency: EUR, autoTopUp: [{name: Top_Up, trigger: Threshold, thresholdCredits: 5, method: Target, targetBalance: 100}]}`)
		}, "spec.autoTopUp[0].name: Invalid value: \"Top_Up\""),
	)

	DescribeTable("refuses an invalid change and keeps the stored object as it was",
		func(kind, before, after, want string) {
			obj := manifest(kind, before)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			stored := obj.DeepCopy()
			changed := manifest(kind, after)
			Expect(unstructured.SetNestedField(obj.Object, changed.Object["spec"], "spec")).To(Succeed())
			err := k8sClient.Update(ctx, obj)
			expectRefused(obj, err, want)
			got := stored.DeepCopy()
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(stored), got)).To(Succeed())
			Expect(got.Object["spec"]).To(Equal(stored.Object["spec"]))
		},
		Entry("WalletTransaction credits", "WalletTransaction",
			`{walletRef: {name: main}, type: Debit, credits: "5", origin: api}`,
			`{walletRef: {name: main}, type: Debit, credits: "50", origin: api}`,
			"spec.credits: Invalid value: \"50\": credits is immutable: a WalletTransaction cannot be changed once created"),
		Entry("WalletTransaction walletRef", "WalletTransaction",
			validTopUp, strings.Replace(validTopUp, "main", "other", 1), "walletRef is immutable"),
		Entry("WalletTransaction description added", "WalletTransaction",
			validTopUp, validTopUp+"description: later", "description is immutable"),
		Entry("WalletTransaction payment added", "WalletTransaction",
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10}`,
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_1}}`,
			"payment is immutable except payment.status: it cannot be added or removed once created"),
		// the rules on what a type allows run on create only; removing a
		// required field is refused by the rule that nothing is added or removed
		Entry("Adjustment reason removed", "WalletTransaction",
			`{walletRef: {name: main}, type: Adjustment, credits: "-5", reason: goodwill}`,
			`{walletRef: {name: main}, type: Adjustment, credits: "-5"}`, "reason is immutable"),
		Entry("WalletTransaction type", "WalletTransaction",
			`{walletRef: {name: main}, type: Void, credits: "5"}`,
			`{walletRef: {name: main}, type: Debit, credits: "5", origin: api}`, "type is immutable"),
		Entry("payment Paid back to Pending", "WalletTransaction",
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_1, status: Paid}}`,
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_1, status: Pending}}`,
			"spec.payment.status: Invalid value: payment.status may only change from Pending to Paid or from Pending to Failed"),
		Entry("payment Failed to Paid", "WalletTransaction",
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_1, status: Failed}}`,
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_1, status: Paid}}`,
			"payment.status may only change from Pending to Paid or from Pending to Failed"),
		Entry("payment reference", "WalletTransaction",
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_1}}`,
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_2}}`,
			"payment is immutable except payment.status"),
		Entry("Wallet terminated back to false", "Wallet",
			`{currency: EUR, terminated: true}`, `{currency: EUR, terminated: false}`,
			"terminated cannot be set back to false: termination is one way"),
		Entry("Wallet terminated removed", "Wallet",
			`{currency: EUR, terminated: true}`, `{currency: EUR}`,
			"terminated cannot be set back to false"),
		Entry("Wallet currency", "Wallet",
			`{currency: EUR}`, `{currency: USD}`, "spec.currency: Invalid value: \"USD\": currency is immutable"),
		Entry("Wallet rate", "Wallet",
			`{currency: EUR, rate: "0.01"}`, `{currency: EUR, rate: "0.02"}`, "rate is immutable"),
	)

	DescribeTable("accepts a valid change",
		func(kind, before, after string) {
			obj := manifest(kind, before)
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			changed := manifest(kind, after)
			Expect(unstructured.SetNestedField(obj.Object, changed.Object["spec"], "spec")).To(Succeed())
			Expect(k8sClient.Update(ctx, obj)).To(Succeed())
		},
		Entry("payment Pending to Paid", "WalletTransaction",
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_1}}`,
			`{walletRef: {name: main}, type: TopUp, paidCredits: 10, payment: {reference: ch_1, status: Paid}}`),
		Entry("refund payment Pending to Failed", "WalletTransaction",
			`{walletRef: {name: main}, type: Refund, credits: "10", grantRef: {name: buy}, payment: {status: Pending}}`,
			`{walletRef: {name: main}, type: Refund, credits: "10", grantRef: {name: buy}, payment: {status: Failed}}`),
		Entry("Wallet terminated", "Wallet", `{currency: EUR}`, `{currency: EUR, terminated: true}`),
		Entry("Wallet appliesTo, overdraft and rules", "Wallet", `{currency: EUR}`,
			`{currency: EUR, overdraftLimit: "25.5", appliesTo: {origins: [api]}, autoTopUp: [{name: t, trigger: Threshold, thresholdCredits: 5, method: Target, targetBalance: 100}]}`),
	)

	It("keeps a bare YAML integer amount exact and reads it back as a decimal string", func() {
		obj := wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: 999999999999, grantedCredits: "0.000001"}`)
		Expect(k8sClient.Create(ctx, obj)).To(Succeed())
		typed := &billingv1alpha1.WalletTransaction{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), typed)).To(Succeed())
		Expect(typed.Spec.PaidCredits).To(Equal(billingv1alpha1.Amount("999999999999")))
		Expect(typed.Spec.GrantedCredits).To(Equal(billingv1alpha1.Amount("0.000001")))
	})

	It("defaults a Wallet's rate and overdraft limit and a payment's status", func() {
		w := wallet(`{currency: JPY}`)
		Expect(k8sClient.Create(ctx, w)).To(Succeed())
		typed := &billingv1alpha1.Wallet{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(w), typed)).To(Succeed())
		Expect(typed.Spec.Rate).To(Equal(billingv1alpha1.Amount("1")))
		Expect(typed.Spec.OverdraftLimit).To(Equal(billingv1alpha1.Amount("0")))

		t := wtx(`{walletRef: {name: main}, type: TopUp, paidCredits: 5, payment: {reference: inv-1}}`)
		Expect(k8sClient.Create(ctx, t)).To(Succeed())
		tx := &billingv1alpha1.WalletTransaction{}
		Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(t), tx)).To(Succeed())
		Expect(tx.Spec.Payment.Status).To(Equal(billingv1alpha1.PaymentPending))
	})

	It("accepts every sample in config/samples", func() {
		files, err := filepath.Glob(filepath.Join(root, "config", "samples", "*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		var objs []*unstructured.Unstructured
		for _, f := range files {
			if filepath.Base(f) == "kustomization.yaml" {
				continue
			}
			data, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			u := &unstructured.Unstructured{}
			Expect(utilyaml.Unmarshal(data, &u.Object)).To(Succeed(), f)
			objs = append(objs, u)
		}
		Expect(len(objs)).To(BeNumerically(">=", 7), "samples: namespace, wallet, purchase, refill, promotion, void, debit")
		// Namespaces first, as kustomize orders them.
		for _, first := range []bool{true, false} {
			for _, u := range objs {
				if (u.GetKind() == "Namespace") == first {
					Expect(k8sClient.Create(ctx, u)).To(Succeed(), "sample %s/%s", u.GetKind(), u.GetName())
				}
			}
		}
		var kinds []string
		for _, u := range objs {
			kinds = append(kinds, u.GetKind())
		}
		Expect(kinds).To(ContainElements("Namespace", "Wallet", "WalletTransaction"))
	})
})
