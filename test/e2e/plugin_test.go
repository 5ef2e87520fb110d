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
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

// The kubectl wallet plugin, run as its binary with the suite's kubeconfig:
// every subcommand, an idempotent re-run, and refusals before and after
// anything is sent.
var _ = Describe("kubectl wallet", Ordered, func() {
	const ns = "e2e-plugin"
	var plugin string

	run := func(args ...string) (stdout, stderr string, code int) {
		GinkgoHelper()
		cmd := exec.Command(plugin, append([]string{"--kubeconfig", kubeconfig, "-n", ns}, args...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else {
			Expect(err).NotTo(HaveOccurred())
		}
		GinkgoWriter.Printf("kubectl wallet %s -> %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
		return out.String(), errOut.String(), code
	}
	ok := func(args ...string) string {
		GinkgoHelper()
		out, errOut, code := run(args...)
		Expect(code).To(BeZero(), errOut)
		return out
	}
	transactions := func() int {
		GinkgoHelper()
		out := kubectl("get", "wallettransactions", "-n", ns, "-o", "name")
		return len(strings.Fields(out))
	}

	BeforeAll(func() {
		plugin = filepath.Join(GinkgoT().TempDir(), "kubectl-wallet")
		build := exec.Command("go", "build", "-o", plugin, "./internal/kubectlwallet/kubectl-wallet")
		build.Dir = root
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "go build:\n%s", out)
		_, _ = kubectlErr("create", "namespace", ns)
		applyYAML(fmt.Sprintf(`apiVersion: billing.walletop.io/v1alpha1
kind: Wallet
metadata: {name: main, namespace: %s}
spec: {currency: USD, rate: "0.01"}
`, ns))
	})
	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", ns, "--wait=false")
	})

	settled := regexp.MustCompile(`Settled as (wtx_\S+): (\S+) credits, balance after (\S+)`)

	It("prints the WalletTransaction with --dry-run and sends nothing", func() {
		out := ok("top-up", "main", "--granted", "100", "--expires-in", "720h", "--dry-run")
		Expect(out).To(ContainSubstring("kind: WalletTransaction"))
		Expect(out).To(MatchRegexp(`name: topup-main-[0-9a-f]{10}`))
		Expect(out).To(ContainSubstring("grantedCredits: \"100\""))
		Expect(out).To(ContainSubstring("expiresAfter: 720h"))
		Expect(out).To(ContainSubstring("namespace: e2e-plugin"))
		Expect(out).NotTo(ContainSubstring("status:"))
		Expect(transactions()).To(BeZero())
	})

	It("tops up, debits, voids, adjusts and refunds, each waiting for its outcome and printing the balance after", func() {
		out := ok("top-up", "main", "--granted", "100")
		m := settled.FindStringSubmatch(out)
		Expect(m).NotTo(BeNil(), out)
		Expect(m[2:]).To(Equal([]string{"100", "100"}))
		By("the same command again: the same transaction, no second credit")
		again := settled.FindStringSubmatch(ok("top-up", "main", "--granted", "100"))
		Expect(again).To(Equal(m))
		Expect(transactions()).To(Equal(1))

		Expect(settled.FindStringSubmatch(ok("debit", "main", "--credits", "30", "--origin", "api", "--endpoint", "/v1/chat"))[2:]).
			To(Equal([]string{"-30", "70"}))
		Expect(settled.FindStringSubmatch(ok("void", "main", "--credits", "10"))[2:]).To(Equal([]string{"-10", "60"}))
		Expect(settled.FindStringSubmatch(ok("adjust", "main", "--credits", "-5", "--reason", "rounding"))[2:]).To(Equal([]string{"-5", "55"}))
		Expect(settled.FindStringSubmatch(ok("top-up", "main", "--paid", "20", "--name", "paid-1"))[2:]).To(Equal([]string{"20", "75"}))
		Expect(settled.FindStringSubmatch(ok("refund", "main", "--grant", "paid-1", "--credits", "5"))[2:]).To(Equal([]string{"-5", "70"}))

		By("-o json: the WalletTransaction as the operator left it")
		var t billingv1alpha1.WalletTransaction
		Expect(json.Unmarshal([]byte(ok("debit", "main", "--credits", "0.5", "--origin", "api", "-o", "json")), &t)).To(Succeed())
		Expect(t.Status.Phase).To(Equal(billingv1alpha1.PhaseSettled))
		Expect(t.Status.BalanceAfter).To(Equal("69.5"))
	})

	It("shows balances, history and a consumption report", func() {
		Eventually(func() string { return ok("balance", "main") }).Should(MatchRegexp(`(?m)^e2e-plugin\s+main\s+69\.5\s+15\s+54\.5\s+0\s+0\.695 USD\s+(none|unknown)\s+Active$`))
		Expect(ok("balance", "-A")).To(MatchRegexp(`(?m)^e2e-plugin\s+main\s+69\.5\s`))
		var ws []billingv1alpha1.Wallet
		Expect(json.Unmarshal([]byte(ok("balance", "-o", "json")), &ws)).To(Succeed())
		Expect(ws).To(HaveLen(1))
		Expect(ws[0].Status.Balance).To(Equal("69.5"))

		out := ok("history", "main", "--type", "debit", "--limit", "5")
		Expect(strings.Split(strings.TrimSpace(out), "\n")).To(HaveLen(3), "a header and two debits")
		Expect(out).To(MatchRegexp(`debit\s+settled\s+-30\s+70\s+api\s+/v1/chat`))
		var list reportsv1alpha1.TransactionList
		Expect(json.Unmarshal([]byte(ok("history", "main", "-o", "json")), &list)).To(Succeed())
		Expect(list.Items).To(HaveLen(7))

		By("runway: the debits are of the current hour, which the rate's window does not hold yet")
		out = ok("runway", "main", "--days", "3")
		Expect(out).To(HavePrefix("e2e-plugin/main does not run out within 3 days at 0 credits a day over the last 168h\n"))
		Expect(strings.Split(strings.TrimSpace(out), "\n")).To(HaveLen(5), "the summary, a header and three days")
		Expect(out).To(MatchRegexp(`(?m)^\S+\s+0\s+0\s+0\s+0\s+69\.5\s+0$`))
		csv := ok("runway", "main", "--days", "2", "--csv")
		Expect(strings.Split(strings.TrimSpace(csv), "\n")).To(HaveLen(3))
		Expect(csv).To(HavePrefix("start,end,consumed,unserved,topped_up,expired,available,debt,currency\n"))
		_, badDays, code := run("runway", "main", "--days", "91")
		Expect(code).NotTo(BeZero())
		Expect(badDays).To(ContainSubstring("--days 91: between 1 and 90"))

		out = ok("report", "main", "--group-by", "day")
		Expect(out).To(ContainSubstring("e2e-plugin/main debited per day"))
		Expect(out).To(MatchRegexp(`█+ 30\.5`))
		Expect(out).To(ContainSubstring("total debited 30.5 in 2 debits"))
		csv = ok("report", "main", "--csv")
		Expect(strings.Split(csv, "\n")[0]).To(ContainSubstring("type"))
		Expect(strings.Count(csv, "\ndebit,") + strings.Count(csv, ",debit,")).To(BeNumerically(">=", 2))
	})

	It("refuses malformed values before sending anything, and says why the cluster refused", func() {
		before := transactions()
		for _, c := range [][]string{
			{"top-up", "main", "--granted", "1e3"},
			{"top-up", "main", "--granted", "0.0000001"},
			{"top-up", "main", "--paid", "-4"},
			{"top-up", "main", "--granted", "5", "--expires-in", "30d"},
			{"top-up", "main", "--granted", "5", "--priority", "101"},
			{"debit", "main", "--credits", "5"},
			{"adjust", "main", "--credits", "5"},
			{"history", "main", "--limit", "1000"},
			{"balance", "--output", "table"},
		} {
			_, errOut, code := run(c...)
			Expect(code).To(Equal(2), "%v: %s", c, errOut)
			Expect(errOut).To(HavePrefix("error: "))
		}
		Expect(transactions()).To(Equal(before))

		_, errOut, code := run("top-up", "nope", "--granted", "5")
		Expect(code).To(Equal(3))
		Expect(errOut).To(ContainSubstring(`wallet "nope" not found in namespace e2e-plugin`))

		_, errOut, code = run("debit", "main", "--credits", "1000", "--origin", "api")
		Expect(code).To(Equal(1))
		Expect(errOut).To(MatchRegexp(`Failed InsufficientBalance: `))
		before++ // that one was sent, and failed

		_, errOut, code = run("top-up", "main", "--granted", "7", "--name", "paid-1")
		Expect(code).To(Equal(3))
		Expect(errOut).To(ContainSubstring("exists with another spec"))

		_, errOut, code = run("balance", "main", "--as", "nobody")
		Expect(code).To(Equal(3))
		Expect(errOut).To(ContainSubstring("no permission"))
		_, errOut, code = run("top-up", "main", "--granted", "5", "--as", "nobody")
		Expect(code).To(Equal(3))
		Expect(errOut).To(ContainSubstring("no permission"))
		Expect(transactions()).To(Equal(before))
	})
})
