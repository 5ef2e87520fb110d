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

package e2e

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("previews", Ordered, func() {
	const ns = "e2e-preview"
	AfterAll(func() { _, _ = kubectlErr("delete", "namespace", ns, "--wait=false") })

	It("answers kubectl create -f preview.yaml -o yaml with the grants a debit would draw, writing nothing", func() {
		fundedWallet(ns, "10")
		file := fmt.Sprintf("%s/preview.yaml", GinkgoT().TempDir())
		Expect(writeFile(file, fmt.Sprintf(`apiVersion: reports.walletop.io/v1alpha1
kind: Preview
metadata: {namespace: %s}
spec: {wallet: main, type: Debit, credits: "4", origin: api}
`, ns))).To(Succeed())
		out := kubectl("create", "-f", file, "-o", "yaml")
		Expect(out).To(ContainSubstring("allowed: true"))
		Expect(out).To(MatchRegexp(`balanceAfter: "6"`))
		Expect(out).To(MatchRegexp(`- category: paid\s+credits: "-4"\s+topUp: buy`))
		Expect(kubectl("get", "wallet", "main", "-n", ns, "-o", "jsonpath={.status.balance}/{.status.ledgerSequence}")).To(Equal("10/1"))
	})
})

// fundedWallet creates namespace ns with Wallet main (USD) and a TopUp
// "buy" of credits paid credits, and waits for the operator to apply it.
func fundedWallet(ns, credits string) {
	GinkgoHelper()
	_, _ = kubectlErr("create", "namespace", ns)
	applyYAML(fmt.Sprintf(`apiVersion: billing.walletop.io/v1alpha1
kind: Wallet
metadata: {name: main, namespace: %[1]s}
spec: {currency: USD}
---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: buy, namespace: %[1]s}
spec: {walletRef: {name: main}, type: TopUp, paidCredits: "%[2]s"}
`, ns, credits))
	Eventually(func() string {
		return kubectl("get", "wallet", "main", "-n", ns, "-o", "jsonpath={.status.balance}")
	}).WithTimeout(time.Minute).Should(Equal(credits))
}
