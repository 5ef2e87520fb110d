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
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metricsql"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/yaml"

	"github.com/walletop/wallet-operator/internal/testenv"
)

// The Grafana dashboard cannot drift from the operator: every metric its
// queries name is one a running operator exports, scraped as Prometheus
// would (HTTPS, a ServiceAccount token bound to the metrics-reader role).
var _ = Describe("Grafana dashboard", Ordered, func() {
	const ns = "e2e-monitoring"
	BeforeAll(func() {
		if local == nil {
			Skip("scrapes the operator process's metrics port: local control plane only")
		}
	})
	AfterAll(func() {
		_, _ = kubectlErr("delete", "namespace", ns, "--wait=false")
		_, _ = kubectlErr("delete", "clusterrolebinding", "e2e-monitoring-scraper")
	})

	It("names only metrics the operator exports, in queries Prometheus parses", func() {
		queries := dashboardQueries(filepath.Join(root, "config", "grafana", "wallet-operator.json"))
		Expect(len(queries)).To(BeNumerically(">=", 12))

		By("Prometheus's own parser: promtool check rules on every query as a recording rule")
		promtool, err := testenv.Promtool()
		if err != nil {
			testenv.Missing(err, func(m string) { Skip(m) }, func(m string) { Fail(m) })
		}
		var rules []map[string]string
		for i, q := range queries {
			rules = append(rules, map[string]string{"record": fmt.Sprintf("dashboard:query_%d", i), "expr": q})
		}
		b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
		Expect(err).NotTo(HaveOccurred())
		file := filepath.Join(GinkgoT().TempDir(), "dashboard-rules.yaml")
		Expect(os.WriteFile(file, b, 0o600)).To(Succeed())
		out, err := exec.Command(promtool, "check", "rules", file).CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "promtool check rules:\n%s", out)

		By("the metrics the queries name")
		want := map[string]bool{}
		for _, q := range queries {
			e, err := metricsql.Parse(q)
			Expect(err).NotTo(HaveOccurred(), q)
			metricsql.VisitAll(e, func(x metricsql.Expr) {
				if m, ok := x.(*metricsql.MetricExpr); ok {
					for _, group := range m.LabelFilterss {
						for _, f := range group {
							if f.Label == "__name__" {
								want[f.Value] = true
							}
						}
					}
				}
			})
		}
		Expect(want).To(HaveKey("wallet_operator_credits_debited_total"))

		By("activity that makes every series appear: top-ups, debits, an auto top-up, a failure, a pending transaction, a reports API read")
		_, _ = kubectlErr("create", "namespace", ns)
		applyYAML(fmt.Sprintf(`apiVersion: billing.walletop.io/v1alpha1
kind: Wallet
metadata: {name: main, namespace: %[1]s}
spec:
  currency: USD
  lowBalanceThreshold: "50"
  overdraftLimit: "5"
  autoTopUp:
  - {name: refill, trigger: Threshold, thresholdCredits: "5", method: Fixed, grantedCredits: "10"}
---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: buy, namespace: %[1]s}
spec: {walletRef: {name: main}, type: TopUp, paidCredits: "20"}
---
apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: early, namespace: %[1]s}
spec: {walletRef: {name: later}, type: TopUp, grantedCredits: "1"}
`, ns))
		// the wallet seen above the rule's threshold arms it; the debit then crosses it
		Eventually(func() string {
			return kubectl("get", "wallet", "main", "-n", ns, "-o", "jsonpath={.status.balance}/{.status.autoTopUp[0].armed}")
		}).WithTimeout(time.Minute).Should(Equal("20/true"))
		applyYAML(fmt.Sprintf(`apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: use, namespace: %[1]s}
spec: {walletRef: {name: main}, type: Debit, credits: "18", origin: api, endpoint: /v1/chat}
`, ns))
		Eventually(func() string {
			return kubectl("get", "wallet", "main", "-n", ns, "-o", "jsonpath={.status.autoTopUp[0].count}")
		}).WithTimeout(time.Minute).Should(Equal("1"))
		applyYAML(fmt.Sprintf(`apiVersion: billing.walletop.io/v1alpha1
kind: WalletTransaction
metadata: {name: too-much, namespace: %[1]s}
spec: {walletRef: {name: main}, type: Debit, credits: "1000", origin: api}
`, ns))
		Eventually(func() string {
			return kubectl("get", "wallettransaction", "too-much", "-n", ns, "-o", "jsonpath={.status.phase}")
		}).WithTimeout(time.Minute).Should(Equal("Failed"))
		kubectl("get", "balances", "-n", ns)

		By("scraping /metrics with a token of a ServiceAccount bound to wallet-operator-metrics-reader")
		_, _ = kubectlErr("create", "serviceaccount", "scraper", "-n", ns)
		_, _ = kubectlErr("create", "clusterrolebinding", "e2e-monitoring-scraper", "--clusterrole=wallet-operator-metrics-reader",
			"--serviceaccount="+ns+":scraper")
		token := strings.TrimSpace(kubectl("create", "token", "scraper", "-n", ns))
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the metrics server's self-signed certificate
		var missing []string
		Eventually(func(g Gomega) {
			req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("https://127.0.0.1:%d/metrics", operator.MetricsPort), nil)
			g.Expect(err).NotTo(HaveOccurred())
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := hc.Do(req)
			g.Expect(err).NotTo(HaveOccurred())
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(resp.StatusCode).To(Equal(http.StatusOK), "%s", body)
			have := sampleNames(string(body))
			missing = missing[:0]
			for name := range want {
				if !have[name] {
					missing = append(missing, name)
				}
			}
			sort.Strings(missing)
			g.Expect(missing).To(BeEmpty(), "the dashboard names metrics the operator does not export")
		}).WithTimeout(time.Minute).Should(Succeed())
	})
})

// dashboardQueries returns the PromQL of every panel target and variable of
// a Grafana dashboard, with Grafana's variables replaced by values PromQL
// accepts.
func dashboardQueries(path string) []string {
	GinkgoHelper()
	b, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	var d struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
		Templating struct {
			List []struct {
				Definition string `json:"definition"`
			} `json:"list"`
		} `json:"templating"`
	}
	Expect(json.Unmarshal(b, &d)).To(Succeed())
	vars := strings.NewReplacer("$__rate_interval", "5m", "${datasource}", "", "$namespace", ".*", "$wallet", ".*")
	labelValues := regexp.MustCompile(`^label_values\((.+), *\w+\)$`)
	var qs []string
	for _, p := range d.Panels {
		Expect(p.Targets).NotTo(BeEmpty(), "panel %q has no query", p.Title)
		for _, t := range p.Targets {
			Expect(t.Expr).NotTo(BeEmpty(), "panel %q", p.Title)
			qs = append(qs, vars.Replace(t.Expr))
		}
	}
	for _, v := range d.Templating.List {
		if m := labelValues.FindStringSubmatch(v.Definition); m != nil {
			qs = append(qs, vars.Replace(m[1]))
		}
	}
	return qs
}

// sampleNames reads the names of the samples in a text exposition.
func sampleNames(text string) map[string]bool {
	names := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	return names
}
