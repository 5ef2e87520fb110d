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
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

// warnings collects the API server's warnings to a client.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warnings) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n")
}

var gatingSpecs = func() {
	Describe("workloads gated by their wallet (config/gating)", Ordered, func() {
		var objs []*unstructured.Unstructured
		BeforeAll(func() {
			for _, f := range []string{"policy.yaml", "binding.yaml"} {
				b, err := os.ReadFile("../config/gating/" + f)
				Expect(err).NotTo(HaveOccurred())
				u := &unstructured.Unstructured{}
				Expect(yaml.Unmarshal(b, &u.Object)).To(Succeed())
				Expect(k8sClient.Create(ctx(), u)).To(Succeed())
				objs = append(objs, u)
			}
		})
		AfterAll(func() {
			for _, u := range objs {
				Expect(client.IgnoreNotFound(k8sClient.Delete(ctx(), u))).To(Succeed())
			}
		})
		gatedNamespace := func(wallet string) string {
			ns := newNamespace()
			n := &corev1.Namespace{}
			Expect(k8sClient.Get(ctx(), client.ObjectKey{Name: ns}, n)).To(Succeed())
			n.Labels = map[string]string{"billing.walletop.io/wallet": wallet}
			Expect(k8sClient.Update(ctx(), n)).To(Succeed())
			return ns
		}
		job := func(ns, name string) *batchv1.Job {
			return &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: batchv1.JobSpec{
				Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "work", Image: "example.invalid/work"}}}}}}
		}
		exhaust := func(ns string) {
			newWallet(ns, "main")
			newTx(ns, "buy", topUp("main", "10", ""))
			phaseOf(ns, "buy", billingv1alpha1.PhaseSettled)
			newTx(ns, "use", debit("main", "10"))
			phaseOf(ns, "use", billingv1alpha1.PhaseSettled)
			Eventually(func() string {
				c := walletCondition(ns, "main", billingv1alpha1.ConditionFunded)
				return c.Reason
			}).Should(Equal("Exhausted"))
		}

		It("refuses a Job while the wallet is exhausted, naming it and its balance, and admits it again after a top-up", func() {
			ns := gatedNamespace("main")
			exhaust(ns)
			want := fmt.Sprintf("new workloads are refused in namespace %s: wallet %s/main has no credits left: available balance 0, overdraft limit 0", ns, ns)
			Eventually(func() string { // the API server picks the policy up within a few seconds
				err := k8sClient.Create(ctx(), job(ns, "refused"), client.DryRunAll)
				if err == nil {
					return ""
				}
				return err.Error()
			}).Should(ContainSubstring(want))
			err := k8sClient.Create(ctx(), job(ns, "refused"))
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(want))
			Expect(err.Error()).To(ContainSubstring("wallet-operator-funded-workloads"))

			newTx(ns, "refill", topUp("main", "5", ""))
			phaseOf(ns, "refill", billingv1alpha1.PhaseSettled)
			Eventually(func() error { return k8sClient.Create(ctx(), job(ns, "admitted")) }).Should(Succeed())
			c := walletCondition(ns, "main", billingv1alpha1.ConditionFunded)
			Expect(c.Status).To(Equal(metav1.ConditionTrue))
			Expect(c.Message).To(Equal(fmt.Sprintf("wallet %s/main: available balance 5, overdraft limit 0", ns)))
		})

		It("leaves namespaces without the label alone, and refuses once a gated wallet is terminated", func() {
			free := newNamespace()
			exhaust(free)
			Expect(k8sClient.Create(ctx(), job(free, "free"))).To(Succeed())

			ns := gatedNamespace("main")
			newWallet(ns, "main")
			newTx(ns, "buy", topUp("main", "10", ""))
			phaseOf(ns, "buy", billingv1alpha1.PhaseSettled)
			Eventually(func() error { return k8sClient.Create(ctx(), job(ns, "before")) }).Should(Succeed())
			w := &billingv1alpha1.Wallet{}
			Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "main"}, w)).To(Succeed())
			w.Spec.Terminated = true
			Expect(k8sClient.Update(ctx(), w)).To(Succeed())
			Eventually(func() string { return walletCondition(ns, "main", billingv1alpha1.ConditionFunded).Reason }).Should(Equal("Terminated"))
			Eventually(func() string {
				err := k8sClient.Create(ctx(), job(ns, "after"))
				if err == nil {
					return ""
				}
				return err.Error()
			}).Should(ContainSubstring(fmt.Sprintf("wallet %s/main is terminated: it takes no more debits", ns)))
			// the Job admitted before is untouched
			Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "before"}, &batchv1.Job{})).To(Succeed())
		})

		It("only warns with validationActions [Warn]", func() {
			binding := objs[1]
			Expect(k8sClient.Get(ctx(), client.ObjectKeyFromObject(binding), binding)).To(Succeed())
			Expect(unstructured.SetNestedStringSlice(binding.Object, []string{"Warn"}, "spec", "validationActions")).To(Succeed())
			Expect(k8sClient.Update(ctx(), binding)).To(Succeed())
			DeferCleanup(func() { // back to Deny, unless AfterAll has removed it already
				if err := k8sClient.Get(ctx(), client.ObjectKeyFromObject(binding), binding); err != nil {
					Expect(client.IgnoreNotFound(err)).To(Succeed())
					return
				}
				Expect(unstructured.SetNestedStringSlice(binding.Object, []string{"Deny"}, "spec", "validationActions")).To(Succeed())
				Expect(k8sClient.Update(ctx(), binding)).To(Succeed())
			})
			ns := gatedNamespace("main")
			exhaust(ns)
			warned := &warnings{}
			wcfg := rest.CopyConfig(cfg)
			wcfg.WarningHandler = warned
			wc, err := client.New(wcfg, client.Options{Scheme: scheme})
			Expect(err).NotTo(HaveOccurred())
			Eventually(func() string {
				_ = wc.Create(ctx(), job(ns, fmt.Sprintf("warned-%d", len(warned.all()))), client.DryRunAll)
				return warned.all()
			}).Should(ContainSubstring("has no credits left"))
			Expect(wc.Create(ctx(), job(ns, "warned"))).To(Succeed())
		})
	})
}
