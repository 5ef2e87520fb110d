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
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

var _ = Describe("runway", Ordered, func() {
	const ns = "e2e-runway"
	AfterAll(func() { _, _ = kubectlErr("delete", "namespace", ns, "--wait=false") })

	It("fills the Wallet's runsOutAt from recorded usage and serves the forecast", func() {
		fundedWallet(ns, "100")

		By("a week of usage at 10 a day, recorded through the reports API: 30 left, three days of runway")
		var usages strings.Builder
		now := time.Now().UTC()
		for d := range 7 {
			fmt.Fprintf(&usages, `---
apiVersion: reports.walletop.io/v1alpha1
kind: Usage
metadata: {namespace: %s}
spec: {wallet: main, credits: "10", origin: api, idempotencyKey: day-%d, timestamp: "%s"}
`, ns, d, now.Add(-time.Duration(d)*24*time.Hour-time.Hour).Format(time.RFC3339))
		}
		file := GinkgoT().TempDir() + "/usages.yaml"
		Expect(writeFile(file, usages.String())).To(Succeed())
		kubectl("create", "-f", file)

		// the operator forecasts at most once a minute
		var runsOut time.Time
		Eventually(func() error {
			s := kubectl("get", "wallet", "main", "-n", ns, "-o", "jsonpath={.status.runsOutAt}")
			var err error
			runsOut, err = time.Parse(time.RFC3339, s)
			return err
		}).WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(Succeed())
		Expect(runsOut).To(BeTemporally("~", now.Add(72*time.Hour), 5*time.Minute))
		date := runsOut.Format(time.RFC3339)

		Expect(kubectl("get", "wallets", "-n", ns)).To(MatchRegexp(`main\s+USD\s+30\s+30\s+0\s+` + date + `\s+Active`))
		Expect(kubectl("get", "balances", "-n", ns)).To(MatchRegexp(`main\s+USD\s+30\s+30\s+0\s+0\s+<none>\s+` + date))
		Expect(kubectl("get", "forecast", "main", "-n", ns)).To(MatchRegexp(`main\s+USD\s+30\s+10\s+\S+\s+90\s+168h`))
		csv := kubectl("get", "--raw", "/apis/reports.walletop.io/v1alpha1/namespaces/"+ns+"/forecasts/main?format=csv&days=4")
		Expect(strings.Split(strings.TrimSpace(csv), "\n")).To(HaveLen(5))
	})
})
