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
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
	"github.com/walletop/wallet-operator/internal/reports"
)

func m(s string) money.Micros { return money.MustParse(s) }

var _ = Describe("Reports API through the kube-apiserver", func() {
	Describe("on SQLite", Ordered, func() { reportSpecs(func() ledger.Store { return sqliteLedger }) })
	Describe("on PostgreSQL", Ordered, func() { reportSpecs(func() ledger.Store { return pgLedger }) })
})

// ignoreExists lets the second backend's run create what the first created.
func ignoreExists(err error) error {
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

func reportSpecs(backend func() ledger.Store) {
	var (
		start  time.Time // before the debits
		nDebit = 250
	)

	BeforeAll(func() {
		if backend() == nil {
			Skip("PostgreSQL is not available (CI=true makes this a failure)")
		}
		store.Store = backend()
		for _, ns := range []string{"team-a", "team-b"} {
			Expect(ignoreExists(k8sClient.Create(suiteCtx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}))).To(Succeed())
		}
		ctx := suiteCtx
		Expect(store.OpenWallet(ctx, ledger.WalletSpec{Wallet: "team-a/main", Currency: "USD", Rate: m("0.01")})).To(Succeed())
		Expect(store.OpenWallet(ctx, ledger.WalletSpec{Wallet: "team-a/spare", Currency: "EUR", Rate: m("1")})).To(Succeed())
		Expect(store.OpenWallet(ctx, ledger.WalletSpec{Wallet: "team-b/main", Currency: "USD", Rate: m("0.01")})).To(Succeed())
		_, err := store.TopUp(ctx, ledger.TopUpRequest{Wallet: "team-a/main", Key: "card-1", Paid: m("1000"), Priority: 50, Payment: ledger.PaymentPending})
		Expect(err).NotTo(HaveOccurred())
		_, err = store.SettlePayment(ctx, "team-a/main", "card-1", ledger.StatusSettled)
		Expect(err).NotTo(HaveOccurred())
		exp := time.Now().Add(30 * 24 * time.Hour)
		_, err = store.TopUp(ctx, ledger.TopUpRequest{Wallet: "team-a/main", Key: "promo", Granted: m("500"), Priority: 50, ExpiresAt: &exp})
		Expect(err).NotTo(HaveOccurred())
		start = time.Now()
		for i := range nDebit {
			origin := []string{"api_request", "list_builder_ui"}[i%2]
			if i == 7 {
				origin = `=HYPERLINK("http://evil")`
			}
			_, err := store.Debit(ctx, ledger.DebitRequest{Wallet: "team-a/main", Key: fmt.Sprint("use-", i), Credits: m("1"),
				Origin: origin, Endpoint: "/v1/search", Timestamp: start.Add(-time.Duration(i%10)*24*time.Hour - time.Hour)})
			Expect(err).NotTo(HaveOccurred())
		}
		_, err = store.Refund(ctx, ledger.RefundRequest{Wallet: "team-a/main", Key: "refund-1", Credits: m("10"), GrantKey: "card-1", Payment: ledger.StatusSettled})
		Expect(err).NotTo(HaveOccurred())
		_, err = store.Refund(ctx, ledger.RefundRequest{Wallet: "team-a/main", Key: "refund-2", Credits: m("5"), GrantKey: "card-1", Payment: ledger.StatusFailed})
		Expect(err).NotTo(HaveOccurred())
		_, err = store.TopUp(ctx, ledger.TopUpRequest{Wallet: "team-b/main", Key: "g", Paid: m("7"), Priority: 50})
		Expect(err).NotTo(HaveOccurred())
	})

	It("prints balances as a table with kubectl", func() {
		out, err := kubectl(adminKC, "get", "balances", "-n", "team-a")
		Expect(err).NotTo(HaveOccurred(), out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(lines).To(HaveLen(3), out)
		Expect(strings.Fields(lines[0])).To(Equal([]string{"WALLET", "CURRENCY", "BALANCE", "PAID", "GRANTED", "PENDING", "NEXT", "EXPIRATION", "RUNS", "OUT", "COMPUTED", "AT"}))
		// 1000 paid - 10 refunded; 500 granted - 250 used (granted is drawn before paid).
		Expect(strings.Fields(lines[1])[:6]).To(Equal([]string{"main", "USD", "1240", "990", "250", "0"}))
		Expect(lines[1]).To(ContainSubstring("250 at " + time.Now().Add(30*24*time.Hour).UTC().Format("2006-01-02")))
		Expect(strings.Fields(lines[2])[:2]).To(Equal([]string{"spare", "EUR"}))

		out, err = kubectl(adminKC, "get", "balances", "-n", "team-a", "-o", "wide")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Fields(strings.Split(out, "\n")[1])[11:]).To(Equal([]string{"0", "12.4", "USD", "false"}))

		out, err = kubectl(adminKC, "get", "balances", "-A", "-o", "name")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Fields(out)).To(HaveLen(3))
	})

	It("gets one balance, as of a past time, with grants and ledger", func() {
		var b reportsv1alpha1.Balance
		get(nsPath("team-a", "balances/main")).into(&b)
		Expect(b.Balance).To(Equal("1240"))
		Expect(b.MoneyBalance).To(Equal("12.4"))
		Expect(b.LedgerSequence).To(BeNumerically("==", 2+1+nDebit+2)) // grant, settlement, promo, debits, refunds
		Expect(b.ComputedAt.Time).To(BeTemporally("~", time.Now(), 5*time.Second))
		Expect(b.Grants).To(BeEmpty())

		get(nsPath("team-a", "balances/main") + "?at=" + url.QueryEscape(start.UTC().Format(time.RFC3339Nano))).into(&b)
		Expect(b.Balance).To(Equal("1500"))
		Expect(b.ComputedAt.Time).To(BeTemporally("~", start, time.Second))

		get(nsPath("team-a", "balances/main") + "?includeGrants=true&includeLedger=true").into(&b)
		Expect(b.Grants).To(HaveLen(2))
		Expect(b.Ledger).To(HaveLen(100))
		Expect(b.Ledger[0].IdempotencyKey).To(Equal("refund-2"))
	})

	It("reports consumption per day in JSON, broken out by origin and endpoint", func() {
		var r reportsv1alpha1.ConsumptionReport
		q := url.Values{"from": {start.Add(-11 * 24 * time.Hour).UTC().Format(time.RFC3339)}, "to": {start.Add(time.Hour).UTC().Format(time.RFC3339)}, "groupBy": {"day"}}
		get(nsPath("team-a", "consumptionreports/main") + "?" + q.Encode()).into(&r)
		Expect(r.Currency).To(Equal("USD"))
		Expect(r.From.Time).To(BeTemporally("==", start.Add(-11*24*time.Hour).Truncate(time.Hour)))
		Expect(r.To.Time).To(BeTemporally("==", start.Add(time.Hour).Truncate(time.Second)))
		Expect(r.Totals.Debited).To(Equal("250"))
		Expect(r.Totals.Debits).To(BeNumerically("==", nDebit))
		Expect(r.Periods).To(Or(HaveLen(12), HaveLen(13)))
		byOrigin := map[string]int64{}
		for _, p := range r.Periods {
			Expect(p.End.Sub(p.Start.Time)).To(Equal(24 * time.Hour))
			for _, u := range p.Usage {
				byOrigin[u.Origin] += u.Debits
				Expect(u.Endpoint).To(Equal("/v1/search"))
			}
		}
		Expect(byOrigin).To(Equal(map[string]int64{"api_request": 125, "list_builder_ui": 124, `=HYPERLINK("http://evil")`: 1}))

		q.Set("origin", "api_request")
		q.Set("groupBy", "week")
		get(nsPath("team-a", "consumptionreports/main") + "?" + q.Encode()).into(&r)
		Expect(r.Totals.Debited).To(Equal("125"))
		Expect(r.GroupBy).To(Equal("week"))
	})

	It("prints a consumption report's totals as a table with kubectl", func() {
		out, err := kubectl(adminKC, "get", "consumptionreports", "main", "-n", "team-a")
		Expect(err).NotTo(HaveOccurred(), out)
		lines := strings.Split(strings.TrimSpace(out), "\n")
		Expect(lines).To(HaveLen(2), out)
		Expect(strings.Fields(lines[0])).To(Equal([]string{"WALLET", "FROM", "TO", "GROUP", "BY", "DEBITED", "DEBITS", "CREDITED", "REMOVED"}))
		Expect(strings.Fields(lines[1])).To(Equal([]string{"main", strings.Fields(lines[1])[1], strings.Fields(lines[1])[2], "day", "250", "250", "1500", "10"}))
	})

	It("streams CSV as an attachment, one row per entry, with formula cells defused", func() {
		q := url.Values{"from": {start.Add(-11 * 24 * time.Hour).UTC().Format(time.RFC3339)}, "to": {start.Add(time.Hour).UTC().Format(time.RFC3339)}, "format": {"csv"}}
		resp := get(nsPath("team-a", "consumptionreports/main") + "?" + q.Encode())
		Expect(resp.code).To(Equal(http.StatusOK), string(resp.body))
		Expect(resp.header.Get("Content-Type")).To(HavePrefix("text/csv"))
		Expect(resp.header.Get("Content-Disposition")).To(Equal(`attachment; filename="team-a-main-consumption.csv"`))
		rows, err := csv.NewReader(strings.NewReader(string(resp.body))).ReadAll()
		Expect(err).NotTo(HaveOccurred())
		Expect(rows[0]).To(Equal(reports.CSVHeader))
		// the debits, the refunds and the grants applied after from (all of them)
		Expect(rows).To(HaveLen(1 + 3 + nDebit + 2))
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		var escaped, debits int
		for _, r := range rows[1:] {
			if r[col["type"]] == "debit" {
				debits++
				Expect(r[col["credits"]]).To(Equal("-1"))
				Expect(r[col["amount"]]).To(Equal("-0.01"))
			}
			if strings.HasPrefix(r[col["origin"]], "'=") {
				escaped++
			}
			Expect(r[col["origin"]]).NotTo(HavePrefix("="))
		}
		Expect(debits).To(Equal(nDebit))
		Expect(escaped).To(Equal(1))
	})

	It("aborts a CSV export that fails part way instead of ending it as if complete", func() {
		store.Store = brokenEntries{backend()}
		defer func() { store.Store = backend() }()
		hc, err := rest.HTTPClientFor(admin)
		Expect(err).NotTo(HaveOccurred())
		resp, err := hc.Get(strings.TrimSuffix(admin.Host, "/") + nsPath("team-a", "consumptionreports/main") + "?format=csv")
		if err != nil {
			// the stream was reset before the kube-apiserver's proxy passed
			// the response's head on: the client sees no file at all
			Expect(err).To(MatchError(ContainSubstring("stream error")))
			return
		}
		defer resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusOK)) // sent before the first row
		_, err = io.ReadAll(resp.Body)
		Expect(err).To(HaveOccurred(), "the client must see an incomplete transfer")
	})

	It("pages through transactions to the end, newest first, filtered", func() {
		var seqs []int64
		cont := ""
		pages := 0
		for {
			var l reportsv1alpha1.TransactionList
			get(nsPath("team-a", "transactions") + "?fieldSelector=wallet%3Dmain&limit=100&continue=" + url.QueryEscape(cont)).into(&l)
			pages++
			for _, t := range l.Items {
				seqs = append(seqs, t.Sequence)
				Expect(t.Name).To(HavePrefix("wtx_"))
			}
			if cont = l.Continue; cont == "" {
				break
			}
			Expect(l.Items).To(HaveLen(100))
		}
		Expect(pages).To(Equal(3))
		Expect(seqs).To(HaveLen(2 + 1 + nDebit + 2))
		for i := 1; i < len(seqs); i++ {
			Expect(seqs[i]).To(BeNumerically("<", seqs[i-1]))
		}
		var l reportsv1alpha1.TransactionList
		get(nsPath("team-a", "transactions") + "?fieldSelector=wallet%3Dmain,type%3Drefund").into(&l)
		Expect(l.Items).To(HaveLen(2))
		get(nsPath("team-a", "transactions") + "?fieldSelector=wallet%3Dmain,type%3Drefund,status%3Dfailed").into(&l)
		Expect(l.Items).To(HaveLen(1))
		Expect(l.Items[0].IdempotencyKey).To(Equal("refund-2"))

		out, err := kubectl(adminKC, "get", "transactions", "-n", "team-a", "--field-selector", "wallet=main,type=grant", "--chunk-size=100")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Split(strings.TrimSpace(out), "\n")).To(HaveLen(3), out)
		Expect(out).To(ContainSubstring("BALANCE AFTER"))
	})

	It("lists payments: top-ups, refunds and refund failures, by status", func() {
		var l reportsv1alpha1.PaymentList
		get(nsPath("team-a", "payments") + "?fieldSelector=wallet%3Dmain").into(&l)
		Expect(l.Items).To(HaveLen(3))
		get(nsPath("team-a", "payments") + "?fieldSelector=wallet%3Dmain,status%3Dpaid").into(&l)
		Expect(l.Items).To(HaveLen(2))
		Expect(l.Items[1].Type).To(Equal("TopUp"))
		Expect(l.Items[1].Credits).To(Equal("1000"))
		Expect(l.Items[1].Amount).To(Equal("10"))
		Expect(l.Items[0].Type).To(Equal("Refund"))
		get(nsPath("team-a", "payments") + "?fieldSelector=wallet%3Dmain,status%3Dfailed").into(&l)
		Expect(l.Items).To(HaveLen(1))
		Expect(l.Items[0].IdempotencyKey).To(Equal("refund-2"))
		get(nsPath("team-a", "payments") + "?fieldSelector=wallet%3Dmain,status%3Dpending").into(&l)
		Expect(l.Items).To(BeEmpty())
	})

	It("records usage once, refuses what the wallet cannot pay and terminated wallets", func() {
		usage := func(key, credits string) map[string]any {
			return map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "Usage",
				"spec": map[string]any{"wallet": "main", "credits": credits, "origin": "api_request", "endpoint": "/v1/x", "idempotencyKey": key}}
		}
		resp := call(admin, http.MethodPost, nsPath("team-b", "usages"), usage("u1", "2.5"))
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		var u reportsv1alpha1.Usage
		Expect(jsonUnmarshal(resp.body, &u)).To(Succeed())
		Expect(u.Status.BalanceAfter).To(Equal("4.5"))
		Expect(u.Status.Replayed).To(BeFalse())

		resp = call(admin, http.MethodPost, nsPath("team-b", "usages"), usage("u1", "2.5"))
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		var again reportsv1alpha1.Usage
		Expect(jsonUnmarshal(resp.body, &again)).To(Succeed())
		Expect(again.Status.Replayed).To(BeTrue())
		Expect(again.Status.TransactionID).To(Equal(u.Status.TransactionID))

		before, err := store.Balance(suiteCtx, "team-b/main")
		Expect(err).NotTo(HaveOccurred())
		resp = call(admin, http.MethodPost, nsPath("team-b", "usages"), usage("u2", "5"))
		Expect(resp.code).To(Equal(http.StatusPaymentRequired), string(resp.body))
		Expect(resp.status().Reason).To(BeEquivalentTo("InsufficientBalance"))
		after, err := store.Balance(suiteCtx, "team-b/main")
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Sequence).To(Equal(before.Sequence))
		Expect(after.Available).To(Equal(m("4.5")))

		resp = call(admin, http.MethodPost, nsPath("team-b", "usages"), usage("u1", "3"))
		Expect(resp.code).To(Equal(http.StatusConflict), string(resp.body))
		Expect(resp.status().Reason).To(BeEquivalentTo("IdempotencyConflict"))

		Expect(store.OpenWallet(suiteCtx, ledger.WalletSpec{Wallet: "team-b/closed", Currency: "USD", Rate: m("1"), OverdraftLimit: m("100")})).To(Succeed())
		_, err = store.Terminate(suiteCtx, "team-b/closed")
		Expect(err).NotTo(HaveOccurred())
		closed := usage("u3", "1")
		closed["spec"].(map[string]any)["wallet"] = "closed"
		resp = call(admin, http.MethodPost, nsPath("team-b", "usages"), closed)
		Expect(resp.code).To(Equal(http.StatusConflict), string(resp.body))
		Expect(resp.status().Reason).To(BeEquivalentTo("WalletTerminated"))

		// kubectl create -f, with the idempotency key taken from metadata.name
		dir := GinkgoT().TempDir()
		manifest := filepath.Join(dir, "usage.yaml")
		Expect(os.WriteFile(manifest, []byte(`apiVersion: reports.walletop.io/v1alpha1
kind: Usage
metadata:
  name: search-42
  namespace: team-b
spec:
  wallet: main
  credits: 1
  origin: api_request
  endpoint: /v1/search
`), 0o600)).To(Succeed())
		out, err := kubectl(adminKC, "create", "-f", manifest, "--dry-run=server", "-o", "jsonpath={.metadata.name}")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(Equal("search-42"))
		_, err = store.Entry(suiteCtx, "team-b/main", "usage:search-42")
		Expect(err).To(MatchError(ledger.ErrNotFound), "a server dry run records nothing")
		out, err = kubectl(adminKC, "create", "-f", manifest, "-o", "jsonpath={.status.balanceAfter}")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(Equal("3.5"))
		e, err := store.Entry(suiteCtx, "team-b/main", "usage:search-42")
		Expect(err).NotTo(HaveOccurred())
		Expect(e.Endpoint).To(Equal("/v1/search"))
	})

	It("records a batch of thousands of events in one request, each once", func() {
		Expect(store.OpenWallet(suiteCtx, ledger.WalletSpec{Wallet: "team-b/bulk", Currency: "USD", Rate: m("1")})).To(Succeed())
		_, err := store.TopUp(suiteCtx, ledger.TopUpRequest{Wallet: "team-b/bulk", Key: "g", Paid: m("2999.5"), Priority: 50})
		Expect(err).NotTo(HaveOccurred())
		events := make([]map[string]any, 3000)
		for i := range events {
			events[i] = map[string]any{"wallet": "bulk", "credits": "1", "origin": "meter", "idempotencyKey": fmt.Sprint("ev-", i)}
		}
		batch := map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "UsageBatch", "spec": map[string]any{"events": events}}
		resp := call(admin, http.MethodPost, nsPath("team-b", "usagebatches"), batch)
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		var b reportsv1alpha1.UsageBatch
		Expect(jsonUnmarshal(resp.body, &b)).To(Succeed())
		Expect([]int32{b.Status.Applied, b.Status.Replayed, b.Status.Refused}).To(Equal([]int32{2999, 0, 1}))
		// in order: the last event is the one that no longer fits
		Expect(b.Status.Results[2999].Reason).To(Equal("InsufficientBalance"))
		Expect(b.Status.Results[2998].BalanceAfter).To(Equal("0.5"))

		resp = call(admin, http.MethodPost, nsPath("team-b", "usagebatches"), batch)
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		Expect(jsonUnmarshal(resp.body, &b)).To(Succeed())
		Expect([]int32{b.Status.Applied, b.Status.Replayed, b.Status.Refused}).To(Equal([]int32{0, 2999, 1}))
		bal, err := store.Balance(suiteCtx, "team-b/bulk")
		Expect(err).NotTo(HaveOccurred())
		Expect(bal.Available).To(Equal(m("0.5")))
		Expect(bal.Sequence).To(BeNumerically("==", 1+2999))

		events[5]["credits"] = "1.0000001"
		resp = call(admin, http.MethodPost, nsPath("team-b", "usagebatches"), batch)
		Expect(resp.code).To(Equal(http.StatusBadRequest), string(resp.body))
		Expect(resp.status().Message).To(ContainSubstring("spec.events[5].credits"))
	})

	hostileReportSpecs()
	previewSpecs()
	forecastSpecs()

	DescribeTable("answers bad input with a Status that says what to fix",
		func(path string, code int, msg string) {
			resp := get(path)
			Expect(resp.code).To(Equal(code), string(resp.body))
			Expect(resp.status().Message).To(ContainSubstring(msg))
		},
		Entry("a window over 366 days", nsPath("team-a", "consumptionreports/main")+"?from=2025-01-01&to=2026-06-01", 400, "at most 366 days"),
		Entry("to before from", nsPath("team-a", "consumptionreports/main")+"?from=2026-06-01&to=2026-05-01", 400, "must be after from"),
		Entry("an unknown groupBy", nsPath("team-a", "consumptionreports/main")+"?groupBy=fortnight", 400, "use hour, day, week or month"),
		Entry("an unknown format", nsPath("team-a", "consumptionreports/main")+"?format=xlsx", 400, "use json or csv"),
		Entry("a malformed time", nsPath("team-a", "consumptionreports/main")+"?from=yesterday", 400, "write RFC 3339"),
		Entry("a misspelt parameter", nsPath("team-a", "consumptionreports/main")+"?groupby=day", 400, "unknown query parameter(s) groupby"),
		Entry("a malformed at", nsPath("team-a", "balances/main")+"?at=2026-13-01", 400, "write RFC 3339"),
		Entry("a limit over 100", nsPath("team-a", "transactions")+"?fieldSelector=wallet%3Dmain&limit=500", 400, "a page holds 1 to 100"),
		Entry("a list without a wallet", nsPath("team-a", "transactions"), 400, "add fieldSelector wallet=<name>"),
		Entry("an unknown type", nsPath("team-a", "transactions")+"?fieldSelector=wallet%3Dmain,type%3Dgift", 400, "use grant, debit"),
		Entry("an unknown payment status", nsPath("team-a", "payments")+"?fieldSelector=wallet%3Dmain,status%3Dsettled", 400, "use pending, paid or failed"),
		Entry("a forged continue token", nsPath("team-a", "transactions")+"?fieldSelector=wallet%3Dmain&continue=abc", 400, "continue token is malformed"),
		Entry("an unknown wallet (balance)", nsPath("team-a", "balances/nope"), 404, `"nope" not found`),
		Entry("an unknown wallet (report)", nsPath("team-a", "consumptionreports/nope"), 404, `"nope" not found`),
		Entry("an unknown wallet (history)", nsPath("team-a", "transactions")+"?fieldSelector=wallet%3Dnope", 404, `"nope" not found`),
		Entry("another namespace's wallet", nsPath("team-b", "balances/spare"), 404, `"spare" not found`),
	)

	It("refuses a continue token with other filters", func() {
		var l reportsv1alpha1.TransactionList
		get(nsPath("team-a", "transactions") + "?fieldSelector=wallet%3Dmain&limit=10").into(&l)
		resp := get(nsPath("team-a", "transactions") + "?fieldSelector=wallet%3Dmain,type%3Ddebit&continue=" + url.QueryEscape(l.Continue))
		Expect(resp.code).To(Equal(400))
		Expect(resp.status().Message).To(ContainSubstring("other field selectors"))
	})

	Describe("RBAC", func() {
		It("lets a wallet-balance-viewer read balances of its namespace and nothing else", func() {
			user, err := cluster.AddUser(envtest.User{Name: "finance-bot", Groups: []string{"finance"}})
			Expect(err).NotTo(HaveOccurred())
			Expect(ignoreExists(k8sClient.Create(suiteCtx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "finance-balances"},
				RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "wallet-balance-viewer"},
				Subjects:   []rbacv1.Subject{{Kind: "User", Name: "finance-bot"}},
			}))).To(Succeed())
			cfg := user.Config()
			Eventually(func() int {
				return call(cfg, http.MethodGet, nsPath("team-a", "balances/main"), nil).code
			}).Should(Equal(http.StatusOK))
			Expect(call(cfg, http.MethodGet, nsPath("team-a", "balances"), nil).code).To(Equal(http.StatusOK))
			for _, path := range []string{
				nsPath("team-a", "consumptionreports/main"),
				nsPath("team-a", "transactions") + "?fieldSelector=wallet%3Dmain",
				nsPath("team-a", "payments") + "?fieldSelector=wallet%3Dmain",
				nsPath("team-b", "balances/main"),
				nsPath("team-b", "balances"),
				base + "/balances",
			} {
				resp := call(cfg, http.MethodGet, path, nil)
				Expect(resp.code).To(Equal(http.StatusForbidden), path+": "+string(resp.body))
			}
			resp := call(cfg, http.MethodPost, nsPath("team-a", "usages"), map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "Usage",
				"spec": map[string]any{"wallet": "main", "credits": "1", "origin": "x", "idempotencyKey": "rbac"}})
			Expect(resp.code).To(Equal(http.StatusForbidden), string(resp.body))
			_, err = store.Entry(suiteCtx, "team-a/main", "usage:rbac")
			Expect(err).To(MatchError(ledger.ErrNotFound))

			kc := filepath.Join(GinkgoT().TempDir(), "finance.kubeconfig")
			Expect(reportsKubeconfig(user, kc)).To(Succeed())
			out, err := kubectl(kc, "get", "balances", "-n", "team-a")
			Expect(err).NotTo(HaveOccurred(), out)
			Expect(out).To(ContainSubstring("main"))
			out, err = kubectl(kc, "get", "balances", "-n", "team-b")
			Expect(err).To(HaveOccurred())
			Expect(out).To(ContainSubstring("forbidden"))
		})

		It("gives each shipped role exactly its resources", func() {
			for role, allowed := range map[string][]string{
				"wallet-balance-viewer":            {"balances", "forecasts"},
				"wallet-consumption-report-viewer": {"consumptionreports"},
				"wallet-transactions-viewer":       {"transactions", "payments"},
				"wallet-usage-writer":              {"usages"},
			} {
				user, err := cluster.AddUser(envtest.User{Name: "user-" + role})
				Expect(err).NotTo(HaveOccurred())
				Expect(ignoreExists(k8sClient.Create(suiteCtx, &rbacv1.RoleBinding{
					ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: role},
					RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
					Subjects:   []rbacv1.Subject{{Kind: "User", Name: "user-" + role}},
				}))).To(Succeed())
				cfg := user.Config()
				requests := map[string]func() int{
					"balances":  func() int { return call(cfg, http.MethodGet, nsPath("team-a", "balances/main"), nil).code },
					"forecasts": func() int { return call(cfg, http.MethodGet, nsPath("team-a", "forecasts/main"), nil).code },
					"consumptionreports": func() int {
						return call(cfg, http.MethodGet, nsPath("team-a", "consumptionreports/main"), nil).code
					},
					"transactions": func() int {
						return call(cfg, http.MethodGet, nsPath("team-a", "transactions")+"?fieldSelector=wallet%3Dmain", nil).code
					},
					"payments": func() int {
						return call(cfg, http.MethodGet, nsPath("team-a", "payments")+"?fieldSelector=wallet%3Dmain", nil).code
					},
					"usages": func() int {
						return call(cfg, http.MethodPost, nsPath("team-a", "usages"), map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "Usage",
							"spec": map[string]any{"wallet": "main", "credits": "1", "origin": "x", "idempotencyKey": "role-" + role}}).code
					},
				}
				// Wait until the binding is in effect (the allowed requests pass),
				// and only then check the refusals: before it, everything is 403.
				for _, resource := range allowed {
					want := http.StatusOK
					if resource == "usages" {
						want = http.StatusCreated
					}
					Eventually(requests[resource]).Should(Equal(want), role+" on "+resource)
				}
				for resource, do := range requests {
					if !slices.Contains(allowed, resource) {
						Expect(do()).To(Equal(http.StatusForbidden), role+" on "+resource)
					}
				}
			}
		})
	})
}

func reportsKubeconfig(user *envtest.AuthenticatedUser, path string) error {
	b, err := user.KubeConfig()
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// brokenEntries is a ledger whose history reads fail.
type brokenEntries struct{ ledger.Store }

func (brokenEntries) Entries(context.Context, ledger.EntryQuery) (ledger.EntryPage, error) {
	return ledger.EntryPage{}, errors.New("disk on fire")
}
