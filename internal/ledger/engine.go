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
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/walletop/wallet-operator/internal/money"
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

type job struct {
	open   *WalletSpec // OpenWallet: create or update the wallet first
	wallet string
	keys   []string // entries to load (idempotency keys, referenced grants)
	fn     func(w *walletState, now int64) (any, error)
	write  bool // normalize first
	dry    bool // run fn on a copy of the wallet: nothing is written
	done   chan jobResult
}

type jobResult struct {
	v   any
	err error
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

// createMigrationsTable creates the table of applied migrations if it is
// not there (under the migration lock: two replicas creating it at once
// could both try).
func (s *SQLStore) createMigrationsTable(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if s.d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	return tx.Commit()
}

// checkVersion fails unless the schema is at this binary's version.
func (s *SQLStore) checkVersion(ctx context.Context) error {
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("ledger schema: %w (has the operator ever opened this ledger?)", err)
	}
	if have != len(s.d.Migrations) {
		return fmt.Errorf("ledger schema is at version %d, this binary reads version %d: let the operator of this version open it first", have, len(s.d.Migrations))
	}
	return nil
}

func (s *SQLStore) migrate(ctx context.Context) error {
	if err := s.createMigrationsTable(ctx); err != nil {
		return fmt.Errorf("ledger migrations: %w", err)
	}
	const appliedVersion = `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`
	var have int
	if err := s.db.QueryRowContext(ctx, appliedVersion).Scan(&have); err != nil {
		return fmt.Errorf("ledger migrations: %w", err)
	}
	for v := have + 1; v <= len(s.d.Migrations); v++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if s.d.MigrationLock != "" {
			// another replica may be migrating the same database: wait for
			// it, then apply only what it has not
			if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("ledger migrations: %w", err)
			}
			if err := tx.QueryRowContext(ctx, appliedVersion).Scan(&have); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("ledger migrations: %w", err)
			}
			if have >= v {
				if err := tx.Commit(); err != nil {
					return fmt.Errorf("ledger migrations: %w", err)
				}
				v = have
				continue
			}
		}
		for _, stmt := range strings.Split(s.d.Migrations[v-1], ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("ledger migration %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, time.Now().UnixMicro()); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("ledger migration %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("ledger migration %d: %w", v, err)
		}
	}
	return nil
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

func (s *SQLStore) submit(ctx context.Context, j *job) (any, error) {
	j.done = make(chan jobResult, 1)
	select {
	case <-s.stop:
		return nil, errors.New("ledger is closed")
	default:
	}
	select {
	case s.jobs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.stop:
		return nil, errors.New("ledger is closed")
	}
	// Once queued, the job is committed or refused as a whole: wait for it
	// even if ctx ends, so a caller never mistakes a committed write for a
	// lost one.
	r := <-j.done
	return r.v, r.err
}

func (s *SQLStore) committer() {
	defer s.wg.Done()
	for {
		var first *job
		select {
		case first = <-s.jobs:
		case <-s.stop:
			// drain what is queued, then stop
			for {
				select {
				case j := <-s.jobs:
					s.run([]*job{j})
				default:
					return
				}
			}
		}
		batch := []*job{first}
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case j := <-s.jobs:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		s.run(batch)
	}
}

// run commits a batch in one transaction. If the commit fails, every job
// that would have written anything gets the error, and none of it is kept.
func (s *SQLStore) run(batch []*job) {
	results := make([]jobResult, len(batch))
	err := s.runTx(batch, results)
	if err != nil && len(batch) > 1 {
		// One job may have hit a database error that is its own (e.g. a
		// value the database refuses): retry each alone so that only it fails.
		for i, j := range batch {
			one := make([]jobResult, 1)
			if err := s.runTx([]*job{j}, one); err != nil {
				one[0] = jobResult{err: err}
			}
			results[i] = one[0]
		}
	} else if err != nil {
		results[0] = jobResult{err: err}
	}
	for i, j := range batch {
		j.done <- results[i]
	}
}

func (s *SQLStore) runTx(batch []*job, results []jobResult) (err error) {
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: begin: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	now := micros(s.opts.Clock.Now())
	// Load each wallet once, in a fixed order (no deadlock between writers).
	keys := map[string][]string{}
	for _, j := range batch {
		keys[j.wallet] = append(keys[j.wallet], j.keys...)
	}
	names := make([]string, 0, len(keys))
	for n := range keys {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, j := range batch {
		if j.open != nil {
			s.uncache(j.open.Wallet)
			results[i] = jobResult{err: s.openWallet(ctx, tx, *j.open, now)}
		}
	}
	states := map[string]*walletState{}
	if s.d.ArrayParams {
		if states, err = s.loadBulk(ctx, tx, names, keys); err != nil {
			return err
		}
	} else {
		for _, n := range names {
			w := s.cache[n] // only a single writer fills the cache
			if w == nil {
				if w, err = s.loadWallet(ctx, tx, n); err != nil {
					return err
				}
			}
			states[n] = w // nil: not found
		}
		if err := s.loadKeysBulk(ctx, tx, names, states, keys); err != nil {
			return err
		}
	}
	if s.d.SingleWriter {
		defer func() {
			if err != nil {
				clear(s.cache) // the states were changed by a transaction that did not commit
				s.cachedGrants = 0
				s.lastEntryID, s.lastGrantID = 0, 0
			}
		}()
	}
	for i, j := range batch {
		if j.open != nil {
			continue
		}
		w := states[j.wallet]
		if w == nil {
			results[i] = jobResult{err: fmt.Errorf("%w: %s", ErrWalletNotFound, j.wallet)}
			continue
		}
		if j.dry {
			w = w.clone()
		}
		if j.write {
			w.normalize(now)
		}
		v, err := j.fn(w, now)
		results[i] = jobResult{v: v, err: err}
	}
	if err := s.flush(ctx, tx, names, states, now); err != nil {
		return err
	}
	if s.d.Notify != "" {
		var changed []string
		for _, n := range names {
			if w := states[n]; w != nil && len(w.newEntries) > 0 {
				changed = append(changed, n)
			}
		}
		// a NOTIFY payload is at most 8000 bytes: send the names in parts
		for len(changed) > 0 {
			part, size := 0, 0
			for part < len(changed) && size+len(changed[part])+1 < 7900 {
				size += len(changed[part]) + 1
				part++
			}
			part = max(part, 1)
			st, err := s.prep(ctx, tx, s.d.Notify)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, strings.Join(changed[:part], "\n")); err != nil {
				return fmt.Errorf("ledger: notify: %w", err)
			}
			changed = changed[part:]
		}
	}
	if err := s.failpoint("before-commit"); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: commit: %w", err)
	}
	// A crash here loses only the acknowledgement: a retry finds the key.
	_ = s.failpoint("after-commit")
	var changed []string
	written := 0
	for n, w := range states {
		if w != nil && len(w.newEntries) > 0 {
			changed = append(changed, n)
			written += len(w.newEntries)
		}
	}
	s.changes.publish(changed)
	s.maybeAnalyze(written)
	if s.d.SingleWriter {
		for n, w := range states {
			if w != nil {
				w.committed()
				s.uncache(n)
				w.cachedGrants = len(w.grants)
				s.cachedGrants += w.cachedGrants
				s.cache[n] = w
			}
		}
		// Go's map order makes this an eviction of random states.
		for n := range s.cache {
			if len(s.cache) <= maxCachedWallets && s.cachedGrants <= maxCachedGrants {
				break
			}
			s.uncache(n)
		}
	}
	return nil
}

func (s *SQLStore) uncache(wallet string) {
	if w, ok := s.cache[wallet]; ok {
		s.cachedGrants -= w.cachedGrants
		delete(s.cache, wallet)
	}
}

// maybeAnalyze counts entries written and, each time the count since open
// doubles, refreshes the planner's statistics in the background (one at a
// time). Without it a PostgreSQL ledger that went from empty to millions of
// entries within autovacuum's round keeps statistics that say each wallet
// has one entry, and the planner then finds an idempotency key by reading a
// wallet's whole history through the (wallet, seq) index.
func (s *SQLStore) maybeAnalyze(n int) {
	if s.d.Analyze == "" || n == 0 {
		return
	}
	total := s.written.Add(int64(n))
	if total < s.nextAnalyze.Load() || !s.analyzing.CompareAndSwap(false, true) {
		return
	}
	s.nextAnalyze.Store(2 * total)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.analyzing.Store(false)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-s.stop:
				cancel()
			case <-ctx.Done():
			}
		}()
		// Best effort: statistics only steer plans, never results.
		_, _ = s.db.ExecContext(ctx, s.d.Analyze)
	}()
}

// maxCachedWallets and maxCachedGrants bound the wallet states kept
// between transactions, and the live grants they hold in all (each a few
// hundred bytes): without the second, memory grew with every live grant of
// every cached wallet (a wallet topped up 10,000 times held 10,000). A state
// that is not cached is read from the database on its next write.
const (
	maxCachedWallets = 20000
	maxCachedGrants  = 4096
)

// committed readies a state for the next transaction: it keeps the wallet
// and its live grants, and forgets what this transaction wrote or looked up.
func (w *walletState) committed() {
	live := w.grants[:0]
	for _, g := range w.grants {
		if g.live() {
			// The creating entry is only needed to insert the grant; kept,
			// it would hold every live grant's entry row in memory.
			g.isNew, g.dirty, g.entry = false, false, nil
			live = append(live, g)
		}
	}
	clear(w.grants[len(live):])
	w.grants = live
	w.entries = map[string]*entryRow{}
	w.newEntries = nil
	w.rollups = nil
	w.dirty = false
}

func (s *SQLStore) failpoint(step string) error {
	if s.opts.Failpoint == nil {
		return nil
	}
	return s.opts.Failpoint(step)
}

// grantCols are a grant's columns, its entry's key among them (so that no
// read of a grant needs its entry).
const grantCols = `g.id, g.entry_id, g.entry_key, g.category, g.original, g.remaining, g.priority, g.effective_at, g.expires_at, g.origins, g.endpoints, g.status, g.activated, g.settled_at, g.created_at`

func scanGrant(sc interface{ Scan(...any) error }, extra ...any) (*grantRow, error) {
	g := &grantRow{}
	var cat, status, activated int
	var expires, settled sql.NullInt64
	var origins, endpoints string
	if err := sc.Scan(append([]any{&g.id, &g.entryID, &g.entryKey, &cat, &g.original, &g.remaining, &g.priority, &g.effectiveAt, &expires,
		&origins, &endpoints, &status, &activated, &settled, &g.createdAt}, extra...)...); err != nil {
		return nil, err
	}
	g.category = categories[cat]
	g.status = statuses[status]
	g.activated = activated != 0
	g.expiresAt = never
	if expires.Valid {
		g.expiresAt = expires.Int64
	}
	g.settledAt = settled.Int64
	g.applies = AppliesTo{Origins: splitList(origins), Endpoints: splitList(endpoints)}
	return g, nil
}

// entryCols are an entry's columns; the amounts that are mostly zero are
// stored as NULL then (schema version 4).
const entryCols = `id, seq, key, hash, type, status, credits, COALESCE(paid, 0) AS paid, COALESCE(granted, 0) AS granted, origin, endpoint, ref, description, ts, applied_at, balance_after, COALESCE(debt_after, 0) AS debt_after, payment`

func scanEntry(sc interface{ Scan(...any) error }, extra ...any) (*entryRow, error) {
	e := &entryRow{}
	var typ, status, payment int
	var origin, endpoint, ref, desc sql.NullString
	if err := sc.Scan(append([]any{&e.id, &e.seq, &e.key, &e.hash, &typ, &status, &e.credits, &e.paid, &e.granted, &origin, &endpoint,
		&ref, &desc, &e.ts, &e.appliedAt, &e.balanceAfter, &e.debtAfter, &payment}, extra...)...); err != nil {
		return nil, err
	}
	e.typ = entryTypes[typ]
	e.status = statuses[status]
	e.origin, e.endpoint, e.ref, e.description = origin.String, endpoint.String, ref.String, desc.String
	e.payment = payment != 0
	return e, nil
}

// loadWallet reads a wallet, locks it (where the dialect can), and loads its
// live grants. It returns nil if there is no such wallet.
func (s *SQLStore) loadWallet(ctx context.Context, tx *sql.Tx, name string) (*walletState, error) {
	w := &walletState{name: name, entries: map[string]*entryRow{}}
	var origins, endpoints string
	var terminated sql.NullInt64
	st, err := s.prep(ctx, tx, `SELECT id, currency, rate, overdraft, origins, endpoints, terminated_at, seq, debt, created_at FROM wallets WHERE name = ?`+s.d.LockWallets)
	if err != nil {
		return nil, err
	}
	if err := st.QueryRowContext(ctx, name).Scan(&w.id, &w.currency, &w.rate, &w.overdraft, &origins, &endpoints, &terminated, &w.seq, &w.debt, &w.createdAt); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("ledger: loading wallet %s: %w", name, err)
	}
	w.applies = AppliesTo{Origins: splitList(origins), Endpoints: splitList(endpoints)}
	w.terminated = terminated.Int64
	return w, s.addGrants(ctx, tx, map[int64]*walletState{w.id: w}, `SELECT `+grantCols+`, g.wallet_id FROM grants g WHERE g.wallet_id = ? AND g.live = 1 ORDER BY g.id`, w.id)
}

// loadBulk is load for databases that take array parameters: it locks and
// reads every wallet of the transaction, their live grants, and the entries
// with the given keys (and their grants) in four or five statements.
func (s *SQLStore) loadBulk(ctx context.Context, tx *sql.Tx, names []string, keys map[string][]string) (map[string]*walletState, error) {
	states := map[string]*walletState{}
	byID := map[int64]*walletState{}
	st, err := s.prep(ctx, tx, `SELECT id, name, currency, rate, overdraft, origins, endpoints, terminated_at, seq, debt, created_at FROM wallets WHERE name = ANY(?) ORDER BY name`+s.d.LockWallets)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("ledger: loading wallets: %w", err)
	}
	var ids []int64
	for rows.Next() {
		w := &walletState{entries: map[string]*entryRow{}}
		var origins, endpoints string
		var terminated sql.NullInt64
		if err := rows.Scan(&w.id, &w.name, &w.currency, &w.rate, &w.overdraft, &origins, &endpoints, &terminated, &w.seq, &w.debt, &w.createdAt); err != nil {
			rows.Close()
			return nil, err
		}
		w.applies = AppliesTo{Origins: splitList(origins), Endpoints: splitList(endpoints)}
		w.terminated = terminated.Int64
		states[w.name] = w
		byID[w.id] = w
		ids = append(ids, w.id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return states, nil
	}
	if err := s.addGrants(ctx, tx, byID, `SELECT `+grantCols+`, g.wallet_id FROM grants g WHERE g.wallet_id = ANY(?) AND g.live = 1 ORDER BY g.id`, ids); err != nil {
		return nil, err
	}
	var kw []int64
	var kk []string
	for _, n := range names {
		if w := states[n]; w != nil {
			for _, k := range keys[n] {
				if k != "" {
					kw, kk = append(kw, w.id), append(kk, k)
				}
			}
		}
	}
	var grantEntries []int64
	for round := 0; round < 2 && len(kk) > 0; round++ {
		// One index lookup per key (a LATERAL subquery with OFFSET 0 cannot be flattened
		// into a join that scans the entries, whatever the statistics say).
		st, err := s.prep(ctx, tx, `SELECT e.* FROM unnest(CAST(? AS BIGINT[]), CAST(? AS TEXT[])) AS k(kw, kk) CROSS JOIN LATERAL (SELECT `+entryCols+`, wallet_id FROM entries WHERE `+s.keyMatch("k.kw", "k.kk")+` OFFSET 0) e`)
		if err != nil {
			return nil, err
		}
		rows, err := st.QueryContext(ctx, kw, kk)
		if err != nil {
			return nil, fmt.Errorf("ledger: loading entries: %w", err)
		}
		kw, kk = nil, nil
		for rows.Next() {
			var wid int64
			e, err := scanEntry(rows, &wid)
			if err != nil {
				rows.Close()
				return nil, err
			}
			w := byID[wid]
			if w.entries[e.key] != nil {
				continue
			}
			w.entries[e.key] = e
			switch e.typ {
			case EntryGrant, EntryAdjustment:
				grantEntries = append(grantEntries, e.id)
			case EntryRefund:
				if e.ref != "" && w.entries[e.ref] == nil {
					kw, kk = append(kw, wid), append(kk, e.ref) // the grant a refund refers to
				}
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	if len(grantEntries) > 0 {
		if err := s.addGrants(ctx, tx, byID, `SELECT `+grantCols+`, g.wallet_id FROM grants g WHERE g.entry_id = ANY(?) ORDER BY g.id`, grantEntries); err != nil {
			return nil, err
		}
		for _, w := range states {
			sort.SliceStable(w.grants, func(i, j int) bool { return w.grants[i].id < w.grants[j].id })
		}
	}
	return states, nil
}

// addGrants adds the grants a query returns (its last column is the wallet
// id) to the wallets' states, unless they are there already.
func (s *SQLStore) addGrants(ctx context.Context, tx *sql.Tx, wallets map[int64]*walletState, query string, arg any) error {
	have := map[int64]bool{}
	for _, w := range wallets {
		for _, g := range w.grants {
			have[g.id] = true
		}
	}
	st, err := s.prep(ctx, tx, query)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, arg)
	if err != nil {
		return fmt.Errorf("ledger: loading grants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var wid int64
		g, err := scanGrant(rows, &wid)
		if err != nil {
			return err
		}
		if w := wallets[wid]; w != nil && !have[g.id] {
			have[g.id] = true
			w.grants = append(w.grants, g)
		}
	}
	return rows.Err()
}

// loadKeysBulk looks up the entries of a batch's idempotency keys, for
// every wallet of the batch, a few statements in all instead of one per
// key; what the entries found refer to (the grant of a refund, a grant's
// grants) is then loaded as loadKeys does.
func (s *SQLStore) loadKeysBulk(ctx context.Context, tx *sql.Tx, names []string, states map[string]*walletState, keys map[string][]string) error {
	byID := map[int64]*walletState{}
	var pairs [][]any
	for _, n := range names {
		w := states[n]
		if w == nil {
			continue
		}
		byID[w.id] = w
		for _, k := range keys[n] {
			if k != "" && w.entries[k] == nil {
				pairs = append(pairs, []any{w.id, k})
			}
		}
	}
	found := map[*walletState][]*entryRow{}
	for len(pairs) > 0 {
		n := 1
		for _, c := range chunkSizes {
			if c <= len(pairs) && 2*c <= s.d.MaxParams {
				n = c
				break
			}
		}
		st, err := s.prep(ctx, tx, `SELECT `+entryCols+`, wallet_id FROM entries WHERE (wallet_id, key) IN (VALUES `+
			strings.TrimSuffix(strings.Repeat("(?,?),", n), ",")+`)`)
		if err != nil {
			return err
		}
		args := make([]any, 0, 2*n)
		for _, p := range pairs[:n] {
			args = append(args, p...)
		}
		pairs = pairs[n:]
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("ledger: loading entries: %w", err)
		}
		for rows.Next() {
			var walletID int64
			e, err := scanEntry(rows, &walletID)
			if err != nil {
				rows.Close()
				return err
			}
			if w := byID[walletID]; w != nil && w.entries[e.key] == nil {
				w.entries[e.key] = e
				found[w] = append(found[w], e)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	for _, n := range names { // in name order, as everything else
		if w := states[n]; w != nil && len(found[w]) > 0 {
			if err := s.followEntries(ctx, tx, w, found[w]); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadKeys loads the entries with the given keys (with their grants, and the
// grant a loaded refund refers to) into the state.
func (s *SQLStore) loadKeys(ctx context.Context, tx *sql.Tx, w *walletState, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	entryByKey, err := s.prep(ctx, tx, `SELECT `+entryCols+` FROM entries WHERE `+s.keyParams())
	if err != nil {
		return err
	}
	var loaded []*entryRow
	for _, k := range keys {
		if k == "" || w.entries[k] != nil {
			continue
		}
		e, err := scanEntry(entryByKey.QueryRowContext(ctx, w.id, k))
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return fmt.Errorf("ledger: loading entries of %s: %w", w.name, err)
		}
		w.entries[k] = e
		loaded = append(loaded, e)
	}
	return s.followEntries(ctx, tx, w, loaded)
}

// followEntries loads what entries just found refer to: the grant entry a
// refund refers to, and the grants (live or not) of grant and adjustment
// entries.
func (s *SQLStore) followEntries(ctx context.Context, tx *sql.Tx, w *walletState, loaded []*entryRow) error {
	var refs []string
	for _, e := range loaded {
		if e.typ == EntryRefund && e.ref != "" && w.entries[e.ref] == nil {
			refs = append(refs, e.ref)
		}
	}
	if err := s.loadKeys(ctx, tx, w, refs); err != nil {
		return err
	}
	added := false
	for _, e := range loaded {
		if e.typ == EntryGrant || e.typ == EntryAdjustment {
			added = true
			if err := s.addGrants(ctx, tx, map[int64]*walletState{w.id: w}, `SELECT `+grantCols+`, g.wallet_id FROM grants g WHERE g.entry_id = ?`, e.id); err != nil {
				return err
			}
		}
	}
	if added {
		// creation order, which drawdown and event ties rely on
		sort.SliceStable(w.grants, func(i, j int) bool { return w.grants[i].id < w.grants[j].id })
	}
	return nil
}

var (
	categories = []Category{Paid, Granted}
	statuses   = []Status{StatusPending, StatusSettled, StatusFailed, StatusExpired}
	entryTypes = []EntryType{EntryGrant, EntryDebit, EntryVoid, EntryRefund, EntryExpiry, EntryAdjustment, EntrySettlement}
)

// debitTypeCode is EntryDebit's code in the type column; schema v3's partial
// index of non-debit entries is written with it.
const debitTypeCode = 1

func init() {
	if entryTypes[debitTypeCode] != EntryDebit {
		panic("ledger: debitTypeCode does not match entryTypes")
	}
}

func indexOf[T comparable](list []T, v T) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	panic(fmt.Sprintf("ledger: unknown value %v", v))
}

func joinList(l []string) string { return strings.Join(l, "\x1f") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x1f")
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nonZero is an amount as stored where zero is NULL.
func nonZero(v money.Micros) any {
	if v == 0 {
		return nil
	}
	return int64(v)
}

func nullTime(v int64) any {
	if v == never || v == 0 {
		return nil
	}
	return v
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// chunkSizes are the row counts of the multi-row statements: rows go out in
// chunks of these sizes, so that only a few statement shapes exist and each
// is prepared once.
var chunkSizes = []int{256, 64, 16, 4, 1}

type insertShape struct {
	head, suffix, returning string
	rows                    int
}

// insertQuery returns (building it once) the statement that inserts rows
// rows of cols values.
func (s *SQLStore) insertQuery(head string, cols, rows int, suffix, returning string) string {
	k := insertShape{head, suffix, returning, rows}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q, ok := s.inserts[k]; ok {
		return q
	}
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	q := head + " VALUES " + strings.TrimSuffix(strings.Repeat(one+",", rows), ",") + suffix
	if returning != "" {
		q += " RETURNING " + returning
	}
	s.inserts[k] = q
	return q
}

// insertRows inserts rows (cols values each, one after the other) with
// multi-row INSERTs; suffix ends the statement (e.g. ON CONFLICT);
// returning, if set, is scanned by scan row by row.
func (s *SQLStore) insertRows(ctx context.Context, tx *sql.Tx, head string, cols int, rows []any, suffix, returning string, scan func(*sql.Rows) error) error {
	for len(rows) > 0 {
		left := len(rows) / cols
		n := 1
		for _, c := range chunkSizes {
			if c <= left && c*cols <= s.d.MaxParams {
				n = c
				break
			}
		}
		args := rows[:n*cols]
		rows = rows[n*cols:]
		st, err := s.prep(ctx, tx, s.insertQuery(head, cols, n, suffix, returning))
		if err != nil {
			return err
		}
		if returning == "" {
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
			continue
		}
		rs, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		for rs.Next() {
			if err := scan(rs); err != nil {
				rs.Close()
				return err
			}
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
	}
	return nil
}

// takeIDs reserves n ids of table (entries or grants) for the rows a
// transaction inserts and returns the first, when this process is the
// database's only writer (0 otherwise). last is the highest id taken; the
// committer forgets it (0) when a transaction fails.
func (s *SQLStore) takeIDs(ctx context.Context, tx *sql.Tx, table string, last *int64, n int) (int64, error) {
	if !s.d.SingleWriter || n == 0 {
		return 0, nil
	}
	if *last == 0 {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM `+table).Scan(last); err != nil {
			return 0, fmt.Errorf("ledger: reading the last id of %s: %w", table, err)
		}
	}
	first := *last + 1
	*last += int64(n)
	return first, nil
}

// numberGrants gives the transaction's new grants their ids before
// anything is written, so that an entry can hold its allocation to a grant
// of the same transaction.
func (s *SQLStore) numberGrants(ctx context.Context, tx *sql.Tx, ws []*walletState) error {
	var gs []*grantRow
	for _, w := range ws {
		for _, g := range w.grants {
			if g.isNew {
				gs = append(gs, g)
			}
		}
	}
	if len(gs) == 0 {
		return nil
	}
	if s.d.SingleWriter {
		id, err := s.takeIDs(ctx, tx, "grants", &s.lastGrantID, len(gs))
		if err != nil {
			return err
		}
		for _, g := range gs {
			g.id = id
			id++
		}
		return nil
	}
	st, err := s.prep(ctx, tx, s.d.NextGrantIDs)
	if err != nil {
		return err
	}
	rows, err := st.QueryContext(ctx, len(gs))
	if err != nil {
		return fmt.Errorf("ledger: taking grant ids: %w", err)
	}
	defer rows.Close()
	i := 0
	for ; rows.Next() && i < len(gs); i++ {
		if err := rows.Scan(&gs[i].id); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if i != len(gs) {
		return fmt.Errorf("ledger: took %d grant ids for %d grants", i, len(gs))
	}
	return nil
}

// keyMatch is the condition that finds the entry of wallet id w and
// idempotency key k (SQL expressions).
func (s *SQLStore) keyMatch(w, k string) string {
	if s.d.KeyMatch == nil {
		return "wallet_id = " + w + " AND key = " + k
	}
	return s.d.KeyMatch(w, k)
}

// keyParams is keyMatch for a statement whose only parameters are the
// wallet id and the key, in that order.
func (s *SQLStore) keyParams() string {
	if s.d.KeyMatch == nil {
		return s.keyMatch("?", "?")
	}
	return s.keyMatch(s.d.Placeholder(1), s.d.Placeholder(2))
}

// flush writes what the batch's operations produced.
func (s *SQLStore) flush(ctx context.Context, tx *sql.Tx, names []string, states map[string]*walletState, now int64) error {
	var ws []*walletState // the wallets found, in name order
	for _, n := range names {
		if w := states[n]; w != nil {
			ws = append(ws, w)
		}
	}
	// 1. entries
	type seqKey struct{ wallet, seq int64 }
	newEntries := map[seqKey]*entryRow{}
	var rows []any
	n := 0
	for _, w := range ws {
		n += len(w.newEntries)
	}
	if err := s.numberGrants(ctx, tx, ws); err != nil {
		return err
	}
	id, err := s.takeIDs(ctx, tx, "entries", &s.lastEntryID, n)
	if err != nil {
		return err
	}
	for _, w := range ws {
		for _, e := range w.newEntries {
			// the one grant an entry touched is in its row; two or more: allocations rows
			var grant, grantAmount any
			if len(e.allocs) == 1 {
				grant = e.allocs[0].grant.id
				if a := e.allocs[0].amount; a != e.credits {
					grantAmount = a
				}
			}
			rows = append(rows, w.id, e.seq, e.key, e.hash, indexOf(entryTypes, e.typ), indexOf(statuses, e.status),
				e.credits, nonZero(e.paid), nonZero(e.granted), nullable(e.origin), nullable(e.endpoint), nullable(e.ref), nullable(e.description),
				e.ts, e.appliedAt, e.balanceAfter, nonZero(e.debtAfter), b2i(e.payment), grant, grantAmount)
			if id > 0 {
				e.id = id
				id++
				rows = append(rows, e.id)
			} else {
				newEntries[seqKey{w.id, e.seq}] = e
			}
		}
	}
	const entryInsert = `INSERT INTO entries (wallet_id, seq, key, hash, type, status, credits, paid, granted, origin, endpoint, ref, description, ts, applied_at, balance_after, debt_after, payment, grant_id, grant_amount`
	if s.d.SingleWriter {
		err = s.insertRows(ctx, tx, entryInsert+`, id)`, 21, rows, "", "", nil)
	} else {
		err = s.insertRows(ctx, tx, entryInsert+`)`, 20, rows, "", "id, wallet_id, seq", func(r *sql.Rows) error {
			var id, wid, seq int64
			if err := r.Scan(&id, &wid, &seq); err != nil {
				return err
			}
			newEntries[seqKey{wid, seq}].id = id
			return nil
		})
	}
	if err != nil {
		return fmt.Errorf("ledger: writing entries: %w", err)
	}
	if err := s.failpoint("after-entries"); err != nil {
		return err
	}
	// 2. status changes of earlier entries (payments)
	for _, w := range ws {
		for _, e := range w.entries {
			if e.statusDirty && !e.isNew {
				st, err := s.prep(ctx, tx, `UPDATE entries SET status = ? WHERE wallet_id = ? AND seq = ?`)
				if err != nil {
					return err
				}
				if _, err := st.ExecContext(ctx, indexOf(statuses, e.status), w.id, e.seq); err != nil {
					return fmt.Errorf("ledger: updating entry status: %w", err)
				}
			}
		}
	}
	// 3. grants: new ones (numbered above), then changed ones
	rows = rows[:0]
	for _, w := range ws {
		for _, g := range w.grants {
			if !g.isNew {
				continue
			}
			rows = append(rows, []any{g.id, w.id, g.entry.id, g.entry.key, indexOf(categories, g.category), g.original, g.remaining, g.priority, g.effectiveAt, nullTime(g.expiresAt),
				joinList(g.applies.Origins), joinList(g.applies.Endpoints), indexOf(statuses, g.status), b2i(g.activated),
				nullTime(g.settledAt), g.createdAt, b2i(g.live())}...)
		}
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO grants (id, wallet_id, entry_id, entry_key, category, original, remaining, priority, effective_at, expires_at, origins, endpoints, status, activated, settled_at, created_at, live)`,
		17, rows, "", "", nil); err != nil {
		return fmt.Errorf("ledger: writing grants: %w", err)
	}
	if err := s.failpoint("after-grants"); err != nil {
		return err
	}
	rows = rows[:0]
	for _, w := range ws {
		for _, g := range w.grants {
			if g.isNew {
				g.entryID, g.entryKey = g.entry.id, g.entry.key
				continue
			}
			if !g.dirty {
				continue
			}
			rows = append(rows, []any{g.id, w.id, g.entryID, g.entryKey, indexOf(categories, g.category), g.original, g.remaining, g.priority,
				g.effectiveAt, nullTime(g.expiresAt), joinList(g.applies.Origins), joinList(g.applies.Endpoints),
				indexOf(statuses, g.status), b2i(g.activated), nullTime(g.settledAt), g.createdAt, b2i(g.live())}...)
		}
	}
	// One statement updates every changed grant (an upsert of whole rows on
	// their id), rather than one UPDATE each.
	if err := s.insertRows(ctx, tx, `INSERT INTO grants (id, wallet_id, entry_id, entry_key, category, original, remaining, priority, effective_at, expires_at, origins, endpoints, status, activated, settled_at, created_at, live)`,
		17, rows, ` ON CONFLICT (id) DO UPDATE SET remaining = excluded.remaining, status = excluded.status, activated = excluded.activated, settled_at = excluded.settled_at, live = excluded.live`,
		"", nil); err != nil {
		return fmt.Errorf("ledger: updating grants: %w", err)
	}
	// 4. allocations of entries that touched two or more grants
	rows = rows[:0]
	for _, w := range ws {
		for _, e := range w.newEntries {
			if len(e.allocs) < 2 {
				continue
			}
			for _, a := range e.allocs {
				rows = append(rows, []any{e.id, a.grant.id, a.amount}...)
			}
		}
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO allocations (entry_id, grant_id, amount)`, 3, rows, "", "", nil); err != nil {
		return fmt.Errorf("ledger: writing allocations: %w", err)
	}
	if err := s.failpoint("after-allocations"); err != nil {
		return err
	}
	// 5. wallet snapshots, all in one statement
	rows = rows[:0]
	for _, w := range ws {
		if !w.dirty {
			continue
		}
		paid, granted, pending, next, nextExp := w.totals(now)
		var expAt, expCredits any
		if nextExp != nil {
			expAt, expCredits = micros(nextExp.At), int64(nextExp.Credits)
		}
		rows = append(rows, []any{w.id, w.name, w.currency, w.rate, w.overdraft, joinList(w.applies.Origins), joinList(w.applies.Endpoints),
			nullTime(w.terminated), w.seq, w.debt, paid, granted, pending, next, expAt, expCredits, now, w.createdAt}...)
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO wallets (id, name, currency, rate, overdraft, origins, endpoints, terminated_at, seq, debt, paid, granted, pending, next_change, next_exp_at, next_exp_credits, computed_at, created_at)`,
		18, rows, ` ON CONFLICT (id) DO UPDATE SET terminated_at = excluded.terminated_at, seq = excluded.seq, debt = excluded.debt, paid = excluded.paid, granted = excluded.granted, pending = excluded.pending, next_change = excluded.next_change, next_exp_at = excluded.next_exp_at, next_exp_credits = excluded.next_exp_credits, computed_at = excluded.computed_at`,
		"", nil); err != nil {
		return fmt.Errorf("ledger: updating wallets: %w", err)
	}
	if err := s.failpoint("after-wallets"); err != nil {
		return err
	}
	// 6. hourly rollups, in key order (two writers never wait on each other in a cycle)
	var keys []rollupKey
	deltas := map[rollupKey]*rollupDelta{}
	for _, w := range ws {
		for k, d := range w.rollups {
			keys = append(keys, k)
			deltas[k] = d
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.wallet != b.wallet {
			return a.wallet < b.wallet
		}
		if a.hour != b.hour {
			return a.hour < b.hour
		}
		if a.origin != b.origin {
			return a.origin < b.origin
		}
		return a.endpoint < b.endpoint
	})
	rows = rows[:0]
	for _, k := range keys {
		d := deltas[k]
		rows = append(rows, []any{k.wallet, k.hour, k.origin, k.endpoint, d.debited, d.credited, d.removed, d.count}...)
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO rollups (wallet_id, hour, origin, endpoint, debited, credited, removed, count)`, 8, rows,
		` ON CONFLICT (wallet_id, hour, origin, endpoint) DO UPDATE SET debited = rollups.debited + excluded.debited, credited = rollups.credited + excluded.credited, removed = rollups.removed + excluded.removed, count = rollups.count + excluded.count`,
		"", nil); err != nil {
		return fmt.Errorf("ledger: writing rollups: %w", err)
	}
	// the same deltas summed by day, so that long reports read few rows
	var days []rollupKey
	daily := map[rollupKey]*rollupDelta{}
	for _, k := range keys {
		d := deltas[k]
		dk := k
		dk.hour = k.hour / 24
		dd := daily[dk]
		if dd == nil {
			dd = &rollupDelta{}
			daily[dk] = dd
			days = append(days, dk)
		}
		dd.debited += d.debited
		dd.credited += d.credited
		dd.removed += d.removed
		dd.count += d.count
	}
	rows = rows[:0]
	for _, k := range days { // still in key order: hours of a day are adjacent
		d := daily[k]
		rows = append(rows, []any{k.wallet, k.hour, k.origin, k.endpoint, d.debited, d.credited, d.removed, d.count}...)
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO rollups_daily (wallet_id, day, origin, endpoint, debited, credited, removed, count)`, 8, rows,
		` ON CONFLICT (wallet_id, day, origin, endpoint) DO UPDATE SET debited = rollups_daily.debited + excluded.debited, credited = rollups_daily.credited + excluded.credited, removed = rollups_daily.removed + excluded.removed, count = rollups_daily.count + excluded.count`,
		"", nil); err != nil {
		return fmt.Errorf("ledger: writing daily rollups: %w", err)
	}
	return nil
}

// ---- writes ----

// OpenWallet creates the wallet, or updates its mutable settings. It goes
// through the commit queue like every write.
func (s *SQLStore) OpenWallet(ctx context.Context, spec WalletSpec) error {
	if spec.Wallet == "" || len(spec.Wallet) > 512 {
		return fmt.Errorf("%w: a wallet name of 1 to 512 bytes is required", ErrInvalid)
	}
	if spec.Rate <= 0 || spec.OverdraftLimit < 0 || spec.OverdraftLimit > money.MaxAmount {
		return fmt.Errorf("%w: rate must be positive and the overdraft limit between 0 and %s", ErrInvalid, money.MaxAmount)
	}
	_, err := s.submit(ctx, &job{open: &spec, wallet: spec.Wallet})
	return err
}

func (s *SQLStore) openWallet(ctx context.Context, tx *sql.Tx, spec WalletSpec, now int64) error {
	ins, err := s.prep(ctx, tx, `INSERT INTO wallets (name, currency, rate, overdraft, origins, endpoints, created_at, computed_at, next_change) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`)
	if err != nil {
		return err
	}
	if _, err := ins.ExecContext(ctx, spec.Wallet, spec.Currency, spec.Rate, spec.OverdraftLimit, joinList(spec.AppliesTo.Origins), joinList(spec.AppliesTo.Endpoints), now, now, int64(never)); err != nil {
		return fmt.Errorf("ledger: opening wallet: %w", err)
	}
	var currency string
	var rate money.Micros
	sel, err := s.prep(ctx, tx, `SELECT currency, rate FROM wallets WHERE name = ?`)
	if err != nil {
		return err
	}
	if err := sel.QueryRowContext(ctx, spec.Wallet).Scan(&currency, &rate); err != nil {
		return fmt.Errorf("ledger: opening wallet: %w", err)
	}
	if currency != spec.Currency || rate != spec.Rate {
		return fmt.Errorf("%w: wallet %s exists with currency %s and rate %s", ErrConflict, spec.Wallet, currency, rate)
	}
	upd, err := s.prep(ctx, tx, `UPDATE wallets SET overdraft = ?, origins = ?, endpoints = ? WHERE name = ?`)
	if err != nil {
		return err
	}
	_, err = upd.ExecContext(ctx, spec.OverdraftLimit, joinList(spec.AppliesTo.Origins), joinList(spec.AppliesTo.Endpoints), spec.Wallet)
	return err
}

func (s *SQLStore) write(ctx context.Context, wallet string, keys []string, fn func(w *walletState, now int64) (Result, error)) (Result, error) {
	v, err := s.submit(ctx, &job{wallet: wallet, keys: keys, write: true, fn: func(w *walletState, now int64) (any, error) {
		return fn(w, now)
	}})
	if err != nil {
		return Result{}, err
	}
	return v.(Result), nil
}

// fingerprint hashes a request with its key blanked, for idempotency.
func fingerprint[T any](req T, blank func(*T)) int64 {
	blank(&req)
	return payloadHash(req)
}

// keyed runs an operation with an idempotency key; refs are other entries
// it needs (a grant to void or refund).
func (s *SQLStore) keyed(ctx context.Context, wallet, key string, refs []string, apply func(w *walletState, now int64) (Result, error)) (Result, error) {
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	return s.write(ctx, wallet, append([]string{key}, refs...), apply)
}

// Grant adds credits.
func (s *SQLStore) Grant(ctx context.Context, req GrantRequest) (Result, error) {
	h := fingerprint(req, func(r *GrantRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, nil, func(w *walletState, now int64) (Result, error) { return w.grant(req, h, now) })
}

// Debit consumes credits.
func (s *SQLStore) Debit(ctx context.Context, req DebitRequest) (Result, error) {
	h := fingerprint(req, func(r *DebitRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, nil, func(w *walletState, now int64) (Result, error) { return w.debit(req, h, now) })
}

// MaxDebitsPerJob bounds how many debits of one wallet DebitBatch applies
// in one database transaction.
const MaxDebitsPerJob = 500

// DebitBatch applies many debits. Each one is applied or refused on its
// own, exactly as Debit would (its own key, its own refusal); debits of one
// wallet are applied in the order given, and they share commits. The
// results and errors are in the order of reqs.
func (s *SQLStore) DebitBatch(ctx context.Context, reqs []DebitRequest) ([]Result, []error) {
	return s.debitBatch(ctx, reqs, false)
}

// DryRunDebits answers what DebitBatch would, writing nothing.
func (s *SQLStore) DryRunDebits(ctx context.Context, reqs []DebitRequest) ([]Result, []error) {
	return s.debitBatch(ctx, reqs, true)
}

func (s *SQLStore) debitBatch(ctx context.Context, reqs []DebitRequest, dry bool) ([]Result, []error) {
	results, errs := make([]Result, len(reqs)), make([]error, len(reqs))
	hashes := make([]int64, len(reqs)) // here, not on the committer
	byWallet := map[string][]int{}
	var order []string
	for i, req := range reqs {
		if errs[i] = checkKey(req.Key); errs[i] != nil {
			continue
		}
		hashes[i] = fingerprint(req, func(r *DebitRequest) { r.Key = "" })
		if _, ok := byWallet[req.Wallet]; !ok {
			order = append(order, req.Wallet)
		}
		byWallet[req.Wallet] = append(byWallet[req.Wallet], i)
	}
	var wg sync.WaitGroup
	for _, wallet := range order {
		idx := byWallet[wallet]
		wg.Go(func() {
			per := MaxDebitsPerJob
			if dry {
				per = len(idx) // one copy of the wallet sees every debit of the run
			}
			for len(idx) > 0 {
				chunk := idx[:min(len(idx), per)]
				idx = idx[len(chunk):]
				keys := make([]string, len(chunk))
				for k, i := range chunk {
					keys[k] = reqs[i].Key
				}
				v, err := s.submit(ctx, &job{wallet: wallet, keys: keys, write: true, dry: dry, fn: func(w *walletState, now int64) (any, error) {
					out := make([]jobResult, len(chunk))
					for k, i := range chunk {
						r, err := w.debit(reqs[i], hashes[i], now)
						out[k] = jobResult{v: r, err: err}
					}
					return out, nil
				}})
				for k, i := range chunk {
					if err != nil {
						errs[i] = err
						continue
					}
					jr := v.([]jobResult)[k]
					errs[i] = jr.err
					if jr.err == nil {
						results[i] = jr.v.(Result)
					}
				}
			}
		})
	}
	wg.Wait()
	return results, errs
}

// Void removes credits.
func (s *SQLStore) Void(ctx context.Context, req VoidRequest) (Result, error) {
	h := fingerprint(req, func(r *VoidRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, []string{req.GrantKey}, func(w *walletState, now int64) (Result, error) { return w.void(req, h, now) })
}

// Refund returns paid credits of one grant.
func (s *SQLStore) Refund(ctx context.Context, req RefundRequest) (Result, error) {
	h := fingerprint(req, func(r *RefundRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, []string{req.GrantKey}, func(w *walletState, now int64) (Result, error) { return w.refund(req, h, now) })
}

// Adjust corrects the balance.
func (s *SQLStore) Adjust(ctx context.Context, req AdjustRequest) (Result, error) {
	h := fingerprint(req, func(r *AdjustRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, nil, func(w *walletState, now int64) (Result, error) { return w.adjust(req, h, now) })
}

// SettlePayment marks a pending payment paid or failed.
func (s *SQLStore) SettlePayment(ctx context.Context, wallet, key string, status Status) (Result, error) {
	return s.write(ctx, wallet, []string{key, "settle:" + key}, func(w *walletState, now int64) (Result, error) {
		return w.settle(key, status, now)
	})
}

// Terminate ends the wallet: remaining credits expire, writes are refused.
func (s *SQLStore) Terminate(ctx context.Context, wallet string) (Result, error) {
	return s.write(ctx, wallet, nil, func(w *walletState, now int64) (Result, error) { return w.terminate(now), nil })
}

// ExpireDue expires what is due and activates what became effective.
func (s *SQLStore) ExpireDue(ctx context.Context, wallet string) (int, error) {
	v, err := s.submit(ctx, &job{wallet: wallet, fn: func(w *walletState, now int64) (any, error) {
		return w.normalize(now), nil
	}})
	if err != nil {
		return 0, err
	}
	return v.(int), nil
}
