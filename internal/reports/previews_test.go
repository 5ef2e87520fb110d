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

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

// previewSpecs run in each backend's ordered specs, after the ones that list
// every wallet.
func previewSpecs() {
	preview := func(spec map[string]any) response {
		return call(admin, http.MethodPost, nsPath("team-c", "previews"),
			map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "Preview", "spec": spec})
	}
	answer := func(spec map[string]any) reportsv1alpha1.PreviewStatus {
		GinkgoHelper()
		resp := preview(spec)
		Expect(resp.code).To(Equal(http.StatusCreated), string(resp.body))
		var p reportsv1alpha1.Preview
		Expect(jsonUnmarshal(resp.body, &p)).To(Succeed())
		return p.Status
	}

	It("says which grants a debit would draw and the balance after, or why it would be refused, writing nothing", func() {
		Expect(store.OpenWallet(suiteCtx, ledger.WalletSpec{Wallet: "team-c/main", Currency: "USD", Rate: m("0.01"), OverdraftLimit: m("5")})).To(Succeed())
		_, err := store.TopUp(suiteCtx, ledger.TopUpRequest{Wallet: "team-c/main", Key: "team-c/buy", Paid: m("10"), Priority: 50})
		Expect(err).NotTo(HaveOccurred())
		_, err = store.TopUp(suiteCtx, ledger.TopUpRequest{Wallet: "team-c/main", Key: "team-c/promo", Granted: m("4"), Priority: 10})
		Expect(err).NotTo(HaveOccurred())
		before, err := store.Balance(suiteCtx, "team-c/main")
		Expect(err).NotTo(HaveOccurred())

		st := answer(map[string]any{"wallet": "main", "type": "Debit", "credits": "6", "origin": "api"})
		Expect(st.Allowed).To(BeTrue())
		Expect(st.Draws).To(Equal([]reportsv1alpha1.PreviewDraw{
			{TopUp: "promo", Category: "granted", Credits: "-4"}, {TopUp: "buy", Category: "paid", Credits: "-2"}}))
		Expect(st.BalanceAfter).To(Equal("8"))
		Expect(st.DebtAfter).To(Equal("0"))

		st = answer(map[string]any{"wallet": "main", "type": "Debit", "credits": "20", "origin": "api"})
		Expect(st.Allowed).To(BeFalse())
		Expect(st.Reason).To(Equal("InsufficientBalance"))
		Expect(st.Shortfall).To(Equal("1"))
		Expect(st.Draws).To(BeEmpty())

		st = answer(map[string]any{"wallet": "main", "type": "Refund", "credits": "3", "grantRef": "buy"})
		Expect(st.Allowed).To(BeTrue())
		Expect(st.Draws).To(Equal([]reportsv1alpha1.PreviewDraw{{TopUp: "buy", Category: "paid", Credits: "-3"}}))
		st = answer(map[string]any{"wallet": "main", "type": "Void", "credits": "1", "grantRef": "nope"})
		Expect(st.Reason).To(Equal("GrantNotFound"))
		Expect(answer(map[string]any{"wallet": "main", "type": "Adjustment", "credits": "-20"}).Reason).To(Equal("InsufficientBalance"))
		Expect(answer(map[string]any{"wallet": "main", "type": "Adjustment", "credits": "2.5"}).BalanceAfter).To(Equal("16.5"))

		after, err := store.Balance(suiteCtx, "team-c/main")
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Sequence).To(Equal(before.Sequence), "a preview wrote to the ledger")
		Expect(after.Available).To(Equal(before.Available))

		By("bad input is a 400, a missing wallet a 404")
		for _, spec := range []map[string]any{
			{"wallet": "main", "type": "Debit", "credits": "1e3", "origin": "api"},
			{"wallet": "main", "type": "Debit", "credits": "-1", "origin": "api"},
			{"wallet": "main", "type": "Debit", "credits": "1"},
			{"wallet": "main", "type": "Refund", "credits": "1"},
			{"wallet": "main", "type": "TopUp", "credits": "1"},
			{"wallet": "Main!", "type": "Void", "credits": "1"},
			{"wallet": "main", "type": "Void", "credits": "1", "at": "2026-01-01T00:00:00Z"},
		} {
			resp := preview(spec)
			Expect(resp.code).To(Equal(http.StatusBadRequest), "%v: %s", spec, resp.body)
		}
		Expect(preview(map[string]any{"wallet": "gone", "type": "Void", "credits": "1"}).code).To(Equal(http.StatusNotFound))
	})
}
