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
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/walletop/wallet-operator/internal/localcluster"
	"github.com/walletop/wallet-operator/internal/testenv"
)

// These specs start operator processes of their own: local control plane only.
var _ = Describe("operator processes", Ordered, func() {
	BeforeAll(func() {
		if local == nil {
			Skip("starts operator processes next to the local control plane")
		}
	})

	It("refuses a second writer on the same SQLite ledger, naming the lock and the process that holds it", func() {
		var out testenv.SyncBuffer
		second := exec.Command(operatorOpts.Binary, "--kubeconfig", kubeconfig, "--ledger", operatorOpts.Ledger,
			"--ledger-lock-wait=1s", "--health-probe-bind-address=0", "--metrics-bind-address=0", "--reports-server=false")
		second.Stdout, second.Stderr = io.MultiWriter(&out, GinkgoWriter), io.MultiWriter(&out, GinkgoWriter)
		Expect(second.Start()).To(Succeed())
		done := make(chan error, 1)
		go func() { done <- second.Wait() }()
		var err error
		Eventually(done).WithTimeout(30 * time.Second).Should(Receive(&err))
		Expect(err).To(HaveOccurred(), "a second operator started on a ledger another process writes")
		Expect(out.String()).To(ContainSubstring("the ledger is locked by another process"))
		Expect(out.String()).To(ContainSubstring("ledger.db.lock is held by pid %d on host", operator.PID()))
		Expect(out.String()).To(ContainSubstring("strategy Recreate"))
		// the first one writes on, unharmed
		applyYAML(`apiVersion: v1
kind: Namespace
metadata: {name: e2e-lock}
---
apiVersion: billing.walletop.io/v1alpha1
kind: Wallet
metadata: {name: main, namespace: e2e-lock}
spec: {currency: USD}
---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: grant, namespace: e2e-lock}
spec: {walletRef: {name: main}, type: TopUp, grantedCredits: "7"}
`)
		Eventually(func() string {
			out, _ := kubectlErr("get", "wallet", "main", "-n", "e2e-lock", "-o", "jsonpath={.status.balance}")
			return out
		}).WithTimeout(60 * time.Second).Should(Equal("7"))
	})

	It("stops on SIGTERM without logging an error, and logs no certificate error on start", func() {
		Expect(operator.Stop()).To(Succeed())
		var out testenv.SyncBuffer
		opts := operatorOpts
		opts.Output = io.MultiWriter(&out, GinkgoWriter)
		var err error
		operator, err = local.StartOperator(context.Background(), opts)
		Expect(err).NotTo(HaveOccurred())
		Eventually(out.String).WithTimeout(60 * time.Second).Should(ContainSubstring("Successfully acquired lease"))
		Expect(operator.Stop()).To(Succeed())
		for _, line := range strings.Split(out.String(), "\n") {
			Expect(line).NotTo(ContainSubstring(`"level":"error"`), "an error logged by a normal start and stop")
			Expect(line).NotTo(ContainSubstring("certificate signed by unknown authority"))
		}
		// released, not left to expire: nobody holds it once the process is gone
		Expect(leaseHolder(localcluster.OperatorNamespace)).To(BeEmpty(), "the Lease is released on SIGTERM")
		operator, err = local.StartOperator(context.Background(), operatorOpts)
		Expect(err).NotTo(HaveOccurred())
	})

	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", "e2e-lock", "--wait=false")
	})
})

// applyYAML applies manifests given as text.
func applyYAML(text string) {
	GinkgoHelper()
	path := fmt.Sprintf("%s/apply-%d.yaml", GinkgoT().TempDir(), time.Now().UnixNano())
	Expect(writeFile(path, text)).To(Succeed())
	kubectl("apply", "--server-side", "-f", path)
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o600) }
