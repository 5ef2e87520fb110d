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
	"database/sql"
	_ "embed" // the version 3 ledger
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
)

// OpenAt opens the ledger at dsn with the first version migrations only
// (0: all of them).
type OpenAt func(ctx context.Context, dsn string, o ledger.Options, version int) (ledger.Store, error)

// ledgerV3 is a ledger written by the code of schema version 3 (two
// rounds of upgradeRound's writes, the first at version 2, the second at
// version 3), as INSERT statements; ledgerV3Reads is what that code read
// back from it (an upgradeSnapshot). The code that wrote them is gone: the
// files are its record.
//
//go:embed testdata/ledger-v3.sql
var ledgerV3 string

//go:embed testdata/ledger-v3.json
var ledgerV3Reads []byte

type upgradeSnapshot struct {
	Balance, Past ledger.Balance
	Grants        []ledger.Grant
	Entries       []ledger.Entry
}

// RunUpgrade loads the version 3 ledger into a database at schema version
// 3 (resync, if set, then moves the database's id generators past the
// loaded rows), upgrades it to the latest version, and checks that it reads
// back exactly what the version 3 code read and verifies clean; then it
// writes another round of everything with this code, and checks the
// balance moved by what the round implies, Verify, and that a reopened
// store reads the same.
func RunUpgrade(t *testing.T, dsn string, openAt OpenAt, resync string) {
	ctx := t.Context()
	clock := NewClock()
	start := clock.Now()
	read := func(s ledger.Store) upgradeSnapshot {
		t.Helper()
		var sn upgradeSnapshot
		var err error
		if sn.Balance, err = s.Balance(ctx, "w"); err != nil {
			t.Fatal(err)
		}
		if sn.Past, err = s.BalanceAt(ctx, "w", start.Add(90*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if sn.Grants, err = s.Grants(ctx, "w"); err != nil {
			t.Fatal(err)
		}
		page, err := s.Entries(ctx, ledger.EntryQuery{Wallet: "w", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		sn.Entries = page.Entries
		rep, err := s.Verify(ctx)
		if err != nil || len(rep.Problems) > 0 {
			t.Fatalf("verify: %v %v", rep.Problems, err)
		}
		return sn
	}
	asJSON := func(sn upgradeSnapshot) string {
		b, err := json.MarshalIndent(sn, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		return string(b) + "\n"
	}

	s, err := openAt(ctx, dsn, ledger.Options{Clock: clock}, 3)
	if err != nil {
		t.Fatal(err)
	}
	db := s.(interface{ DB() *sql.DB }).DB()
	var sqlLines []string // the file's statements without its comment lines
	for _, l := range strings.Split(ledgerV3+resync, "\n") {
		if !strings.HasPrefix(l, "--") {
			sqlLines = append(sqlLines, l)
		}
	}
	for _, stmt := range strings.Split(strings.Join(sqlLines, "\n"), ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("loading the version 3 ledger: %v\n%s", err, stmt)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// the clock where the version 3 writes left it
	clock.Advance(6 * time.Hour)
	s, err = openAt(ctx, dsn, ledger.Options{Clock: clock}, 0)
	if err != nil {
		t.Fatalf("upgrading: %v", err)
	}
	upgraded := read(s)
	if got, want := asJSON(upgraded), string(ledgerV3Reads); got != want {
		t.Fatalf("after the upgrade the ledger reads\n%s\nthe version 3 code read\n%s", got, want)
	}

	upgradeRound(t, s, clock, 4)
	after := read(s)
	// the round adds 100 + 20 + 5, takes 25.5 (debit), 1.25 (void), 10
	// (refund), 0.75 (adjustment), expires 5 unused, settles the previous
	// round's 7 pending and takes 3 (debit): 86.5
	if got, want := after.Balance.Available-upgraded.Balance.Available, m("86.5"); got != want {
		t.Fatalf("a round after the upgrade moved the balance by %s, want %s", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = openAt(ctx, dsn, ledger.Options{Clock: clock}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := asJSON(read(s)), asJSON(after); got != want {
		t.Fatalf("reopened, the ledger reads\n%s\nbefore it read\n%s", got, want)
	}
}

// upgradeRound writes a little of everything, as the version 3 code did for
// the loaded ledger at versions 2 and 3: grants of both kinds with
// priorities and expiries, a debit spanning grants, a void, a refund, an
// adjustment, a pending payment, the settlement of the previous round's,
// an expiry and a debit after it.
func upgradeRound(t *testing.T, s ledger.Store, clock *Clock, v int) {
	t.Helper()
	ctx := t.Context()
	k := func(s string) string { return fmt.Sprintf("%s-v%d", s, v) }
	expires := clock.Now().Add(2 * time.Hour)
	for _, err := range []error{
		second(s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: k("paid"), Paid: m("100"), Priority: 50})),
		second(s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: k("promo"), Granted: m("20"), Priority: 10, ExpiresAt: &expires})),
		second(s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: k("promo2"), Granted: m("5"), Priority: 90, ExpiresAt: &expires})),
		second(s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: k("d1"), Credits: m("25.5"), Origin: "api", Endpoint: "/chat"})),
		second(s.Void(ctx, ledger.VoidRequest{Wallet: "w", Key: k("void"), Credits: m("1.25")})),
		second(s.Refund(ctx, ledger.RefundRequest{Wallet: "w", Key: k("refund"), Credits: m("10"), GrantKey: k("paid"), Payment: ledger.StatusSettled})),
		second(s.Adjust(ctx, ledger.AdjustRequest{Wallet: "w", Key: k("adj"), Credits: m("-0.75"), Reason: "correction"})),
		second(s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: k("pending"), Paid: m("7"), Priority: 50, Payment: ledger.PaymentPending})),
		second(s.SettlePayment(ctx, "w", fmt.Sprintf("pending-v%d", v-1), ledger.StatusSettled)),
	} {
		if err != nil {
			t.Fatalf("writing round %d: %v", v, err)
		}
	}
	clock.Advance(3 * time.Hour)
	if _, err := s.ExpireDue(ctx, "w"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: k("d2"), Credits: m("3"), Origin: "batch"}); err != nil {
		t.Fatal(err)
	}
}
