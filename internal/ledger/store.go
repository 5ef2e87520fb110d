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

package ledger

import (
	"context"
	"database/sql"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Dialect is what differs between the SQL backends.
type Dialect struct {
	Name string
	// Migrations are applied in order, each once, on open.
	Migrations []string
	// Placeholder returns the n-th (1-based) bind parameter.
	Placeholder func(n int) string
	// LockWallets, if set, locks the wallet rows of a transaction (sorted
	// ids) so that concurrent writers of other processes wait.
	LockWallets string
	// MaxParams bounds the bind parameters of one statement.
	MaxParams int
	// ArrayParams says the database takes arrays as parameters (bigint[],
	// text[]): a transaction then loads all its wallets, grants and keys in
	// a few statements instead of a few per wallet (round trips count on a
	// networked database).
	ArrayParams bool
	// Notify, if set, publishes the wallets a transaction wrote to other
	// processes: a statement run in the transaction with the names (one per
	// line) as its only parameter, delivered on commit (PostgreSQL's
	// pg_notify). See SQLStore.PublishChanges for the receiving side.
	Notify string
	// SingleWriter says this process is the database's only writer (an
	// embedded database): wallet states may then stay cached in memory
	// between transactions, since nobody else can change them.
	SingleWriter bool
	// Analyze, if set, refreshes the planner's statistics of the ledger's
	// tables. The store runs it (off the commit path) each time the entries
	// it has written since open double, from 1,000 on: a ledger that grows
	// from empty faster than the database's own statistics rounds would
	// otherwise be planned with figures from when it was tiny.
	Analyze string
	// KeyMatch, if set, is the condition that finds the entry of a wallet
	// id and an idempotency key given as the SQL expressions w and k, in a
	// form the dialect's key index serves (default: wallet_id = w AND key = k).
	KeyMatch func(w, k string) string
	// NextGrantIDs, unless SingleWriter, takes the given number of grant
	// ids from the database's generator (one per row), so that entries can
	// name a grant of their own transaction before it is inserted.
	NextGrantIDs string
	// MigrationLock, if set, is run first in each migration's transaction
	// and holds until it ends, so that replicas starting together migrate
	// one after the other.
	MigrationLock string
}

// AtVersion is the dialect with its first version migrations only (0: all
// of them), for upgrade tests.
func (d Dialect) AtVersion(version int) Dialect {
	if version > 0 {
		d.Migrations = d.Migrations[:version]
	}
	return d
}

// Options tune a SQL store.
type Options struct {
	Clock Clock
	// MaxBatch bounds how many operations one database transaction carries
	// (group commit). 1 turns group commit off.
	MaxBatch int
	// Writers is the number of concurrent committing transactions (1 for
	// SQLite, which has one writer; more for PostgreSQL).
	Writers int
	// Failpoint, for crash tests, is called between the steps of a commit;
	// an error aborts the transaction there.
	Failpoint func(step string) error
	// ReadOnly opens the ledger to read it only (ledger verify, next to a
	// running operator): no lock is taken and no migration applied; the
	// schema must already be at this binary's version.
	ReadOnly bool
	// LockWait is how long opening waits for another process's lock on
	// the ledger (SQLite's: one process writes it); 0 does not wait.
	LockWait time.Duration
}

// SQLStore is the ledger on a SQL database.
type SQLStore struct {
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	inserts map[insertShape]string
	onClose []func() // run after the database is closed
	changes changeFeed
	// cache holds wallet states between transactions (SingleWriter only;
	// only the single committer touches it), and cachedGrants counts the
	// live grants they hold.
	cache        map[string]*walletState
	cachedGrants int
	db           *sql.DB
	d            Dialect
	opts         Options
	jobs         chan *job
	wg           sync.WaitGroup
	close        sync.Once
	stop         chan struct{}
	// lastEntryID is the highest entry id (SingleWriter only; 0: unknown,
	// read from the table when needed): the committer numbers new entries
	// itself instead of reading ids back from every insert.
	lastEntryID int64
	lastGrantID int64 // the same for grants
	// entries written since open, and the count at which to run Analyze next
	written     atomic.Int64
	nextAnalyze atomic.Int64
	analyzing   atomic.Bool
}

// firstAnalyze is the number of entries written after which Analyze first runs.
const firstAnalyze = 1000

var _ Store = (*SQLStore)(nil)

// NewSQLStore applies pending migrations and starts the committers.
func NewSQLStore(ctx context.Context, db *sql.DB, d Dialect, o Options) (*SQLStore, error) {
	if o.Clock == nil {
		o.Clock = SystemClock{}
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 256
	}
	if o.Writers <= 0 || d.SingleWriter {
		o.Writers = 1
	}
	s := &SQLStore{db: db, d: d, opts: o, jobs: make(chan *job, 4096), stop: make(chan struct{}), stmts: map[string]*sql.Stmt{}, inserts: map[insertShape]string{}, cache: map[string]*walletState{}}
	s.nextAnalyze.Store(firstAnalyze)
	if o.ReadOnly {
		if err := s.checkVersion(ctx); err != nil {
			return nil, err
		}
	} else if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	for range o.Writers {
		s.wg.Add(1)
		go s.committer()
	}
	return s, nil
}

func (s *SQLStore) q(query string) string {
	if s.d.Placeholder == nil {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteString(s.d.Placeholder(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// prep returns the prepared statement for query (written with ?), bound to
// tx. Statements are prepared once and reused: parsing SQL for every
// operation would cost more than running it.
func (s *SQLStore) prep(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	s.mu.Lock()
	st := s.stmts[query]
	s.mu.Unlock()
	if st == nil {
		var err error
		if st, err = s.db.PrepareContext(ctx, s.q(query)); err != nil {
			return nil, err
		}
		s.mu.Lock()
		if old := s.stmts[query]; old != nil {
			_ = st.Close()
			st = old
		} else {
			s.stmts[query] = st
		}
		s.mu.Unlock()
	}
	if tx == nil {
		return st, nil
	}
	return tx.StmtContext(ctx, st), nil
}

// Close stops the committers (after the queued operations) and closes the database.
func (s *SQLStore) Close() error {
	s.close.Do(func() { close(s.stop) })
	s.wg.Wait()
	s.changes.close()
	s.mu.Lock()
	for _, st := range s.stmts {
		_ = st.Close()
	}
	s.stmts = map[string]*sql.Stmt{}
	onClose := s.onClose
	s.onClose = nil
	s.mu.Unlock()
	err := s.db.Close()
	for _, f := range onClose {
		f()
	}
	return err
}

// OnClose runs f once the database is closed (a backend's lock release).
func (s *SQLStore) OnClose(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onClose = append(s.onClose, f)
}

// Ping checks the database answers.
func (s *SQLStore) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Changes returns a channel that receives, after each commit, the names of
// the wallets it wrote. Wallets changed again before the receiver reads
// are coalesced into one pending notification; nothing blocks a commit.
// Only this process's writes are seen.
func (s *SQLStore) Changes() <-chan []string { return s.changes.subscribe() }

// PublishChanges hands wallet names written by another process (received
// through the dialect's Notify) to this store's Changes subscribers.
func (s *SQLStore) PublishChanges(names []string) { s.changes.publish(names) }

// Done is closed when the store is closing.
func (s *SQLStore) Done() <-chan struct{} { return s.stop }

// DB returns the underlying database (for tests and tools).
func (s *SQLStore) DB() *sql.DB { return s.db }
