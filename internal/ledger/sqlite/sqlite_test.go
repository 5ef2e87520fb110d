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

package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/ledgertest"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
)

func TestMain(m *testing.M) {
	ledgertest.CrashChild(openDSN)
	os.Exit(m.Run())
}

func openDSN(ctx context.Context, path string, o ledger.Options) (ledger.Store, error) {
	return sqlite.Open(ctx, path, o)
}

func openWith(t *testing.T, o ledger.Options) ledger.Store {
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "ledger.db"), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t *testing.T, clock ledger.Clock) ledger.Store {
	return openWith(t, ledger.Options{Clock: clock})
}

func TestCrashAbandonedTransaction(t *testing.T) { ledgertest.RunAbandon(t, openWith) }

func TestCrashKilledProcess(t *testing.T) {
	ledgertest.RunKill(t, func(t *testing.T) string { return filepath.Join(t.TempDir(), "ledger.db") }, openDSN)
}

func TestConformance(t *testing.T) { ledgertest.Run(t, open) }

// TestVerifyFindsTampering proves Verify is not a rubber stamp: each kind of
// corruption written behind the ledger's back is reported.
func TestVerifyFindsTampering(t *testing.T) {
	for name, stmt := range map[string]string{
		"grant remaining":          `UPDATE grants SET remaining = remaining + 1`,
		"wallet snapshot":          `UPDATE wallets SET paid = paid + 1`,
		"wallet debt":              `UPDATE wallets SET debt = debt + 1`,
		"lost entry":               `DELETE FROM entries WHERE seq = 2`,
		"rollup":                   `UPDATE rollups SET debited = debited + 1 WHERE debited > 0`,
		"lost allocation":          `DELETE FROM allocations WHERE rowid IN (SELECT MAX(rowid) FROM allocations)`,
		"lost inline allocation":   `UPDATE entries SET grant_id = NULL WHERE key = 'd'`,
		"inline allocation":        `UPDATE entries SET grant_amount = credits + 1 WHERE key = 'd'`,
		"allocation in two places": `INSERT INTO allocations (entry_id, grant_id, amount) SELECT id, grant_id, 0 FROM entries WHERE key = 'd'`,
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t, ledgertest.NewClock()).(*ledger.SQLStore)
			defer s.Close()
			ctx := t.Context()
			if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "w", Currency: "EUR", Rate: 1_000_000}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: 10_000_000, Priority: 50}); err != nil {
				t.Fatal(err)
			}
			// one debit drawn from one grant (its allocation in its row),
			// one from two (in the allocations table)
			if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "promo", Granted: 2_000_000, Priority: 10}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d", Credits: 1_000_000, Origin: "api"}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "d2", Credits: 3_000_000, Origin: "api"}); err != nil {
				t.Fatal(err)
			}
			rep, err := s.Verify(ctx)
			if err != nil || len(rep.Problems) != 0 {
				t.Fatalf("clean ledger: %v %v", rep.Problems, err)
			}
			if _, err := s.DB().ExecContext(ctx, stmt); err != nil {
				t.Fatal(err)
			}
			rep, err = s.Verify(ctx)
			if err != nil || len(rep.Problems) == 0 {
				t.Fatalf("Verify did not notice %s: %v", name, err)
			}
			t.Logf("found: %v", rep.Problems)
		})
	}
}

func TestModel(t *testing.T) {
	cfg := ledgertest.ModelConfig{Runs: 4, Seqs: 250, Steps: 25, Seed: 1}
	if testing.Short() {
		cfg = ledgertest.ModelConfig{Runs: 1, Seqs: 40, Steps: 25, Seed: 1}
	}
	ledgertest.RunModel(t, open, cfg)
}

// BenchmarkDebit posts debits with durable commits from 64 concurrent
// writers (b.SetParallelism) over 1000 wallets; ns/op is the inverse of
// postings per second. hack/ledger-load reports latency percentiles too.
func BenchmarkDebit(b *testing.B) {
	for _, wallets := range []int{1000, 1} {
		b.Run(fmt.Sprintf("wallets=%d", wallets), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "ledger.db"), ledger.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			for i := range wallets {
				name := fmt.Sprint("w", i)
				if err := s.OpenWallet(b.Context(), ledger.WalletSpec{Wallet: name, Currency: "USD", Rate: 10_000}); err != nil {
					b.Fatal(err)
				}
				if _, err := s.TopUp(b.Context(), ledger.TopUpRequest{Wallet: name, Key: "g", Paid: 900_000_000_000_000_000, Priority: 50}); err != nil {
					b.Fatal(err)
				}
			}
			var n atomic.Int64
			b.SetParallelism(32) // x GOMAXPROCS(2) = 64 writers
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := n.Add(1)
					if _, err := s.Debit(context.Background(), ledger.DebitRequest{Wallet: fmt.Sprint("w", int(i)%wallets), Key: fmt.Sprint("d", i), Credits: 1_250_000, Origin: "api"}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "postings/s")
		})
	}
}

// BenchmarkBalance reads a balance (the O(1) snapshot path).
func BenchmarkBalance(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if err := s.OpenWallet(b.Context(), ledger.WalletSpec{Wallet: "w", Currency: "USD", Rate: 10_000}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.TopUp(b.Context(), ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: 100_000_000, Priority: 50}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Balance(b.Context(), "w"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHistoryPage reads the first page of a wallet's payments, of its
// top-ups, and of all its entries, in a wallet of 200,000 debits and one
// paid top-up: the rare kinds come from their own indexes, not from reading
// every debit.
func BenchmarkHistoryPage(b *testing.B) {
	s, err := sqlite.Open(b.Context(), filepath.Join(b.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "big", Currency: "USD", Rate: 10_000}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "big", Key: "g", Paid: 900_000_000_000_000, Priority: 50, Payment: ledger.PaymentPaid}); err != nil {
		b.Fatal(err)
	}
	for batch := range 40 {
		var reqs []ledger.DebitRequest
		for i := range 5000 {
			reqs = append(reqs, ledger.DebitRequest{Wallet: "big", Key: fmt.Sprint("d", batch, "-", i), Credits: 1_000, Origin: "api"})
		}
		if _, errs := s.DebitBatch(ctx, reqs); errs != nil {
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	for name, q := range map[string]func() (ledger.EntryPage, error){
		"payments": func() (ledger.EntryPage, error) { return s.Payments(ctx, ledger.EntryQuery{Wallet: "big"}) },
		"topups": func() (ledger.EntryPage, error) {
			return s.Entries(ctx, ledger.EntryQuery{Wallet: "big", Types: []ledger.EntryType{ledger.EntryTopUp}})
		},
		"all": func() (ledger.EntryPage, error) { return s.Entries(ctx, ledger.EntryQuery{Wallet: "big"}) },
	} {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if _, err := q(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestUpgrade upgrades a ledger written by the schema version 3 code to
// the latest version: it reads back the same, verifies clean and takes
// more writes.
func TestUpgrade(t *testing.T) {
	ledgertest.RunUpgrade(t, filepath.Join(t.TempDir(), "ledger.db"), sqlite.OpenAt, "")
}

// One writer: a second open of the same file waits for the lock, then
// refuses, naming the lock file and its holder; a read-only open does not
// need the lock; after Close the file opens again.
func TestOneWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	first, err := sqlite.Open(t.Context(), path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = sqlite.Open(t.Context(), path, ledger.Options{LockWait: 300 * time.Millisecond})
	if !errors.Is(err, sqlite.ErrLocked) || !strings.Contains(err.Error(), path+".lock is held by pid "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("second writer: %v", err)
	}
	ro, err := sqlite.Open(t.Context(), path, ledger.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only open next to the writer: %v", err)
	}
	if _, err := ro.Verify(t.Context()); err != nil {
		t.Fatal(err)
	}
	ro.Close()
	first.Close()
	again, err := sqlite.Open(t.Context(), path, ledger.Options{})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	again.Close()
}

// BenchmarkForecast projects 90 days of a typical wallet (two usage pairs,
// a monthly and a threshold rule) and of a hostile one (five rules firing
// every minute, 1,000 usage pairs, 20 restricted grants): the bounds keep
// the second to at most 24 runs per rule and 64 debits a day.
func BenchmarkForecast(b *testing.B) {
	monthly := func(t time.Time) time.Time { return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC) }
	everyMinute := func(t time.Time) time.Time { return t.Truncate(time.Minute).Add(time.Minute) }
	for _, c := range []struct {
		name       string
		pairs      int
		restricted int
		rules      []ledger.ForecastRule
	}{
		{"typical", 2, 0, []ledger.ForecastRule{
			{Next: monthly, Paid: 500_000_000, Priority: 50},
			{Threshold: 50_000_000, Armed: true, Paid: 100_000_000, Priority: 50},
		}},
		{"hostile", 1000, 20, func() []ledger.ForecastRule {
			var rs []ledger.ForecastRule
			for range 5 {
				rs = append(rs, ledger.ForecastRule{Next: everyMinute, Paid: 1, Priority: 50})
			}
			return rs
		}()},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "ledger.db"), ledger.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "w", Currency: "USD", Rate: 10_000}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: 1_000_000_000_000, Priority: 50}); err != nil {
				b.Fatal(err)
			}
			for i := range c.restricted {
				if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: fmt.Sprint("r", i), Granted: 1_000_000, Priority: 50,
					AppliesTo: ledger.AppliesTo{Endpoints: []string{fmt.Sprint("/e", i)}}}); err != nil {
					b.Fatal(err)
				}
			}
			var reqs []ledger.DebitRequest
			for i := range c.pairs {
				reqs = append(reqs, ledger.DebitRequest{Wallet: "w", Key: fmt.Sprint("d", i), Credits: 1_000_000, Origin: "api",
					Endpoint: fmt.Sprint("/e", i), Timestamp: time.Now().Add(-2 * time.Hour)})
			}
			if _, errs := s.DebitBatch(ctx, reqs); errs != nil {
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			req := ledger.ForecastRequest{Wallet: "w", Plan: ledger.ForecastPlan{Rules: c.rules}}
			b.ResetTimer()
			for b.Loop() {
				if _, err := s.Forecast(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
