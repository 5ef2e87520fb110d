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
	"net/http"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

func usageBody(spec map[string]any, name string) map[string]any {
	u := map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "Usage", "spec": spec}
	if name != "" {
		u["metadata"] = map[string]any{"name": name}
	}
	return u
}

func validUsage(mutate func(map[string]any)) map[string]any {
	s := map[string]any{"wallet": "main", "credits": "1", "origin": "api", "endpoint": "/v1/x", "idempotencyKey": "hostile"}
	if mutate != nil {
		mutate(s)
	}
	return s
}

// hostileReportSpecs: every bound of the CRDs holds here too, nothing is
// ignored, and a dry run answers what the real request would.
func hostileReportSpecs() {
	DescribeTable("refuses a usage event out of bounds, recording nothing",
		func(spec map[string]any, name string, code int, msg string) {
			before, err := store.Balance(suiteCtx, "team-b/main")
			Expect(err).NotTo(HaveOccurred())
			resp := call(admin, http.MethodPost, nsPath("team-b", "usages"), usageBody(spec, name))
			Expect(resp.code).To(Equal(code), string(resp.body))
			Expect(resp.status().Message).To(ContainSubstring(msg))
			after, err := store.Balance(suiteCtx, "team-b/main")
			Expect(err).NotTo(HaveOccurred())
			Expect(after.Sequence).To(Equal(before.Sequence), "a refused usage wrote to the ledger")
		},
		Entry("an origin of 129 bytes", validUsage(func(s map[string]any) { s["origin"] = strings.Repeat("o", 129) }), "", 400, "spec.origin is 129 bytes long: at most 128"),
		Entry("an origin of 1 MB", validUsage(func(s map[string]any) { s["origin"] = strings.Repeat("o", 1<<20) }), "", 400, "spec.origin is 1048576 bytes long: at most 128"),
		Entry("an endpoint of 257 bytes", validUsage(func(s map[string]any) { s["endpoint"] = strings.Repeat("e", 257) }), "", 400, "spec.endpoint is 257 bytes long: at most 256"),
		Entry("a description of 1025 bytes", validUsage(func(s map[string]any) { s["description"] = strings.Repeat("d", 1025) }), "", 400, "spec.description is 1025 bytes long: at most 1024"),
		Entry("a key of 254 bytes", validUsage(func(s map[string]any) { s["idempotencyKey"] = strings.Repeat("k", 254) }), "", 400, "spec.idempotencyKey is 254 bytes long: at most 253"),
		Entry("a name (the key) of 254 bytes", validUsage(func(s map[string]any) { delete(s, "idempotencyKey") }), strings.Repeat("n", 254), 400, "at most 253"),
		Entry("no origin", validUsage(func(s map[string]any) { delete(s, "origin") }), "", 400, "spec.origin: required"),
		Entry("no wallet", validUsage(func(s map[string]any) { delete(s, "wallet") }), "", 400, "spec.wallet: required"),
		Entry("no credits", validUsage(func(s map[string]any) { delete(s, "credits") }), "", 400, "spec.credits: required"),
		Entry("no key and no name", validUsage(func(s map[string]any) { delete(s, "idempotencyKey") }), "", 400, "spec.idempotencyKey: required"),
		Entry("negative credits", validUsage(func(s map[string]any) { s["credits"] = "-1" }), "", 400, "spec.credits"),
		Entry("zero credits", validUsage(func(s map[string]any) { s["credits"] = "0" }), "", 400, "must be more than zero"),
		Entry("credits with 7 decimals", validUsage(func(s map[string]any) { s["credits"] = "0.0000001" }), "", 400, "more than 6 fractional digits"),
		Entry("credits with 13 digits", validUsage(func(s map[string]any) { s["credits"] = "1000000000000" }), "", 400, "more than 12 integer digits"),
		Entry("credits as an exponent", validUsage(func(s map[string]any) { s["credits"] = "1e3" }), "", 400, "not a decimal number"),
		Entry("credits with a plus sign", validUsage(func(s map[string]any) { s["credits"] = "+1" }), "", 400, "not a decimal number"),
		Entry("credits with a blank", validUsage(func(s map[string]any) { s["credits"] = " 1" }), "", 400, "not a decimal number"),
		Entry("credits as a float", validUsage(func(s map[string]any) { s["credits"] = 1.5 }), "", 400, "write decimals as quoted strings"),
		Entry("a wallet that is not a name", validUsage(func(s map[string]any) { s["wallet"] = "Main/../x" }), "", 400, "is not a Wallet name"),
		Entry("an unknown wallet", validUsage(func(s map[string]any) { s["wallet"] = "nope" }), "", 404, `"nope" not found`),
	)

	It("refuses a request body over the server's limit before reading it all", func() {
		events := make([]map[string]any, 0, 2000)
		for range 2000 {
			events = append(events, validUsage(func(s map[string]any) { s["description"] = strings.Repeat("d", 2000) }))
		}
		resp := call(admin, http.MethodPost, nsPath("team-b", "usagebatches"),
			map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "UsageBatch", "spec": map[string]any{"events": events}})
		Expect(resp.code).To(Equal(http.StatusRequestEntityTooLarge), string(resp.body))
	})

	It("answers a dry run as the real request would, and records nothing", func() {
		dry := func(spec map[string]any) response {
			return call(admin, http.MethodPost, nsPath("team-b", "usages")+"?dryRun=All", usageBody(spec, ""))
		}
		before, err := store.Balance(suiteCtx, "team-b/main")
		Expect(err).NotTo(HaveOccurred())
		resp := dry(validUsage(func(s map[string]any) { s["wallet"] = "nope" }))
		Expect(resp.code).To(Equal(http.StatusNotFound), string(resp.body))
		resp = dry(validUsage(func(s map[string]any) { s["credits"] = "100000"; s["idempotencyKey"] = "too-much" }))
		Expect(resp.code).To(Equal(http.StatusPaymentRequired), string(resp.body))
		Expect(resp.status().Reason).To(BeEquivalentTo("InsufficientBalance"))
		resp = dry(validUsage(func(s map[string]any) { s["idempotencyKey"] = "dry-ok"; s["credits"] = "0.5" }))
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		var u reportsv1alpha1.Usage
		Expect(jsonUnmarshal(resp.body, &u)).To(Succeed())
		Expect(u.Status.BalanceAfter).To(Equal((before.Available - m("0.5")).String()))
		Expect(u.Status.Replayed).To(BeFalse())
		// a key already recorded: replayed, as the real request would say
		resp = call(admin, http.MethodPost, nsPath("team-b", "usages"), usageBody(validUsage(func(s map[string]any) { s["idempotencyKey"] = "dry-real"; s["credits"] = "0.25" }), ""))
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		resp = dry(validUsage(func(s map[string]any) { s["idempotencyKey"] = "dry-real"; s["credits"] = "0.25" }))
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		Expect(jsonUnmarshal(resp.body, &u)).To(Succeed())
		Expect(u.Status.Replayed).To(BeTrue())
		resp = dry(validUsage(func(s map[string]any) { s["idempotencyKey"] = "dry-real"; s["credits"] = "0.5" }))
		Expect(resp.code).To(Equal(http.StatusConflict), string(resp.body))
		Expect(resp.status().Reason).To(BeEquivalentTo("IdempotencyConflict"))
		after, err := store.Balance(suiteCtx, "team-b/main")
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Sequence).To(Equal(before.Sequence + 1)) // the one real usage
		_, err = store.Entry(suiteCtx, "team-b/main", "usage:dry-ok")
		Expect(err).To(MatchError(ledger.ErrNotFound))

		// a batch dry run sees its own earlier events
		bal := after.Available
		events := []map[string]any{
			validUsage(func(s map[string]any) { s["idempotencyKey"] = "b1"; s["credits"] = bal.String() }),
			validUsage(func(s map[string]any) { s["idempotencyKey"] = "b2"; s["credits"] = "1" }),
		}
		resp = call(admin, http.MethodPost, nsPath("team-b", "usagebatches")+"?dryRun=All",
			map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "UsageBatch", "spec": map[string]any{"events": events}})
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		var b reportsv1alpha1.UsageBatch
		Expect(jsonUnmarshal(resp.body, &b)).To(Succeed())
		Expect([]int32{b.Status.Applied, b.Status.Refused}).To(Equal([]int32{1, 1}))
		Expect(b.Status.Results[1].Reason).To(Equal("InsufficientBalance"))
		final, err := store.Balance(suiteCtx, "team-b/main")
		Expect(err).NotTo(HaveOccurred())
		Expect(final.Sequence).To(Equal(after.Sequence))
	})

	DescribeTable("refuses a selector or limit it would otherwise ignore",
		func(path string, msg string) {
			resp := get(path)
			Expect(resp.code).To(Equal(http.StatusBadRequest), string(resp.body))
			Expect(resp.status().Message).To(ContainSubstring(msg))
		},
		Entry("balances by label", nsPath("team-a", "balances")+"?labelSelector=tier%3Dgold", "balances have no labels"),
		Entry("balances by an unknown field", nsPath("team-a", "balances")+"?fieldSelector=spec.currency%3DUSD", `"spec.currency" is not a known field selector`),
		Entry("balances, a limit over 500", nsPath("team-a", "balances")+"?limit=501", "a page holds 1 to 500 balances"),
		Entry("balances, a forged continue", nsPath("team-a", "balances")+"?limit=1&continue=%25%25", "continue token is malformed"),
		Entry("transactions by label", nsPath("team-a", "transactions")+"?fieldSelector=wallet%3Dmain&labelSelector=a%3Db", "transactions have no labels"),
		Entry("transactions by an unknown field", nsPath("team-a", "transactions")+"?fieldSelector=wallet%3Dmain,origin%3Dapi", `field selector "origin" is not supported`),
		Entry("payments by an unknown field", nsPath("team-a", "payments")+"?fieldSelector=wallet%3Dmain,reference%3Dx", `field selector "reference" is not supported`),
		Entry("transactions, a negative limit", nsPath("team-a", "transactions")+"?fieldSelector=wallet%3Dmain&limit=-1", "a page holds 1 to 100"),
		Entry("transactions by !=", nsPath("team-a", "transactions")+"?fieldSelector=wallet%21%3Dmain", "only = is supported"),
	)

	It("honours the balances list's field selector and pages", func() {
		var list reportsv1alpha1.BalanceList
		resp := get(nsPath("team-a", "balances") + "?fieldSelector=" + url.QueryEscape("metadata.name=spare"))
		Expect(resp.code).To(Equal(http.StatusOK), string(resp.body))
		Expect(jsonUnmarshal(resp.body, &list)).To(Succeed())
		Expect(list.Items).To(HaveLen(1))
		Expect(list.Items[0].Name).To(Equal("spare"))

		resp = get(nsPath("team-a", "balances") + "?limit=1")
		Expect(resp.code).To(Equal(http.StatusOK), string(resp.body))
		Expect(jsonUnmarshal(resp.body, &list)).To(Succeed())
		Expect(list.Items).To(HaveLen(1))
		Expect(list.Items[0].Name).To(Equal("main"))
		Expect(list.Continue).NotTo(BeEmpty())
		resp = get(nsPath("team-a", "balances") + "?limit=1&continue=" + url.QueryEscape(list.Continue))
		Expect(resp.code).To(Equal(http.StatusOK), string(resp.body))
		Expect(jsonUnmarshal(resp.body, &list)).To(Succeed())
		Expect(list.Items).To(HaveLen(1))
		Expect(list.Items[0].Name).To(Equal("spare"))

		out, err := kubectl(adminKC, "get", "balances", "-A", "--field-selector", "metadata.namespace=team-b", "-o", "name")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).NotTo(ContainSubstring("spare"))
		Expect(out).To(ContainSubstring("main"))
	})
}
