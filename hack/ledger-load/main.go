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

// Command ledger-load measures the ledger: postings per second with durable
// commits (1 or many concurrent writers, many wallets or one hot wallet,
// with and without group commit), acknowledgement latency, bytes of storage
// per posting, balance read latency, and a 366-day consumption report over a
// wallet with a million entries. Results go to stdout as a Markdown table
// row; docs/benchmarks.md records them.
//
//	go run ./hack/ledger-load -backend sqlite -writers 64 -wallets 1000 -postings 200000
//	go run ./hack/ledger-load -backend postgres -writers 64 -wallets 1 -postings 50000
//	go run ./hack/ledger-load -backend sqlite -report-entries 1000000
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/postgres"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/loadtest"
	"github.com/walletop/wallet-operator/internal/money"
	"github.com/walletop/wallet-operator/internal/testenv"
)

// keyPrefix starts every posting's idempotency key; the posting's number follows.
var keyPrefix = flag.String("key-prefix", "usage-", "idempotency keys are this followed by the posting's number (a longer prefix: keys as long as real ones, such as a WalletTransaction's namespace/name)")

func main() {
	backendName := flag.String("backend", "sqlite", "sqlite or postgres (a throwaway server is started)")
	writers := flag.Int("writers", 64, "concurrent writers")
	wallets := flag.Int("wallets", 1000, "wallets the postings spread over (1: one hot wallet)")
	postings := flag.Int("postings", 100000, "debits to post")
	batch := flag.Int("batch", 256, "group commit: operations per transaction at most (1: unbatched)")
	flag.IntVar(&committers, "committers", 0, "concurrent committing transactions (PostgreSQL; 0: the backend's default)")
	reads := flag.Int("reads", 100000, "balance reads to time after the postings")
	reportEntries := flag.Int("report-entries", 0, "if > 0: build a wallet with this many entries spread over 366 days and time the by-day report")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile here")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*backendName, *writers, *wallets, *postings, *batch, *reads, *reportEntries); err != nil {
		fmt.Fprintln(os.Stderr, "ledger-load:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

var committers int

type store interface {
	ledger.Store
	DB() *sql.DB
}

func open(ctx context.Context, backend string, o ledger.Options) (store, func() (int64, error), func(), error) {
	switch backend {
	case "sqlite":
		dir, err := os.MkdirTemp("", "ledger-load-")
		if err != nil {
			return nil, nil, nil, err
		}
		path := filepath.Join(dir, "ledger.db")
		s, err := sqlite.Open(ctx, path, o)
		if err != nil {
			return nil, nil, nil, err
		}
		size := func() (int64, error) {
			if _, err := s.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
				return 0, err
			}
			st, err := os.Stat(path)
			if err != nil {
				return 0, err
			}
			return st.Size(), nil
		}
		return s, size, func() { s.Close(); os.RemoveAll(dir) }, nil
	case "postgres":
		pg, err := testenv.StartPostgres()
		if err != nil {
			return nil, nil, nil, err
		}
		url, err := pg.NewDatabase(ctx)
		if err != nil {
			pg.Stop()
			return nil, nil, nil, err
		}
		s, err := postgres.Open(ctx, url, o)
		if err != nil {
			pg.Stop()
			return nil, nil, nil, err
		}
		size := func() (int64, error) {
			if _, err := s.DB().Exec(`VACUUM ANALYZE`); err != nil {
				return 0, err
			}
			var n int64
			if err := s.DB().QueryRow(`SELECT pg_database_size(current_database())`).Scan(&n); err != nil {
				return 0, err
			}
			printRelations(s.DB())
			return n, nil
		}
		return s, size, func() { s.Close(); pg.Stop() }, nil
	}
	return nil, nil, nil, fmt.Errorf("unknown backend %q", backend)
}

func run(backend string, writers, wallets, postings, batch, reads, reportEntries int) error {
	ctx := context.Background()
	if reportEntries > 0 {
		return report(ctx, backend, reportEntries)
	}
	s, size, closeFn, err := open(ctx, backend, ledger.Options{MaxBatch: batch, Writers: committers})
	if err != nil {
		return err
	}
	defer closeFn()
	for i := range wallets {
		name := fmt.Sprintf("team-%d/main", i)
		if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: name, Currency: "USD", Rate: 10_000}); err != nil {
			return err
		}
		if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: name, Key: "grant", Paid: money.MaxAmount / 2, Priority: 50}); err != nil {
			return err
		}
	}
	afterSetup, err := size()
	if err != nil {
		return err
	}
	var next atomic.Int64
	lat := make([][]time.Duration, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	start := time.Now()
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(postings) {
					return
				}
				t0 := time.Now()
				_, err := s.Debit(ctx, ledger.DebitRequest{
					Wallet: fmt.Sprintf("team-%d/main", int(i)%wallets), Key: *keyPrefix + strconv.FormatInt(i, 10),
					Credits: money.Micros(1_250_000), Origin: "api", Endpoint: "/v1/chat/completions",
				})
				if err != nil {
					errs <- err
					return
				}
				lat[w] = append(lat[w], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	bytes, err := size()
	if err != nil {
		return err
	}
	rep, err := s.Verify(ctx)
	if err != nil {
		return err
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("verify: %v", rep.Problems[:min(3, len(rep.Problems))])
	}
	var rl []time.Duration
	for i := range reads {
		t0 := time.Now()
		if _, err := s.Balance(ctx, fmt.Sprintf("team-%d/main", i%wallets)); err != nil {
			return err
		}
		rl = append(rl, time.Since(t0))
	}
	fmt.Printf("| %s | %d | %d | %d | %d | %.0f | %s | %s | %.0f | %s | %s |\n",
		backend, writers, wallets, batch, postings, float64(postings)/elapsed.Seconds(),
		loadtest.Percentile(all, 50).Round(10*time.Microsecond), loadtest.Percentile(all, 99).Round(10*time.Microsecond),
		float64(bytes-afterSetup)/float64(postings), loadtest.Percentile(rl, 50).Round(time.Microsecond), loadtest.Percentile(rl, 99).Round(time.Microsecond))
	return nil
}

// report builds one wallet with n debit entries spread over 366 days (with
// the store's clock moved forward so that every timestamp is in the past)
// and times the by-day consumption report over the whole window.
func report(ctx context.Context, backend string, n int) error {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clock := fixedClock{end}
	s, _, closeFn, err := open(ctx, backend, ledger.Options{Clock: clock, MaxBatch: 1024})
	if err != nil {
		return err
	}
	defer closeFn()
	if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "big", Currency: "USD", Rate: 10_000}); err != nil {
		return err
	}
	if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "big", Key: "grant", Paid: money.MaxAmount / 2, Priority: 50}); err != nil {
		return err
	}
	origins := []string{"api", "batch", "console"}
	endpoints := []string{"/v1/chat", "/v1/embed", "/v1/images", ""}
	span := int64(366*24*time.Hour - time.Hour)
	var next atomic.Int64
	var wg sync.WaitGroup
	t0 := time.Now()
	errs := make(chan error, 64)
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				ts := end.Add(-time.Duration(span / int64(n) * i))
				if _, err := s.Debit(ctx, ledger.DebitRequest{Wallet: "big", Key: fmt.Sprint("u", i), Credits: 1_000,
					Origin: origins[i%3], Endpoint: endpoints[i%4], Timestamp: ts}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "built %d entries in %s\n", n, time.Since(t0).Round(time.Second))
	var d []time.Duration
	var periods int
	for range 200 {
		t1 := time.Now()
		p, err := s.Consumption(ctx, ledger.ConsumptionQuery{Wallet: "big", From: end.Add(-366 * 24 * time.Hour), To: end, GroupBy: ledger.Day})
		if err != nil {
			return err
		}
		d = append(d, time.Since(t1))
		periods = len(p)
	}
	fmt.Printf("| %s | 366-day report by day over %d entries | %d periods | p50 %s | p95 %s | p99 %s |\n", backend, n, periods,
		loadtest.Percentile(d, 50).Round(10*time.Microsecond), loadtest.Percentile(d, 95).Round(10*time.Microsecond), loadtest.Percentile(d, 99).Round(10*time.Microsecond))
	return nil
}

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// printRelations writes the size of each of the ledger's tables and indexes
// to stderr, so that bytes per posting can be traced to where they go.
func printRelations(db *sql.DB) {
	rows, err := db.Query(`SELECT c.relname, pg_relation_size(c.oid), c.reltuples::bigint
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') ORDER BY 2 DESC`)
	if err != nil {
		fmt.Fprintln(os.Stderr, "relation sizes:", err)
		return
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var size, tuples int64
		if rows.Scan(&name, &size, &tuples) == nil {
			fmt.Fprintf(os.Stderr, "  %-24s %10d bytes %9d rows\n", name, size, tuples)
		}
	}
}
