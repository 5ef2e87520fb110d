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
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/walletop/wallet-operator/internal/localcluster"
)

var _ = Describe("the operator killed mid-run", Ordered, func() {
	const ns, debits = "e2e-crash", 300
	dir := ""
	manifest := func(name, body string) string {
		GinkgoHelper()
		path := filepath.Join(dir, name+".yaml")
		Expect(os.WriteFile(path, []byte(body), 0o600)).To(Succeed())
		return path
	}
	phases := func() []string {
		out, _ := kubectlErr("get", "wtx", "-n", ns, "-o", `jsonpath={range .items[*]}{.status.phase}{"\n"}{end}`)
		return strings.Fields(out)
	}
	settled := func() int {
		n := 0
		for _, p := range phases() {
			if p == "Settled" {
				n++
			}
		}
		return n
	}
	walletStatus := func() string {
		out, _ := kubectlErr("get", "wallet", "main", "-n", ns, "-o", "jsonpath={.status.balance}/{.status.ledgerSequence}")
		return out
	}

	It("loses and doubles nothing", func() {
		dir = GinkgoT().TempDir()
		kubectl("apply", "-f", manifest("wallet", fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %[1]s}
---
apiVersion: billing.walletop.io/v1alpha1
kind: Wallet
metadata: {name: main, namespace: %[1]s}
spec: {currency: USD, rate: "0.01"}
---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: purchase, namespace: %[1]s}
spec: {walletRef: {name: main}, type: TopUp, paidCredits: "1000"}
`, ns)))
		Eventually(settled).WithTimeout(60 * time.Second).Should(Equal(1))
		var before int64
		Eventually(func() (err error) {
			parts := strings.Split(walletStatus(), "/")
			if len(parts) != 2 || parts[0] != "1000" {
				return fmt.Errorf("wallet status %v", parts)
			}
			before, err = strconv.ParseInt(parts[1], 10, 64)
			return err
		}).WithTimeout(30 * time.Second).Should(Succeed())

		var b strings.Builder
		for i := range debits {
			fmt.Fprintf(&b, `---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: usage-%03d, namespace: %s}
spec: {walletRef: {name: main}, type: Debit, credits: "1.5", origin: api, endpoint: /v1/embeddings}
`, i, ns)
		}
		usage := manifest("usage", b.String())
		applied := make(chan string, 1)
		go func() {
			defer GinkgoRecover()
			out, err := kubectlErr("apply", "-f", usage)
			Expect(err).NotTo(HaveOccurred(), out)
			applied <- out
		}()

		// kill the operator as soon as it applies debits, while kubectl is
		// still creating them
		Eventually(settled).WithTimeout(60 * time.Second).WithPolling(10 * time.Millisecond).Should(BeNumerically(">=", 2))
		if local != nil {
			operator.Kill()
			atKill := settled()
			GinkgoWriter.Printf("killed the operator with %d of %d transactions settled\n", atKill, 1+debits)
			Expect(atKill).To(BeNumerically("<", 1+debits), "the operator was killed after the run, which proves nothing")
			var err error
			operator, err = local.StartOperator(context.Background(), operatorOpts)
			Expect(err).NotTo(HaveOccurred())
		} else {
			kubectl("delete", "pod", "-n", localcluster.OperatorNamespace, "-l", "app.kubernetes.io/component=controller-manager",
				"--force", "--grace-period=0")
		}
		Eventually(applied).WithTimeout(2 * time.Minute).Should(Receive())

		Eventually(settled).WithTimeout(3 * time.Minute).Should(Equal(1 + debits))
		Expect(phases()).To(HaveLen(1 + debits))
		// 1000 - 300 x 1.5, and exactly one ledger entry per debit
		want := fmt.Sprintf("550/%d", before+debits)
		Eventually(walletStatus).WithTimeout(30 * time.Second).Should(Equal(want))
		out := kubectl("get", "wtx", "-n", ns, "-o", `jsonpath={range .items[*]}{.status.transactionID}{"\n"}{end}`)
		ids := map[string]bool{}
		for _, id := range strings.Fields(out) {
			ids[id] = true
		}
		Expect(ids).To(HaveLen(1 + debits))

		// applying the same manifests again changes nothing
		Expect(kubectl("apply", "-f", usage)).NotTo(ContainSubstring("configured"))
		Consistently(walletStatus).WithTimeout(3 * time.Second).Should(Equal(want))
	})

	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", ns, "--wait=false")
	})
})
