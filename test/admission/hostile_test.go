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

package admission

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

// Hostile input: values a tenant may send that the operator parses itself
// (schedules, time zones, durations, keys, rule numbers). Each is refused
// by the API server with the message the Go grammar gives, nothing is
// stored, and the operator's own check refuses it too: what admission
// accepts, the operator accepts.

func scheduleRule(schedule, tz string) *unstructured.Unstructured {
	tzField := ""
	if tz != "" {
		tzField = fmt.Sprintf(", timeZone: %q", tz)
	}
	return wallet(fmt.Sprintf(`{currency: EUR, autoTopUp: [{name: s, trigger: Schedule, schedule: %q%s, method: Fixed, grantedCredits: 5}]}`, schedule, tzField))
}

// goVerdict is what the operator's own check says of a stored Wallet.
func goVerdict(u *unstructured.Unstructured) error {
	b, err := json.Marshal(u.Object)
	Expect(err).NotTo(HaveOccurred())
	var w billingv1alpha1.Wallet
	Expect(json.Unmarshal(b, &w)).To(Succeed())
	return w.Validate(time.Now()).ToAggregate()
}

func goVerdictTx(u *unstructured.Unstructured) error {
	b, err := json.Marshal(u.Object)
	Expect(err).NotTo(HaveOccurred())
	var t billingv1alpha1.WalletTransaction
	Expect(json.Unmarshal(b, &t)).To(Succeed())
	return t.Validate().ToAggregate()
}

var badSchedules = map[string]string{
	"0 0 31 2 *":                  billingv1alpha1.ScheduleNeverRule,
	"0 0 30 2 *":                  billingv1alpha1.ScheduleNeverRule,
	"0 0 30,31 feb *":             billingv1alpha1.ScheduleNeverRule,
	"0 0 31 4,6,9,11 *":           billingv1alpha1.ScheduleNeverRule,
	"0 0 31 APR-JUN/2 ?":          billingv1alpha1.ScheduleNeverRule,
	"0 0 31 2/12 *":               billingv1alpha1.ScheduleNeverRule,
	"0 0 30-31 2 */1":             billingv1alpha1.ScheduleNeverRule,
	"61 * * * *":                  "schedule must be five cron fields",
	"60 * * * *":                  "schedule must be five cron fields",
	"* 24 * * *":                  "schedule must be five cron fields",
	"* * 0 * *":                   "schedule must be five cron fields",
	"* * 32 * *":                  "schedule must be five cron fields",
	"* * * 13 *":                  "schedule must be five cron fields",
	"* * * 0 *":                   "schedule must be five cron fields",
	"* * * * 7":                   "schedule must be five cron fields",
	"* * * * 8":                   "schedule must be five cron fields",
	"a b c d e":                   "schedule must be five cron fields",
	"* * * * * *":                 "schedule must be five cron fields",
	"* * * *":                     "schedule must be five cron fields",
	"":                            "schedule must be five cron fields",
	"@every 1h":                   "schedule must be five cron fields",
	"@reboot":                     "schedule must be five cron fields",
	"@Monthly":                    "schedule must be five cron fields",
	"*/0 * * * *":                 "schedule must be five cron fields",
	"*/100 * * * *":               "schedule must be five cron fields",
	"-5 * * * *":                  "schedule must be five cron fields",
	"+5 * * * *":                  "schedule must be five cron fields",
	"5- * * * *":                  "schedule must be five cron fields",
	"1-2-3 * * * *":               "schedule must be five cron fields",
	"1//2 * * * *":                "schedule must be five cron fields",
	"1,,2 * * * *":                "schedule must be five cron fields",
	",1 * * * *":                  "schedule must be five cron fields",
	"*-5 * * * *":                 "schedule must be five cron fields",
	"0 0 * JANUARY *":             "schedule must be five cron fields",
	"0 0 * * MONDAY":              "schedule must be five cron fields",
	"0 0 * * L":                   "schedule must be five cron fields",
	"0 0 L * *":                   "schedule must be five cron fields",
	"0 0 1W * *":                  "schedule must be five cron fields",
	"0 0 * * 1#2":                 "schedule must be five cron fields",
	"0  6 1 * *":                  "schedule must be five cron fields",
	" 0 6 1 * *":                  "schedule must be five cron fields",
	"0\t6 1 * *":                  "schedule must be five cron fields",
	"0 6 1 * *\n":                 "schedule must be five cron fields",
	"30-10 * * * *":               billingv1alpha1.ScheduleRangeRule,
	"0 20-5 * * *":                billingv1alpha1.ScheduleRangeRule,
	"0 0 * DEC-JAN *":             billingv1alpha1.ScheduleRangeRule,
	"0 0 * * FRI-MON":             billingv1alpha1.ScheduleRangeRule,
	"0 0 * * 6-0":                 billingv1alpha1.ScheduleRangeRule,
	"TZ=UTC 0 6 * * *":            "do not put a time zone in schedule",
	"CRON_TZ=Europe/Paris @daily": "do not put a time zone in schedule",
}

var goodSchedules = []string{
	"0 6 1 * *", "@monthly", "@yearly", "@annually", "@weekly", "@daily", "@midnight", "@hourly",
	"*/15 * * * *", "0 9-17 * * MON-FRI", "0 0 29 2 *", "0 0 31 1,3 *", "0 0 31 2 1", "0 0 31 2 */2",
	"0 0 30 2,3 *", "5/10 * * * *", "0 0 1 jan,JUL *", "59 23 31 12 6", "0 0 * * SUN", "0 0 ? * ?", "00 06 01 01 0",
	"0 0 30 2 1-5", "0 0 31 2-3 *", "0 0 31 */2 *",
}

var badTimeZones = []string{"Mars/Olympus", "UTC+5", "GMT+05:00", "Local", "europe/paris", "Europe/Pariss", "EST5", "../etc/passwd", "Europe//Paris", "+05"}

var badDurations = map[string]string{
	"abc": "", "30d": "", "-720h": "", "0h": "", "0s": "", "1w": "", "720": "", "1h30": "", "1.h": "", ".5h": "",
	"1m1h": "", "9999999h": "", "1e3h": "", "720H": "", " 720h": "", "1h 30m": "", "100ms": "", "1us": "", "P30D": "",
}

var _ = Describe("hostile input", func() {
	BeforeEach(func() {
		err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		Expect(client.IgnoreAlreadyExists(err)).To(Succeed())
	})

	It("refuses every schedule the operator cannot run, with the rule's message, and the operator's check agrees", func() {
		for s, want := range badSchedules {
			obj := scheduleRule(s, "")
			err := k8sClient.Create(ctx, obj)
			expectRefused(obj, err, want)
			expectNotStored(obj)
			_, goErr := billingv1alpha1.ParseSchedule(s, nil, time.Now())
			if !strings.Contains(want, "time zone") && !strings.ContainsAny(s, "\t\n") && !strings.Contains(s, "  ") && !strings.HasPrefix(s, " ") {
				Expect(goErr).To(HaveOccurred(), "the operator accepts %q, which admission refuses", s)
			}
		}
	})

	It("accepts every schedule the operator runs, and the operator finds a next time for it", func() {
		for _, s := range goodSchedules {
			obj := scheduleRule(s, "Europe/Paris")
			Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed(), "schedule %q", s)
			Expect(goVerdict(obj)).To(Succeed(), "schedule %q", s)
		}
	})

	It("agrees with the operator on 600 random schedules", func() {
		r := rand.New(rand.NewPCG(1, 2))
		pick := func(xs ...string) string { return xs[r.IntN(len(xs))] }
		item := func(max int, names ...string) string {
			v := func() string {
				if len(names) > 0 && r.IntN(4) == 0 {
					return pick(names...)
				}
				return fmt.Sprint(r.IntN(max + 3))
			}
			base := pick("*", "?", v(), v()+"-"+v())
			if r.IntN(3) == 0 {
				base += "/" + fmt.Sprint(r.IntN(14))
			}
			return base
		}
		field := func(max int, names ...string) string {
			parts := []string{item(max, names...)}
			for r.IntN(3) == 0 {
				parts = append(parts, item(max, names...))
			}
			return strings.Join(parts, ",")
		}
		months := []string{"jan", "FEB", "apr", "Jun", "sep", "nov", "dec"}
		days := []string{"sun", "MON", "fri", "Sat"}
		agree, refused := 0, 0
		for range 600 {
			dom := field(31)
			if r.IntN(2) == 0 {
				dom = pick("30", "31", "30,31", "31/3", "30-31", "29-31/2")
			}
			s := strings.Join([]string{field(59), field(23), dom, field(12, months...), field(6, days...)}, " ")
			obj := scheduleRule(s, "")
			apiErr := k8sClient.Create(ctx, obj, client.DryRunAll)
			goErr := goVerdict(obj)
			Expect(apiErr == nil).To(Equal(goErr == nil), "schedule %q: admission says %v, the operator says %v", s, apiErr, goErr)
			agree++
			if apiErr != nil {
				refused++
			}
		}
		GinkgoWriter.Printf("600 random schedules: %d refused by both, %d accepted by both\n", refused, agree-refused)
		Expect(refused).To(BeNumerically(">", 50))
		Expect(agree - refused).To(BeNumerically(">", 50))
	})

	It("refuses time zones that are not IANA names, and accepts every name the operator loads", func() {
		for _, tz := range badTimeZones {
			obj := scheduleRule("@daily", tz)
			err := k8sClient.Create(ctx, obj)
			expectRefused(obj, err, "timeZone must be an IANA time zone name")
			expectNotStored(obj)
			_, goErr := billingv1alpha1.TimeZone(tz).Location()
			Expect(goErr).To(HaveOccurred(), "the operator loads %q, which admission refuses", tz)
		}
		for _, tz := range []string{"UTC", "Europe/Paris", "America/Argentina/Buenos_Aires", "Etc/GMT-5", "Asia/Kolkata", "US/Pacific"} {
			obj := scheduleRule("@daily", tz)
			Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed(), tz)
			Expect(goVerdict(obj)).To(Succeed(), tz)
		}
	})

	It("refuses durations the operator cannot read, on a TopUp and on an auto top-up rule", func() {
		for d := range badDurations {
			for _, obj := range []*unstructured.Unstructured{
				wtx(validTopUp + fmt.Sprintf("expiresAfter: %q", d)),
				wallet(fmt.Sprintf(`{currency: EUR, autoTopUp: [{name: t, trigger: Threshold, thresholdCredits: 5, method: Fixed, grantedCredits: 5, grantExpiresAfter: %q}]}`, d)),
			} {
				err := k8sClient.Create(ctx, obj)
				expectRefused(obj, err, billingv1alpha1.DurationRule)
				expectNotStored(obj)
			}
			_, goErr := billingv1alpha1.Duration(d).Parse()
			Expect(goErr).To(HaveOccurred(), "the operator reads %q, which admission refuses", d)
		}
		for _, d := range []string{"720h", "1h30m", "1.5h", "720h0m0s", "90m", "45s", "999999h"} {
			obj := wtx(validTopUp + fmt.Sprintf("expiresAfter: %q", d))
			Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed(), d)
			Expect(goVerdictTx(obj)).To(Succeed(), d)
		}
	})

	It("refuses idempotency keys in the usage and ledger key spaces", func() {
		for _, k := range []string{"usage:req-x", "usage:", "expire:1", "repay:1", "settle:1", "usage:usage:x"} {
			obj := wtx(validTopUp + fmt.Sprintf("idempotencyKey: %q", k))
			err := k8sClient.Create(ctx, obj)
			expectRefused(obj, err, "idempotencyKey must not start with usage:, expire:, repay: or settle:")
			expectNotStored(obj)
			Expect(goVerdictTx(obj)).To(HaveOccurred(), k)
		}
		for _, k := range []string{"Usage:x", "my-usage:x", "order-1", "team-a/x"} {
			obj := wtx(validTopUp + fmt.Sprintf("idempotencyKey: %q", k))
			Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed(), k)
			Expect(goVerdictTx(obj)).To(Succeed(), k)
		}
	})

	It("refuses a Target rule whose target is not above its threshold, naming both fields", func() {
		for _, nums := range [][2]string{{"500", "100"}, {"100", "100"}, {`"100.000001"`, `"100"`}, {"0", "0"}, {`"999999999999.999999"`, "1"}} {
			obj := wallet(fmt.Sprintf(`{currency: EUR, autoTopUp: [{name: t, trigger: Threshold, thresholdCredits: %s, method: Target, targetBalance: %s}]}`, nums[0], nums[1]))
			err := k8sClient.Create(ctx, obj)
			expectRefused(obj, err, "targetBalance must be greater than thresholdCredits")
			expectNotStored(obj)
			Expect(goVerdict(obj)).To(HaveOccurred(), "%v", nums)
		}
		obj := wallet(`{currency: EUR, autoTopUp: [{name: t, trigger: Threshold, thresholdCredits: "99.999999", method: Target, targetBalance: 100}]}`)
		Expect(k8sClient.Create(ctx, obj, client.DryRunAll)).To(Succeed())
		Expect(goVerdict(obj)).To(Succeed())
	})

	It("refuses amounts that are not exact decimals", func() {
		for _, v := range []string{"12.5", `"1e3"`, `"2.00000000000000001"`, "-0", `"1E3"`, `".inf"`, "Infinity", "NaN", "true", "[1]", "{a: 1}", `"1,000"`, `" 5"`} {
			obj := wtx(fmt.Sprintf("walletRef: {name: main}\ntype: TopUp\ngrantedCredits: %s", v))
			err := k8sClient.Create(ctx, obj)
			Expect(err).To(HaveOccurred(), "grantedCredits: %s accepted", v)
			expectNotStored(obj)
		}
	})

	It("stores what the client sent: an unquoted 1e3 or 2.00000000000000001 arrives already rounded by the YAML reader", func() {
		for v, stored := range map[string]string{"1e3": "1000", "2.00000000000000001": "2"} {
			obj := wtx(fmt.Sprintf("walletRef: {name: main}\ntype: TopUp\ngrantedCredits: %s", v))
			Expect(k8sClient.Create(ctx, obj)).To(Succeed())
			typed := &billingv1alpha1.WalletTransaction{}
			Expect(k8sClient.Get(ctx, client.ObjectKeyFromObject(obj), typed)).To(Succeed())
			Expect(string(typed.Spec.GrantedCredits)).To(Equal(stored), "%s", v)
		}
	})
})
