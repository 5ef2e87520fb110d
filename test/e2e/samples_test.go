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
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/walletop/wallet-operator/internal/localcluster"
)

var _ = Describe("samples", Ordered, func() {
	It("apply cleanly and re-apply without change", func() {
		kubectl("apply", "-k", "config/samples")
		out := kubectl("apply", "-k", "config/samples")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			Expect(line).To(HaveSuffix(" unchanged"), "re-applying the samples changed something:\n%s", out)
		}
	})

	It("list with the printer columns", func() {
		out := kubectl("get", "wallets", "-n", "team-a")
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal(
			[]string{"NAME", "CURRENCY", "BALANCE", "PAID", "GRANTED", "STATUS", "AGE"}))
		Expect(out).To(MatchRegexp(`(?m)^main\s+USD\s`))

		out = kubectl("get", "wtx", "-n", "team-a")
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal(
			[]string{"NAME", "WALLET", "TYPE", "CREDITS", "PHASE", "AGE"}))
		Expect(out).To(MatchRegexp(`(?m)^void-promo-excess\s+main\s+Void\s`))
		Expect(out).To(MatchRegexp(`(?m)^usage-chat-0001\s+main\s+Debit\s`))

		// The category groups both kinds.
		out = kubectl("get", "billing", "-n", "team-a", "-o", "name")
		Expect(out).To(ContainSubstring("wallet.billing.walletop.io/main"))
		Expect(out).To(ContainSubstring("wallettransaction.billing.walletop.io/refill-2026-11"))
	})

	It("refuses a bad manifest through kubectl with a clear message", func() {
		bad := filepath.Join(GinkgoT().TempDir(), "bad.yaml")
		Expect(os.WriteFile(bad, []byte(`apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: e2e-bad, namespace: team-a}
spec:
  walletRef: {name: main}
  type: Debit
  credits: "-5"
`), 0o600)).To(Succeed())
		out, err := kubectlErr("apply", "-f", bad)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("origin is required for type Debit"))
		Expect(out).To(ContainSubstring("credits must be greater than zero"))
		out, err = kubectlErr("get", "wtx", "e2e-bad", "-n", "team-a")
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("NotFound"))
	})

	It("keeps its data across a restart of the local control plane", func() {
		if local == nil {
			Skip("only for the local control plane (E2E_KUBECONFIG is set)")
		}
		Expect(local.Stop()).To(Succeed())
		var err error
		local, err = localcluster.Start(localOpts)
		Expect(err).NotTo(HaveOccurred())
		kubeconfig = local.Kubeconfig
		out := kubectl("get", "wtx", "-n", "team-a", "-o", "name")
		Expect(strings.Fields(out)).To(HaveLen(5))
	})
})
