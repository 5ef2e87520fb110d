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

package reports_test

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/reports"
)

// forecastSpecs run in each backend's ordered specs.
func forecastSpecs() {
	It("projects the runway with the Wallet's own rules, as JSON, a table and CSV, and shows it in balances", func() {
		Expect(ignoreExists(k8sClient.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-f"}}))).To(Succeed())
		Expect(store.OpenWallet(suiteCtx, ledger.WalletSpec{Wallet: "team-f/main", Currency: "USD", Rate: m("0.01")})).To(Succeed())
		// a week of usage at 10 a day, then 30 left: three days of runway
		now := time.Now()
		_, err := store.TopUp(suiteCtx, ledger.TopUpRequest{Wallet: "team-f/main", Key: "team-f/history", Paid: m("70"), Priority: 50})
		Expect(err).NotTo(HaveOccurred())
		for d := range 7 {
			_, err = store.Debit(suiteCtx, ledger.DebitRequest{Wallet: "team-f/main", Key: fmt.Sprintf("team-f/used-%d", d), Credits: m("10"),
				Origin: "api", Endpoint: "/v1", Timestamp: now.Add(-time.Duration(d)*24*time.Hour - time.Hour)})
			Expect(err).NotTo(HaveOccurred())
		}
		_, err = store.TopUp(suiteCtx, ledger.TopUpRequest{Wallet: "team-f/main", Key: "team-f/left", Paid: m("30"), Priority: 50})
		Expect(err).NotTo(HaveOccurred())

		var fc reportsv1alpha1.Forecast
		get(nsPath("team-f", "forecasts/main")).into(&fc)
		Expect(fc.Currency).To(Equal("USD"))
		Expect(fc.RatePerDay).To(Equal("10"))
		Expect(fc.Rates).To(Equal([]reportsv1alpha1.ForecastRate{{Origin: "api", Endpoint: "/v1", PerDay: "10"}}))
		Expect(fc.Window).To(Equal("168h"))
		Expect(fc.Days).To(HaveLen(90))
		Expect(fc.Days[2].Available).To(Equal("0"))
		Expect(fc.Days[3].Unserved).To(Equal("10"))
		Expect(fc.RunsOutAt).NotTo(BeNil())
		Expect(fc.RunsOutAt.Time).To(BeTemporally("~", fc.At.Add(72*time.Hour), time.Second))

		By("the Wallet's daily auto top-up of 10 pays for the usage")
		w := &billingv1alpha1.Wallet{ObjectMeta: metav1.ObjectMeta{Namespace: "team-f", Name: "main"}, Spec: billingv1alpha1.WalletSpec{Currency: "USD",
			AutoTopUp: []billingv1alpha1.AutoTopUpRule{{Name: "daily", Trigger: billingv1alpha1.TriggerSchedule, Schedule: "0 0 * * *",
				Method: billingv1alpha1.MethodFixed, PaidCredits: "10"}}}}
		Expect(walletClient.Create(suiteCtx, w)).To(Succeed())
		defer func() { Expect(walletClient.Delete(suiteCtx, w)).To(Succeed()) }()
		fc = reportsv1alpha1.Forecast{}
		get(nsPath("team-f", "forecasts/main") + "?days=30&window=48h").into(&fc)
		Expect(fc.Days).To(HaveLen(30))
		Expect(fc.Window).To(Equal("48h"))
		Expect(fc.RunsOutAt).To(BeNil())
		Expect(fc.Days[29].ToppedUp).To(Equal("10"))

		out, err := kubectl(adminKC, "get", "forecast", "main", "-n", "team-f")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Fields(strings.SplitN(out, "\n", 2)[0])).To(Equal([]string{"WALLET", "CURRENCY", "AVAILABLE", "RATE", "PER", "DAY", "RUNS", "OUT", "DAYS", "WINDOW"}))
		Expect(out).To(MatchRegexp(`main\s+USD\s+30\s+10\s+none\s+90\s+168h`))

		resp := get(nsPath("team-f", "forecasts/main") + "?format=csv&days=5")
		Expect(resp.code).To(Equal(http.StatusOK), string(resp.body))
		Expect(resp.header.Get("Content-Type")).To(HavePrefix("text/csv"))
		Expect(resp.header.Get("Content-Disposition")).To(Equal(`attachment; filename="team-f-main-forecast.csv"`))
		lines := strings.Split(strings.TrimSpace(string(resp.body)), "\n")
		Expect(lines).To(HaveLen(6))
		Expect(lines[0]).To(Equal(strings.Join(reports.ForecastCSVHeader, ",")))

		By("kubectl get balances shows the operator's last forecast from the Wallet's status")
		balancesRow := func() string {
			out, err := kubectl(adminKC, "get", "balances", "-n", "team-f")
			Expect(err).NotTo(HaveOccurred(), out)
			return strings.SplitN(out, "\n", 2)[1]
		}
		Expect(balancesRow()).To(MatchRegexp(`^main\s+USD\s+30\s+30\s+0\s+0\s+<none>\s+unknown\s`))
		at := metav1.NewTime(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
		w.Status.ForecastTime, w.Status.RunsOutAt = &metav1.Time{Time: time.Now()}, &at
		Expect(walletClient.Status().Update(suiteCtx, w)).To(Succeed())
		Expect(balancesRow()).To(MatchRegexp(`^main\s+USD\s+30\s+30\s+0\s+0\s+<none>\s+2030-01-02T03:04:05Z\s`))
		var b reportsv1alpha1.Balance
		get(nsPath("team-f", "balances/main")).into(&b)
		Expect(b.RunsOutAt.Time).To(BeTemporally("==", at.Time))
		w.Status.RunsOutAt = nil
		Expect(walletClient.Status().Update(suiteCtx, w)).To(Succeed())
		Expect(balancesRow()).To(MatchRegexp(`^main\s+USD\s+30\s+30\s+0\s+0\s+<none>\s+none\s`))

		By("bad options are a 400 naming the fix, an unknown wallet a 404; nothing is written")
		before, err := store.Balance(suiteCtx, "team-f/main")
		Expect(err).NotTo(HaveOccurred())
		for _, q := range []string{"days=0", "days=91", "days=x", "window=90m", "window=2161h", "window=7d", "format=xml", "from=2026-01-01"} {
			resp := get(nsPath("team-f", "forecasts/main") + "?" + q)
			Expect(resp.code).To(Equal(http.StatusBadRequest), q+": "+string(resp.body))
			Expect(resp.status().Message).To(ContainSubstring(strings.SplitN(q, "=", 2)[0]), q)
		}
		Expect(get(nsPath("team-f", "forecasts/nope")).code).To(Equal(http.StatusNotFound))
		after, err := store.Balance(suiteCtx, "team-f/main")
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Sequence).To(Equal(before.Sequence), "a forecast wrote to the ledger")
	})
}
