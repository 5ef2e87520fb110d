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

package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/ledgertest"
	"github.com/walletop/wallet-operator/internal/ledger/postgres"
	"github.com/walletop/wallet-operator/internal/testenv"
)

var server *testenv.Postgres

func TestMain(m *testing.M) {
	ledgertest.CrashChild(openDSN)
	var err error
	server, err = testenv.StartPostgres()
	if err != nil {
		if testenv.InCI() {
			fmt.Fprintln(os.Stderr, "CI=true and PostgreSQL cannot start:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "skipping the PostgreSQL suites (set CI=true to make this a failure):", err)
	}
	code := m.Run()
	if server != nil {
		server.Stop()
	}
	os.Exit(code)
}

// URL returns a new empty database, or skips (fails in CI) without a server.
func newDatabase(t *testing.T) string {
	t.Helper()
	if server == nil {
		testenv.Missing(testenv.ErrNoPostgres, func(m string) { t.Skip(m) }, func(m string) { t.Fatal(m) })
	}
	url, err := server.NewDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return url
}

func openDSN(ctx context.Context, url string, o ledger.Options) (ledger.Store, error) {
	return postgres.Open(ctx, url, o)
}

func openWith(t *testing.T, o ledger.Options) ledger.Store {
	s, err := postgres.Open(t.Context(), newDatabase(t), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func open(t *testing.T, clock ledger.Clock) ledger.Store {
	return openWith(t, ledger.Options{Clock: clock})
}

func TestCrashAbandonedTransaction(t *testing.T) { ledgertest.RunAbandon(t, openWith) }

func TestCrashKilledProcess(t *testing.T) { ledgertest.RunKill(t, newDatabase, openDSN) }

func TestConformance(t *testing.T) { ledgertest.Run(t, open) }

// TestTwoReplicasWriteOneWallet runs two stores (two operator replicas, each
// with its own connection pool) against one database, both applying the
// same debits at once: every key applies exactly once and Verify passes.
func TestTwoReplicasWriteOneWallet(t *testing.T) {
	url := newDatabase(t)
	clock := ledgertest.NewClock()
	var stores []*ledger.SQLStore
	for range 2 {
		s, err := postgres.Open(t.Context(), url, ledger.Options{Clock: clock})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores = append(stores, s)
	}
	ctx := t.Context()
	if err := stores[0].OpenWallet(ctx, ledger.WalletSpec{Wallet: "hot", Currency: "USD", Rate: 1_000_000, OverdraftLimit: 0}); err != nil {
		t.Fatal(err)
	}
	if err := stores[1].OpenWallet(ctx, ledger.WalletSpec{Wallet: "hot", Currency: "USD", Rate: 1_000_000, OverdraftLimit: 0}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[0].TopUp(ctx, ledger.TopUpRequest{Wallet: "hot", Key: "g", Paid: 500_000_000, Priority: 50}); err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 8, 60 // 480 distinct debits of 1 credit, each sent to both replicas
	errs := make(chan error, 2*workers*perWorker)
	done := make(chan struct{})
	for w := range workers {
		for r, s := range stores {
			go func() {
				for i := range perWorker {
					_, err := s.Debit(ctx, ledger.DebitRequest{Wallet: "hot", Key: fmt.Sprintf("d-%d-%d", w, i), Credits: 1_000_000, Origin: "api"})
					if err != nil {
						errs <- fmt.Errorf("replica %d: %w", r, err)
					}
				}
				done <- struct{}{}
			}()
		}
	}
	for range 2 * workers {
		<-done
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, s := range stores {
		b, err := s.Balance(ctx, "hot")
		if err != nil || b.Available != 20_000_000 || b.Sequence != 1+workers*perWorker {
			t.Fatalf("balance %+v, %v; want 20 credits after %d entries", b, err, 1+workers*perWorker)
		}
	}
	rep, err := stores[1].Verify(ctx)
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("verify: %v %v", rep.Problems, err)
	}
}

// TestReplicasMigrateTogether opens one new database from several stores at
// once (operator replicas starting together): each migration applies once,
// the others wait for it, and every store opens.
func TestReplicasMigrateTogether(t *testing.T) {
	for range 3 {
		url := newDatabase(t)
		errs := make(chan error, 4)
		for range 4 {
			go func() {
				s, err := postgres.Open(t.Context(), url, ledger.Options{Clock: ledgertest.NewClock()})
				if err == nil {
					err = s.Close()
				}
				errs <- err
			}()
		}
		for range 4 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		s, err := postgres.Open(t.Context(), url, ledger.Options{Clock: ledgertest.NewClock()})
		if err != nil {
			t.Fatal(err)
		}
		var n, top int
		if err := s.DB().QueryRowContext(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &top); err != nil {
			t.Fatal(err)
		}
		if n != len(postgres.Dialect.Migrations) || top != n {
			t.Fatalf("%d migrations recorded, the last %d; want %d", n, top, len(postgres.Dialect.Migrations))
		}
		s.Close()
	}
}

// TestVerifyFindsDuplicateKeys: the idempotency key is indexed by a
// digest here, not by a unique index, so Verify is what would notice a
// key written twice behind the engine's back.
func TestVerifyFindsDuplicateKeys(t *testing.T) {
	s := open(t, ledgertest.NewClock()).(*ledger.SQLStore)
	defer s.Close()
	ctx := t.Context()
	if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "w", Currency: "EUR", Rate: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "g", Paid: 10_000_000, Priority: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO entries (wallet_id, seq, hash, credits, ts, applied_at, balance_after, type, status, payment, key)
		SELECT wallet_id, seq + 1, hash, 0, ts, applied_at, balance_after, 5, status, 0, key FROM entries WHERE key = 'g'`); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Verify(ctx)
	if err != nil || !strings.Contains(strings.Join(rep.Problems, "\n"), `wallet w: 2 entries with key "g"`) {
		t.Fatalf("Verify did not notice the key written twice: %v %v", rep.Problems, err)
	}
}

func TestModel(t *testing.T) {
	cfg := ledgertest.ModelConfig{Runs: 4, Seqs: 250, Steps: 25, Seed: 1001}
	if testing.Short() {
		cfg = ledgertest.ModelConfig{Runs: 1, Seqs: 40, Steps: 25, Seed: 1001}
	}
	ledgertest.RunModel(t, open, cfg)
}

// TestChangesReachOtherReplicas: a replica's change feed sees the wallets
// another replica wrote (LISTEN/NOTIFY, delivered on commit).
func TestChangesReachOtherReplicas(t *testing.T) {
	url := newDatabase(t)
	a, err := postgres.Open(t.Context(), url, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(t.Context(), url, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	feed := b.Changes()
	if err := a.OpenWallet(t.Context(), ledger.WalletSpec{Wallet: "team-a/main", Currency: "USD", Rate: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(10 * time.Second)
	for attempt := 0; ; attempt++ {
		// the listener may not be connected yet: write until b hears of it
		if _, err := a.TopUp(t.Context(), ledger.TopUpRequest{Wallet: "team-a/main", Key: fmt.Sprint("g", attempt), Granted: 1_000_000, Priority: 50}); err != nil {
			t.Fatal(err)
		}
		select {
		case names := <-feed:
			if len(names) != 1 || names[0] != "team-a/main" {
				t.Fatalf("b heard %v", names)
			}
			return
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("b never heard of a's write")
		}
	}
}

// TestStatisticsFollowGrowth: statistics taken while the ledger was tiny
// (one entry: every column looks unique) would have the planner find
// idempotency keys through the (wallet, seq) index, reading a wallet's
// whole history per lookup. The store refreshes them as its entries double,
// after which a key lookup is planned on the unique (wallet, key) index.
func TestStatisticsFollowGrowth(t *testing.T) {
	s, err := postgres.Open(t.Context(), newDatabase(t), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "hot", Currency: "USD", Rate: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "hot", Key: "g", Paid: 500_000_000, Priority: 50}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `ANALYZE entries`); err != nil {
		t.Fatal(err)
	}
	analyzed := func() (n int64) {
		if err := s.DB().QueryRowContext(ctx, `SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'entries'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := analyzed()
	var reqs []ledger.DebitRequest
	for i := range 1500 {
		reqs = append(reqs, ledger.DebitRequest{Wallet: "hot", Key: fmt.Sprint("d-", i), Credits: 1_000, Origin: "api"})
	}
	if _, errs := s.DebitBatch(ctx, reqs); errs != nil {
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for analyzed() == before { // the statistics reach the server asynchronously
		if time.Now().After(deadline) {
			t.Fatal("the store never refreshed the entries' statistics")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var plan string
	rows, err := s.DB().QueryContext(ctx, `EXPLAIN SELECT e.* FROM unnest('{1}'::bigint[], '{d-7}'::text[]) AS k(kw, kk)
		CROSS JOIN LATERAL (SELECT id FROM entries WHERE `+postgres.Dialect.KeyMatch("k.kw", "k.kk")+` OFFSET 0) e`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan += line + "\n"
	}
	rows.Close()
	if !strings.Contains(plan, "entries_key") {
		t.Fatalf("a key lookup is not planned on entries_key:\n%s", plan)
	}
}

// TestUpgrade upgrades a ledger written by the schema version 3 code to
// the latest version: it reads back the same, verifies clean and takes
// more writes.
func TestUpgrade(t *testing.T) {
	ledgertest.RunUpgrade(t, newDatabase(t), postgres.OpenAt, `SELECT setval(pg_get_serial_sequence('wallets', 'id'), (SELECT MAX(id) FROM wallets));
SELECT setval(pg_get_serial_sequence('grants', 'id'), (SELECT MAX(id) FROM grants));
SELECT setval(pg_get_serial_sequence('entries', 'id'), (SELECT MAX(id) FROM entries))`)
}
