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
	"errors"
	"fmt"
	"sort"
	"strings"
)

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

func (s *SQLStore) failpoint(step string) error {
	if s.opts.Failpoint == nil {
		return nil
	}
	return s.opts.Failpoint(step)
}
