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
	"os"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	lua "github.com/yuin/gopher-lua"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

// health is what the GitOps tools make of an object: kstatus's status
// (Flux, kpt, cli-utils) and Argo CD's, from the Lua in config/argocd.
type health struct {
	kstatus     status.Status
	argo        string
	argoMessage string
}

// healthOf reads the object back from the API server, as the GitOps
// tools would, and computes both.
func healthOf(obj client.Object) health {
	GinkgoHelper()
	Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(obj), obj)).To(Succeed())
	return healthOfObject(obj)
}

func healthOfObject(obj client.Object) health {
	GinkgoHelper()
	// unstructured, as the tools hold it: integers as int64
	content, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{Object: content}
	gvk, err := k8sClient.GroupVersionKindFor(obj)
	Expect(err).NotTo(HaveOccurred())
	u.SetGroupVersionKind(gvk)
	res, err := status.Compute(u)
	Expect(err).NotTo(HaveOccurred())
	h := health{kstatus: res.Status}
	h.argo, h.argoMessage = argoHealth(argoScript(gvk.Group+"_"+gvk.Kind), u.Object)
	return h
}

// argoScript is the health check config/argocd/argocd-cm.yaml ships for a
// group_kind.
func argoScript(groupKind string) string {
	GinkgoHelper()
	b, err := os.ReadFile("../config/argocd/argocd-cm.yaml")
	Expect(err).NotTo(HaveOccurred())
	cm := &corev1.ConfigMap{}
	Expect(yaml.Unmarshal(b, cm)).To(Succeed())
	script := cm.Data["resource.customizations.health."+groupKind]
	Expect(script).NotTo(BeEmpty(), "no health check for %s", groupKind)
	return script
}

// argoHealth runs a health script as Argo CD does: gopher-lua with only the
// base and table libraries, the object as the global obj, a table
// {status, message} returned.
func argoHealth(script string, obj map[string]any) (string, string) {
	GinkgoHelper()
	l := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer l.Close()
	for name, open := range map[string]lua.LGFunction{lua.BaseLibName: lua.OpenBase, lua.TabLibName: lua.OpenTable} {
		Expect(l.CallByParam(lua.P{Fn: l.NewFunction(open), Protect: true}, lua.LString(name))).To(Succeed())
	}
	l.SetGlobal("obj", toLua(l, obj))
	Expect(l.DoString(script)).To(Succeed())
	ret, ok := l.Get(-1).(*lua.LTable)
	Expect(ok).To(BeTrue(), "the script returns a table")
	st, msg := ret.RawGetString("status"), ret.RawGetString("message")
	Expect(st.Type()).To(Equal(lua.LTString))
	Expect([]string{"Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown"}).To(ContainElement(st.String()))
	return st.String(), msg.String()
}

func toLua(l *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case nil:
		return lua.LNil
	case bool:
		return lua.LBool(v)
	case string:
		return lua.LString(v)
	case int64:
		return lua.LNumber(v)
	case float64:
		return lua.LNumber(v)
	case []any:
		t := l.CreateTable(len(v), 0)
		for _, x := range v {
			t.Append(toLua(l, x))
		}
		return t
	case map[string]any:
		t := l.CreateTable(0, len(v))
		for k, x := range v {
			t.RawSetString(k, toLua(l, x))
		}
		return t
	}
	Fail(fmt.Sprintf("unexpected %T in an object", v))
	return lua.LNil
}

var healthSpecs = func() {
	Describe("GitOps health (kstatus and Argo CD's Lua)", func() {
		It("reads a transaction as Current/Healthy once Settled, InProgress/Progressing while Pending, Failed/Degraded when Failed or Rejected", func() {
			ns := newNamespace()
			early := newTx(ns, "early", topUp("main", "10", ""))
			phaseOf(ns, "early", billingv1alpha1.PhasePending)
			h := healthOf(early)
			Expect(h.kstatus).To(Equal(status.InProgressStatus))
			Expect(h.argo).To(Equal("Progressing"))
			Expect(h.argoMessage).To(ContainSubstring("Pending WalletNotFound"))

			newWallet(ns, "main")
			phaseOf(ns, "early", billingv1alpha1.PhaseSettled)
			h = healthOf(early)
			Expect(h.kstatus).To(Equal(status.CurrentStatus))
			Expect(h.argo).To(Equal("Healthy"))
			Expect(h.argoMessage).To(MatchRegexp(`^Settled as wtx_\S+ \(10 credits, balance after 10\)$`))

			big := newTx(ns, "big", debit("main", "25"))
			t := phaseOf(ns, "big", billingv1alpha1.PhaseFailed)
			h = healthOf(big)
			Expect(h.kstatus).To(Equal(status.FailedStatus))
			Expect(h.argo).To(Equal("Degraded"))
			Expect(h.argoMessage).To(Equal("Failed " + t.Status.Reason + ": " + t.Status.Message))
			Expect(h.argoMessage).To(ContainSubstring("InsufficientBalance"))

			// the same name and another spec after a delete: Rejected
			Expect(k8sClient.Delete(ctx(), early)).To(Succeed())
			Eventually(func() error {
				return k8sClient.Get(ctx(), client.ObjectKeyFromObject(early), &billingv1alpha1.WalletTransaction{})
			}).ShouldNot(Succeed())
			again := newTx(ns, "early", topUp("main", "1000", ""))
			phaseOf(ns, "early", billingv1alpha1.PhaseRejected)
			h = healthOf(again)
			Expect(h.kstatus).To(Equal(status.FailedStatus))
			Expect(h.argo).To(Equal("Degraded"))
			Expect(h.argoMessage).To(HavePrefix("Rejected IdempotencyConflict: "))
		})

		It("reads a wallet as Current/Healthy when in sync, InProgress/Progressing behind its generation, Failed/Degraded on a broken rule", func() {
			ns := newNamespace()
			w := newWallet(ns, "main", func(w *billingv1alpha1.Wallet) { w.Spec.LowBalanceThreshold = "5" })
			newTx(ns, "grant", topUp("main", "3", ""))
			phaseOf(ns, "grant", billingv1alpha1.PhaseSettled)
			balanceOf(ns, "main", "3")
			Eventually(func(g Gomega) {
				h := healthOf(w)
				g.Expect(h.kstatus).To(Equal(status.CurrentStatus))
				g.Expect(h.argo).To(Equal("Healthy"))
				g.Expect(h.argoMessage).To(Equal("Active, balance 3 credits (LowBalance: available balance 3 is at or below 5)"))
			}).Should(Succeed())

			// the object as the update returns it: a new generation, the old status
			w.Spec.LowBalanceThreshold = "1"
			Expect(k8sClient.Update(ctx(), w)).To(Succeed())
			h := healthOfObject(w)
			Expect(h.kstatus).To(Equal(status.InProgressStatus))
			Expect(h.argo).To(Equal("Progressing"))
			Expect(h.argoMessage).To(Equal(fmt.Sprintf("wallet-operator has not yet seen generation %d", w.Generation)))
			Eventually(func() string { return healthOf(w).argoMessage }).Should(Equal("Active, balance 3 credits"))
			Expect(healthOf(w).kstatus).To(Equal(status.CurrentStatus))

			// a rule the operator cannot run (February 31st), stored by an
			// older admission: the wallet works, but only a spec change helps
			storeBypassingValidation(fromYAML(fmt.Sprintf(`{apiVersion: billing.walletop.io/v1alpha1, kind: Wallet,
metadata: {name: stuck, namespace: %s}, spec: {currency: USD, autoTopUp: [
  {name: feb31, trigger: Schedule, schedule: "0 0 31 2 *", method: Fixed, grantedCredits: "5"}]}}`, ns)))
			stuck := &billingv1alpha1.Wallet{}
			stuck.Namespace, stuck.Name = ns, "stuck"
			Eventually(func(g Gomega) {
				h := healthOf(stuck)
				g.Expect(h.kstatus).To(Equal(status.FailedStatus))
				g.Expect(h.argo).To(Equal("Degraded"))
				g.Expect(h.argoMessage).To(HavePrefix("InvalidRule: rule feb31 is disabled"))
			}).Should(Succeed())
			// fixed: healthy again
			stuck.Spec.AutoTopUp = nil
			Expect(k8sClient.Update(ctx(), stuck)).To(Succeed())
			Eventually(func() status.Status { return healthOf(stuck).kstatus }).Should(Equal(status.CurrentStatus))
			Expect(healthOf(stuck).argo).To(Equal("Healthy"))

			// terminated, as the spec asks: reconciled, so Current/Healthy
			Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(w), w)).To(Succeed())
			w.Spec.Terminated = true
			Expect(k8sClient.Update(ctx(), w)).To(Succeed())
			Eventually(func() string { return healthOf(w).argoMessage }).Should(HavePrefix("Terminated, balance 0 credits"))
			Expect(healthOf(w).kstatus).To(Equal(status.CurrentStatus))
		})
	})
}
