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
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

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
			[]string{"NAME", "CURRENCY", "BALANCE", "PAID", "GRANTED", "RUNS", "OUT", "STATUS", "AGE"}))
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

	It("settle to the balance the ledger rules imply", func() {
		// 10000 paid + 500 promo granted + 2500 refill granted, 100 promo voided,
		// 42.5 used (granted credits before paid): 10000 paid + 2857.5 granted.
		Eventually(func() string {
			out, _ := kubectlErr("get", "wallet", "main", "-n", "team-a", "-o", "jsonpath={.status.balance}/{.status.paidBalance}/{.status.grantedBalance}")
			return out
		}).WithTimeout(60 * time.Second).Should(Equal("12857.5/10000/2857.5"))
		out := kubectl("get", "wtx", "-n", "team-a", "-o", "jsonpath={range .items[*]}{.status.phase}{\"\\n\"}{end}")
		Expect(strings.Fields(out)).To(ConsistOf("Settled", "Settled", "Settled", "Settled", "Settled"))
	})

	It("serve balances, consumption reports (JSON and CSV) and history through the reports API", func() {
		out := kubectl("get", "balances", "-n", "team-a")
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])[:3]).To(Equal([]string{"WALLET", "CURRENCY", "BALANCE"}))
		Expect(out).To(MatchRegexp(`(?m)^main\s+USD\s+12857.5\s+10000\s+2857.5\s+0\s`))

		var report struct {
			Totals struct {
				Debited, Credited, Removed string
				Debits                     int
			}
		}
		raw := kubectl("get", "--raw", "/apis/reports.walletop.io/v1alpha1/namespaces/team-a/consumptionreports/main?groupBy=day")
		Expect(json.Unmarshal([]byte(raw), &report)).To(Succeed())
		Expect(report.Totals.Debited).To(Equal("42.5"))
		Expect(report.Totals.Debits).To(Equal(1))
		Expect(report.Totals.Credited).To(Equal("13000"))
		Expect(report.Totals.Removed).To(Equal("100"))

		csv := kubectl("get", "--raw", "/apis/reports.walletop.io/v1alpha1/namespaces/team-a/consumptionreports/main?format=csv")
		lines := strings.Split(strings.TrimSpace(csv), "\n")
		Expect(lines[0]).To(HavePrefix("transaction_id,sequence,timestamp,"))
		Expect(len(lines)).To(BeNumerically(">=", 6)) // one row per ledger entry

		out = kubectl("get", "transactions", "-n", "team-a", "--field-selector", "wallet=main,type=debit", "--chunk-size=100")
		Expect(out).To(MatchRegexp(`(?m)\sdebit\s+settled\s+-42.5\s`))
		_, err := kubectlErr("get", "--raw", "/apis/reports.walletop.io/v1alpha1/namespaces/team-a/consumptionreports/main?groupBy=fortnight")
		Expect(err).To(HaveOccurred())
	})

	It("keeps its data across a restart of the local control plane", func() {
		if local == nil {
			Skip("only for the local control plane (E2E_KUBECONFIG is set)")
		}
		Expect(operator.Stop()).To(Succeed())
		Expect(local.Stop()).To(Succeed())
		var err error
		local, err = localcluster.Start(localOpts)
		Expect(err).NotTo(HaveOccurred())
		kubeconfig = local.Kubeconfig
		out := kubectl("get", "wtx", "-n", "team-a", "-o", "name")
		Expect(strings.Fields(out)).To(HaveLen(5))
		operator, err = local.StartOperator(context.Background(), operatorOpts)
		Expect(err).NotTo(HaveOccurred())
		out = kubectl("get", "balances", "-n", "team-a")
		Expect(out).To(MatchRegexp(`(?m)^main\s+USD\s+12857.5\s`))
	})
})
