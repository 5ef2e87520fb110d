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

package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// Opener opens an empty store on the given clock.
type Opener func(t *testing.T, clock ledger.Clock) ledger.Store

var ctx = context.Background()

func m(s string) money.Micros { return money.MustParse(s) }

type fixture struct {
	t     *testing.T
	s     ledger.Store
	clock *Clock
}

func newFixture(t *testing.T, open Opener) *fixture {
	c := NewClock()
	s := open(t, c)
	t.Cleanup(func() { _ = s.Close() })
	return &fixture{t: t, s: s, clock: c}
}

func (f *fixture) open(name string, overdraft string) {
	f.t.Helper()
	if err := f.s.OpenWallet(ctx, ledger.WalletSpec{Wallet: name, Currency: "USD", Rate: m("0.01"), OverdraftLimit: m(overdraft)}); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) must(r ledger.Result, err error) ledger.Result {
	f.t.Helper()
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fixture) balance(w string, want string) ledger.Balance {
	f.t.Helper()
	b, err := f.s.Balance(ctx, w)
	if err != nil {
		f.t.Fatal(err)
	}
	if b.Available != m(want) {
		f.t.Fatalf("balance of %s = %s (paid %s granted %s debt %s), want %s", w, b.Available, b.Paid, b.Granted, b.Debt, want)
	}
	return b
}

func (f *fixture) remaining(w string) map[string]string {
	f.t.Helper()
	gs, err := f.s.Grants(ctx, w)
	if err != nil {
		f.t.Fatal(err)
	}
	out := map[string]string{}
	for _, g := range gs {
		out[g.Key+"/"+string(g.Category)] = g.Remaining.String()
	}
	return out
}

func (f *fixture) verify() {
	f.t.Helper()
	rep, err := f.s.Verify(ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, p := range rep.Problems {
		f.t.Error("verify:", p)
	}
}

func expectErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func tp(t time.Time) *time.Time { return &t }

// Run runs the conformance suite against a backend.
func Run(t *testing.T, open Opener) {
	t.Run("GrantIsIdempotent", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		r1 := f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g1", Paid: m("100"), Priority: 50}))
		r2 := f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g1", Paid: m("100"), Priority: 50}))
		if !r2.Replayed || r2.EntryID != r1.EntryID || r2.Seq != r1.Seq || r1.Replayed {
			t.Fatalf("repeat: %+v then %+v", r1, r2)
		}
		f.balance("w", "100")
		e, err := f.s.Entry(ctx, "w", "g1")
		if err != nil || e.ID != r1.EntryID || e.Credits != m("100") || e.Type != ledger.EntryTopUp {
			t.Fatalf("Entry(g1) = %+v, %v", e, err)
		}
		_, err = f.s.Entry(ctx, "w", "nope")
		expectErr(t, err, ledger.ErrNotFound)
		_, err = f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g1", Paid: m("101"), Priority: 50})
		expectErr(t, err, ledger.ErrConflict)
		f.balance("w", "100")
		_, err = f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "nope", Key: "g1", Paid: m("1"), Priority: 50})
		expectErr(t, err, ledger.ErrWalletNotFound)
		_, err = f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g2", Priority: 50})
		expectErr(t, err, ledger.ErrInvalid)
		f.verify()
	})

	t.Run("DrawdownOrder", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		now := f.clock.Now()
		// priority first; then soonest expiry; then granted before paid; then oldest.
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "old-paid", Paid: m("10"), Priority: 50}))
		f.clock.Advance(time.Second)
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "new-paid", Paid: m("10"), Priority: 50}))
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "granted", Granted: m("10"), Priority: 50}))
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "expiring", Paid: m("10"), Priority: 50, ExpiresAt: tp(now.Add(48 * time.Hour))}))
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "urgent", Paid: m("10"), Priority: 10, ExpiresAt: tp(now.Add(96 * time.Hour))}))
		f.balance("w", "50")
		// 10 from urgent, 10 from expiring, 10 from granted, 5 from old-paid
		r := f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d1", Credits: m("35"), Origin: "api"}))
		if r.BalanceAfter != m("15") {
			t.Fatalf("balance after = %s", r.BalanceAfter)
		}
		got := f.remaining("w")
		want := map[string]string{"urgent/paid": "0", "expiring/paid": "0", "granted/granted": "0", "old-paid/paid": "5", "new-paid/paid": "10"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("remaining %s = %s, want %s (all: %v)", k, got[k], v, got)
			}
		}
		f.verify()
	})

	t.Run("InsufficientBalanceWritesNothing", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Granted: m("5"), Priority: 50}))
		before, _ := f.s.Balance(ctx, "w")
		_, err := f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d", Credits: m("5.000001"), Origin: "api"})
		expectErr(t, err, ledger.ErrInsufficientBalance)
		after := f.balance("w", "5")
		if after.Sequence != before.Sequence {
			t.Fatalf("a refused debit wrote entries: seq %d -> %d", before.Sequence, after.Sequence)
		}
		// the key was not consumed: the same debit applies once there is enough
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g2", Granted: m("1"), Priority: 50}))
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d", Credits: m("5.000001"), Origin: "api"}))
		f.balance("w", "0.999999")
		f.verify()
	})

	t.Run("OverdraftDebtRepaidByNextGrant", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "20")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: m("10"), Priority: 50}))
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d1", Credits: m("25"), Origin: "api"}))
		b := f.balance("w", "-15")
		if b.Debt != m("15") || b.Paid != 0 {
			t.Fatalf("debt %s paid %s", b.Debt, b.Paid)
		}
		_, err := f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d2", Credits: m("5.000001"), Origin: "api"})
		expectErr(t, err, ledger.ErrInsufficientBalance)
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d3", Credits: m("5"), Origin: "api"}))
		f.balance("w", "-20")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g2", Granted: m("30"), Priority: 50}))
		b = f.balance("w", "10")
		if b.Debt != 0 || b.Granted != m("10") {
			t.Fatalf("after repayment: debt %s granted %s", b.Debt, b.Granted)
		}
		f.verify()
	})

	t.Run("ExpiryAndEffectiveAt", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		now := f.clock.Now()
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "promo", Granted: m("50"), Priority: 50, ExpiresAt: tp(now.Add(time.Hour))}))
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "later", Paid: m("20"), Priority: 50, EffectiveAt: now.Add(2 * time.Hour)}))
		b := f.balance("w", "50")
		if b.NextExpiration == nil || b.NextExpiration.Credits != m("50") || !b.NextExpiration.At.Equal(now.Add(time.Hour)) {
			t.Fatalf("next expiration %+v", b.NextExpiration)
		}
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d", Credits: m("10"), Origin: "api"}))
		f.clock.Advance(time.Hour)
		if b := f.balance("w", "0"); !b.Due { // expired, even before ExpireDue writes it
			t.Fatal("an expiry has come due but Balance does not say so")
		}
		n, err := f.s.ExpireDue(ctx, "w")
		if err != nil || n != 1 {
			t.Fatalf("ExpireDue = %d, %v", n, err)
		}
		n, _ = f.s.ExpireDue(ctx, "w")
		if n != 0 {
			t.Fatalf("second ExpireDue expired %d", n)
		}
		if b := f.balance("w", "0"); b.Due {
			t.Fatal("Due after ExpireDue")
		}
		f.clock.Advance(time.Hour)
		f.balance("w", "20")
		page, err := f.s.Entries(ctx, ledger.EntryQuery{Wallet: "w", Types: []ledger.EntryType{ledger.EntryExpiry}})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].Credits != m("-40") {
			t.Fatalf("expiry entries %+v, %v", page.Entries, err)
		}
		f.verify()
	})

	t.Run("PendingPayment", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "card", Paid: m("100"), Priority: 50, Payment: ledger.PaymentPending}))
		b := f.balance("w", "0")
		if b.Pending != m("100") {
			t.Fatalf("pending %s", b.Pending)
		}
		_, err := f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d", Credits: m("1"), Origin: "api"})
		expectErr(t, err, ledger.ErrInsufficientBalance)
		r := f.must(f.s.SettlePayment(ctx, "w", "card", ledger.StatusSettled))
		if r.BalanceAfter != m("100") {
			t.Fatalf("after settle: %+v", r)
		}
		r2 := f.must(f.s.SettlePayment(ctx, "w", "card", ledger.StatusSettled))
		if !r2.Replayed {
			t.Fatal("second settle not a replay")
		}
		_, err = f.s.SettlePayment(ctx, "w", "card", ledger.StatusFailed)
		expectErr(t, err, ledger.ErrConflict)
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "card2", Paid: m("7"), Priority: 50, Payment: ledger.PaymentPending}))
		f.must(f.s.SettlePayment(ctx, "w", "card2", ledger.StatusFailed))
		b = f.balance("w", "100")
		if b.Pending != 0 {
			t.Fatalf("pending after failure %s", b.Pending)
		}
		page, err := f.s.Payments(ctx, ledger.EntryQuery{Wallet: "w", Statuses: []ledger.Status{ledger.StatusFailed}})
		if err != nil || len(page.Entries) != 1 || page.Entries[0].Key != "card2" {
			t.Fatalf("failed payments %+v %v", page.Entries, err)
		}
		f.verify()
	})

	t.Run("VoidRefundAdjust", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "buy", Paid: m("100"), Granted: m("10"), Priority: 50, Payment: ledger.PaymentPaid}))
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "promo", Granted: m("20"), Priority: 50}))
		f.must(f.s.Void(ctx, ledger.VoidRequest{Wallet: "w", Key: "v1", Credits: m("15"), GrantKey: "promo"}))
		f.balance("w", "115")
		_, err := f.s.Void(ctx, ledger.VoidRequest{Wallet: "w", Key: "v2", Credits: m("6"), GrantKey: "promo"})
		expectErr(t, err, ledger.ErrInsufficientBalance)
		f.must(f.s.Refund(ctx, ledger.RefundRequest{Wallet: "w", Key: "r1", Credits: m("40"), GrantKey: "buy", Payment: ledger.StatusPending}))
		f.balance("w", "75")
		f.must(f.s.SettlePayment(ctx, "w", "r1", ledger.StatusFailed)) // money not returned: credits come back
		f.balance("w", "115")
		f.must(f.s.Refund(ctx, ledger.RefundRequest{Wallet: "w", Key: "r2", Credits: m("5"), GrantKey: "buy", Payment: ledger.StatusFailed}))
		f.balance("w", "115")
		_, err = f.s.Refund(ctx, ledger.RefundRequest{Wallet: "w", Key: "r3", Credits: m("101"), GrantKey: "buy", Payment: ledger.StatusSettled})
		expectErr(t, err, ledger.ErrInsufficientBalance)
		f.must(f.s.Adjust(ctx, ledger.AdjustRequest{Wallet: "w", Key: "a1", Credits: m("-20"), Reason: "double grant"}))
		f.must(f.s.Adjust(ctx, ledger.AdjustRequest{Wallet: "w", Key: "a2", Credits: m("3.5"), Reason: "goodwill"}))
		f.balance("w", "98.5")
		f.must(f.s.Void(ctx, ledger.VoidRequest{Wallet: "w", Key: "v3", Credits: m("98.5")}))
		f.balance("w", "0")
		page, err := f.s.Payments(ctx, ledger.EntryQuery{Wallet: "w"})
		if err != nil || len(page.Entries) != 3 {
			t.Fatalf("payments %+v %v", page.Entries, err)
		}
		f.verify()
	})

	t.Run("AppliesTo", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "api-only", Granted: m("10"), Priority: 1, AppliesTo: ledger.AppliesTo{Origins: []string{"api"}}}))
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "general", Paid: m("10"), Priority: 50}))
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "batch", Credits: m("4"), Origin: "batch"}))
		got := f.remaining("w")
		if got["api-only/granted"] != "10" || got["general/paid"] != "6" {
			t.Fatalf("remaining %v", got)
		}
		_, err := f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "batch2", Credits: m("7"), Origin: "batch"})
		expectErr(t, err, ledger.ErrInsufficientBalance)
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "api", Credits: m("12"), Origin: "api"}))
		got = f.remaining("w")
		if got["api-only/granted"] != "0" || got["general/paid"] != "4" {
			t.Fatalf("remaining %v", got)
		}
		f.verify()
	})

	t.Run("Terminate", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: m("10"), Priority: 50}))
		f.must(f.s.Terminate(ctx, "w"))
		b := f.balance("w", "0")
		if !b.Terminated {
			t.Fatal("not terminated")
		}
		_, err := f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g2", Paid: m("10"), Priority: 50})
		expectErr(t, err, ledger.ErrWalletTerminated)
		_, err = f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d", Credits: m("1"), Origin: "api"})
		expectErr(t, err, ledger.ErrWalletTerminated)
		r := f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: m("10"), Priority: 50}))
		if !r.Replayed {
			t.Fatal("an applied key is still recognised after termination")
		}
		page, err := f.s.Entries(ctx, ledger.EntryQuery{Wallet: "w"})
		if err != nil || len(page.Entries) != 2 || page.Entries[0].Type != ledger.EntryExpiry {
			t.Fatalf("history %+v %v", page.Entries, err)
		}
		f.verify()
	})

	t.Run("HistoryPagination", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: m("1000"), Priority: 50}))
		for i := range 25 {
			f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: fmt.Sprint("d", i), Credits: m("1"), Origin: "api"}))
		}
		var seqs []int64
		cursor := ""
		for {
			page, err := f.s.Entries(ctx, ledger.EntryQuery{Wallet: "w", Limit: 10, Cursor: cursor, Types: []ledger.EntryType{ledger.EntryDebit}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entries {
				seqs = append(seqs, e.Seq)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if len(seqs) != 25 || seqs[0] != 26 || seqs[24] != 2 {
			t.Fatalf("seqs %v", seqs)
		}
		for i := 1; i < len(seqs); i++ {
			if seqs[i] >= seqs[i-1] {
				t.Fatalf("not newest first: %v", seqs)
			}
		}
		_, err := f.s.Entries(ctx, ledger.EntryQuery{Wallet: "w", Cursor: "garbage"})
		expectErr(t, err, ledger.ErrInvalid)
	})

	t.Run("HistoryWindowOldestFirstAndWallets", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("ns/a", "0")
		f.open("ns/b", "0")
		f.open("other/a", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "ns/a", Key: "g", Paid: m("1000"), Priority: 50}))
		start := f.clock.Now()
		for i := range 12 {
			origin := "api"
			if i%3 == 0 {
				origin = "ui"
			}
			f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "ns/a", Key: fmt.Sprint("d", i), Credits: m("1"), Origin: origin, Endpoint: "/x",
				Timestamp: start.Add(time.Duration(i-12) * time.Hour)}))
		}
		// [start-10h, start-2h): debits 2..9, of which 3, 6, 9 come from "ui".
		var got []string
		cursor := ""
		for {
			page, err := f.s.Entries(ctx, ledger.EntryQuery{Wallet: "ns/a", Limit: 2, Cursor: cursor, Oldest: true,
				From: start.Add(-10 * time.Hour), To: start.Add(-2 * time.Hour), Origin: "api"})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Entries {
				got = append(got, e.Key)
			}
			if page.Next == "" {
				break
			}
			cursor = page.Next
		}
		if fmt.Sprint(got) != "[d2 d4 d5 d7 d8]" {
			t.Fatalf("window, origin filter, oldest first: %v", got)
		}
		names, err := f.s.Wallets(ctx, "ns/")
		if err != nil || fmt.Sprint(names) != "[ns/a ns/b]" {
			t.Fatalf("Wallets(ns/) = %v, %v", names, err)
		}
		names, err = f.s.Wallets(ctx, "")
		if err != nil || len(names) != 3 {
			t.Fatalf("Wallets() = %v, %v", names, err)
		}
	})

	t.Run("DebitBatch", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("a", "0")
		f.open("b", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "a", Key: "g", Paid: m("10"), Priority: 50}))
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "b", Key: "g", Paid: m("1200"), Priority: 50}))
		var reqs []ledger.DebitRequest
		// a: 4 + 4 fit, the third 4 does not, the 2 after it does: order is kept.
		for i, c := range []string{"4", "4", "4", "2"} {
			reqs = append(reqs, ledger.DebitRequest{Wallet: "a", Key: fmt.Sprint("a", i), Credits: m(c), Origin: "api"})
		}
		// b: more debits than one job holds, and a repeated key.
		for i := range ledger.MaxDebitsPerJob + 100 {
			reqs = append(reqs, ledger.DebitRequest{Wallet: "b", Key: fmt.Sprint("b", i), Credits: m("1"), Origin: "api"})
		}
		reqs = append(reqs, ledger.DebitRequest{Wallet: "b", Key: "b0", Credits: m("1"), Origin: "api"},
			ledger.DebitRequest{Wallet: "b", Key: "b1", Credits: m("2"), Origin: "api"},
			ledger.DebitRequest{Wallet: "nope", Key: "x", Credits: m("1"), Origin: "api"},
			ledger.DebitRequest{Wallet: "a", Key: "", Credits: m("1"), Origin: "api"})
		results, errs := f.s.DebitBatch(ctx, reqs)
		for i := range 2 {
			if errs[i] != nil {
				t.Fatalf("a%d: %v", i, errs[i])
			}
		}
		expectErr(t, errs[2], ledger.ErrInsufficientBalance)
		if errs[3] != nil || results[3].BalanceAfter != m("0") {
			t.Fatalf("a3: %+v %v", results[3], errs[3])
		}
		n := len(reqs)
		if errs[n-4] != nil || !results[n-4].Replayed || results[n-4].EntryID != results[4].EntryID {
			t.Fatalf("repeat of b0: %+v %v", results[n-4], errs[n-4])
		}
		expectErr(t, errs[n-3], ledger.ErrConflict)
		expectErr(t, errs[n-2], ledger.ErrWalletNotFound)
		expectErr(t, errs[n-1], ledger.ErrInvalid)
		f.balance("a", "0")
		f.balance("b", fmt.Sprint(1200-ledger.MaxDebitsPerJob-100))
		f.verify()
	})

	t.Run("ConsumptionReport", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		start := f.clock.Now() // Monday 10:00
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: m("1000"), Priority: 50}))
		f.clock.Advance(72 * time.Hour) // Thursday
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d1", Credits: m("1.5"), Origin: "api", Endpoint: "/chat", Timestamp: start.Add(time.Hour)}))
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d2", Credits: m("2"), Origin: "api", Endpoint: "/embed", Timestamp: start.Add(25 * time.Hour)}))
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d3", Credits: m("3"), Origin: "batch", Timestamp: start.Add(26 * time.Hour)}))
		days, err := f.s.Consumption(ctx, ledger.ConsumptionQuery{Wallet: "w", From: start.Add(-10 * time.Hour), To: start.Add(72 * time.Hour), GroupBy: ledger.Day})
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 4 || days[0].Debited != m("1.5") || days[1].Debited != m("5") || days[0].Credited != m("1000") || len(days[1].Usage) != 2 {
			t.Fatalf("days %+v", days)
		}
		weeks, err := f.s.Consumption(ctx, ledger.ConsumptionQuery{Wallet: "w", From: start, To: start.Add(72 * time.Hour), GroupBy: ledger.Week, Origin: "api"})
		if err != nil || len(weeks) != 1 || weeks[0].Debited != m("3.5") || weeks[0].Credited != 0 {
			t.Fatalf("weeks %+v %v", weeks, err)
		}
		// Day, week and month totals (whole days from the daily rollups, the
		// edges from the hourly ones) equal the hourly totals, whatever the window.
		for _, win := range [][2]time.Duration{{-10 * time.Hour, 72 * time.Hour}, {90 * time.Minute, 26*time.Hour + 30*time.Minute}, {-48 * time.Hour, 0}, {2 * time.Hour, 25 * time.Hour}} {
			total := func(g ledger.GroupBy) (d, c money.Micros) {
				ps, err := f.s.Consumption(ctx, ledger.ConsumptionQuery{Wallet: "w", From: start.Add(win[0]), To: start.Add(win[1]), GroupBy: g})
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range ps {
					d += p.Debited
					c += p.Credited
				}
				return d, c
			}
			hd, hc := total(ledger.Hour)
			for _, g := range []ledger.GroupBy{ledger.Day, ledger.Week, ledger.Month} {
				if d, c := total(g); d != hd || c != hc {
					t.Errorf("window %v by %s: debited %s credited %s; by hour %s %s", win, g, d, c, hd, hc)
				}
			}
		}
		_, err = f.s.Consumption(ctx, ledger.ConsumptionQuery{Wallet: "w", From: start, To: start.Add(367 * 24 * time.Hour), GroupBy: ledger.Day})
		expectErr(t, err, ledger.ErrInvalid)
		_, err = f.s.Consumption(ctx, ledger.ConsumptionQuery{Wallet: "w", From: start, To: start.Add(-time.Hour), GroupBy: ledger.Day})
		expectErr(t, err, ledger.ErrInvalid)
		_, err = f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "future", Credits: m("1"), Origin: "api", Timestamp: f.clock.Now().Add(time.Minute)})
		expectErr(t, err, ledger.ErrInvalid)
		f.verify()
	})

	t.Run("BalanceAt", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		t0 := f.clock.Now()
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: m("100"), Priority: 50, ExpiresAt: tp(t0.Add(10 * time.Hour))}))
		f.clock.Advance(time.Hour)
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d", Credits: m("30"), Origin: "api"}))
		f.clock.Advance(time.Hour)
		for _, c := range []struct {
			at   time.Time
			want string
		}{{t0.Add(-time.Minute), "0"}, {t0, "100"}, {t0.Add(30 * time.Minute), "100"}, {t0.Add(time.Hour), "70"}, {t0.Add(10 * time.Hour), "0"}} {
			b, err := f.s.BalanceAt(ctx, "w", c.at)
			if err != nil || b.Available != m(c.want) {
				t.Errorf("BalanceAt(%s) = %s, %v; want %s", c.at, b.Available, err, c.want)
			}
		}
	})

	t.Run("ConcurrentWriters", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("hot", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "hot", Key: "g", Paid: m("1000"), Priority: 50}))
		var wg sync.WaitGroup
		var mu sync.Mutex
		var errs []error
		for w := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 50 {
					// every key twice: exactly one application each
					for range 2 {
						if _, err := f.s.Debit(ctx, ledger.DebitRequest{Wallet: "hot", Key: fmt.Sprintf("d-%d-%d", w, i), Credits: m("1.25"), Origin: "api"}); err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
						}
					}
				}
			}()
		}
		wg.Wait()
		if len(errs) > 0 {
			t.Fatal(errs[0])
		}
		f.balance("hot", "0") // 800 debits of 1.25
		_, err := f.s.Debit(ctx, ledger.DebitRequest{Wallet: "hot", Key: "one-more", Credits: m("0.000001"), Origin: "api"})
		expectErr(t, err, ledger.ErrInsufficientBalance)
		f.verify()
	})
	t.Run("PreviewMatchesApply", func(t *testing.T) { previewMatchesApply(t, open) })
	t.Run("Forecast", func(t *testing.T) { forecastCases(t, open) })
}
