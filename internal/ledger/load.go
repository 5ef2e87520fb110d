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
)

// walletCols are the columns scanWallet reads.
const walletCols = `id, name, currency, rate, overdraft, origins, endpoints, terminated_at, seq, debt, created_at`

// scanWallet reads a wallet's row (walletCols) with a Row's or Rows' Scan.
func scanWallet(scan func(...any) error) (*walletState, error) {
	w := &walletState{entries: map[string]*entryRow{}}
	var origins, endpoints string
	var terminated sql.NullInt64
	if err := scan(&w.id, &w.name, &w.currency, &w.rate, &w.overdraft, &origins, &endpoints, &terminated, &w.seq, &w.debt, &w.createdAt); err != nil {
		return nil, err
	}
	w.applies = AppliesTo{Origins: splitList(origins), Endpoints: splitList(endpoints)}
	w.terminated = terminated.Int64
	return w, nil
}

// loadWallet reads a wallet, locks it (where the dialect can), and loads its
// live grants. It returns nil if there is no such wallet.
func (s *SQLStore) loadWallet(ctx context.Context, tx *sql.Tx, name string) (*walletState, error) {
	st, err := s.prep(ctx, tx, `SELECT `+walletCols+` FROM wallets WHERE name = ?`+s.d.LockWallets)
	if err != nil {
		return nil, err
	}
	w, err := scanWallet(st.QueryRowContext(ctx, name).Scan)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, nil
		}
		return nil, fmt.Errorf("ledger: loading wallet %s: %w", name, err)
	}
	return w, s.addGrants(ctx, tx, map[int64]*walletState{w.id: w}, `SELECT `+grantCols+`, g.wallet_id FROM grants g WHERE g.wallet_id = ? AND g.live = 1 ORDER BY g.id`, w.id)
}

// loadBulk is load for databases that take array parameters: it locks and
// reads every wallet of the transaction, their live grants, and the entries
// with the given keys (and their grants) in four or five statements.
func (s *SQLStore) loadBulk(ctx context.Context, tx *sql.Tx, names []string, keys map[string][]string) (map[string]*walletState, error) {
	states := map[string]*walletState{}
	byID := map[int64]*walletState{}
	st, err := s.prep(ctx, tx, `SELECT `+walletCols+` FROM wallets WHERE name = ANY(?) ORDER BY name`+s.d.LockWallets)
	if err != nil {
		return nil, err
	}
	rows, err := st.QueryContext(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("ledger: loading wallets: %w", err)
	}
	var ids []int64
	for rows.Next() {
		w, err := scanWallet(rows.Scan)
		if err != nil {
			rows.Close()
			return nil, err
		}
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
			case EntryTopUp, EntryAdjustment:
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
		if e.typ == EntryTopUp || e.typ == EntryAdjustment {
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
