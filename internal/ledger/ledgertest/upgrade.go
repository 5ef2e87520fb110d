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
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
)

// OpenAt opens the ledger at dsn with the first version migrations only
// (0: all of them).
type OpenAt func(ctx context.Context, dsn string, o ledger.Options, version int) (ledger.Store, error)

// RunUpgrade writes a history with every version of the schema since from,
// upgrading one version at a time, and checks after each upgrade that what
// was written reads back the same (balances now and in the past, grants,
// history) and that Verify finds nothing.
func RunUpgrade(t *testing.T, dsn string, from, latest int, openAt OpenAt) {
	ctx := t.Context()
	clock := NewClock()
	start := clock.Now()
	type snapshot struct {
		balance, past ledger.Balance
		grants        []ledger.Grant
		entries       []ledger.Entry
	}
	read := func(s ledger.Store) snapshot {
		t.Helper()
		var sn snapshot
		var err error
		if sn.balance, err = s.Balance(ctx, "w"); err != nil {
			t.Fatal(err)
		}
		if sn.past, err = s.BalanceAt(ctx, "w", start.Add(90*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if sn.grants, err = s.Grants(ctx, "w"); err != nil {
			t.Fatal(err)
		}
		page, err := s.Entries(ctx, ledger.EntryQuery{Wallet: "w", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		sn.entries = page.Entries
		rep, err := s.Verify(ctx)
		if err != nil || len(rep.Problems) > 0 {
			t.Fatalf("verify: %v %v", rep.Problems, err)
		}
		return sn
	}
	var want snapshot
	for v := from; v <= latest; v++ {
		s, err := openAt(ctx, dsn, ledger.Options{Clock: clock}, v)
		if err != nil {
			t.Fatalf("opening at version %d: %v", v, err)
		}
		if v > from {
			if got := read(s); !reflect.DeepEqual(got, want) {
				t.Fatalf("after the upgrade to version %d the ledger reads\n%+v\nbefore it read\n%+v", v, got, want)
			}
		} else if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "w", Currency: "USD", Rate: 10_000, OverdraftLimit: m("5")}); err != nil {
			t.Fatal(err)
		}
		// a little of everything, at every version: grants of both kinds
		// with priorities and an expiry, debits spanning grants, a void, a
		// refund, an adjustment, an expiry
		k := func(s string) string { return fmt.Sprintf("%s-v%d", s, v) }
		expires := clock.Now().Add(2 * time.Hour)
		for _, err := range []error{
			second(s.Grant(ctx, ledger.GrantRequest{Wallet: "w", Key: k("paid"), Paid: m("100"), Priority: 50})),
			second(s.Grant(ctx, ledger.GrantRequest{Wallet: "w", Key: k("promo"), Granted: m("20"), Priority: 10, ExpiresAt: &expires})),
			second(s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: k("d1"), Credits: m("25.5"), Origin: "api", Endpoint: "/chat"})),
			second(s.Void(ctx, ledger.VoidRequest{Wallet: "w", Key: k("void"), Credits: m("1.25")})),
			second(s.Refund(ctx, ledger.RefundRequest{Wallet: "w", Key: k("refund"), Credits: m("10"), GrantKey: k("paid"), Payment: ledger.StatusSettled})),
			second(s.Adjust(ctx, ledger.AdjustRequest{Wallet: "w", Key: k("adj"), Credits: m("-0.75"), Reason: "correction"})),
		} {
			if err != nil {
				t.Fatalf("writing at version %d: %v", v, err)
			}
		}
		clock.Advance(3 * time.Hour)
		if _, err := s.ExpireDue(ctx, "w"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: k("d2"), Credits: m("3"), Origin: "batch"}); err != nil {
			t.Fatal(err)
		}
		want = read(s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
