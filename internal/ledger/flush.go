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
	"fmt"
	"sort"
	"strings"
)

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

// flush writes what the batch changed in the wallets named, in one
// transaction: every table with one multi-row statement per chunk. The
// failpoints between steps let the crash tests stop it part way.
func (s *SQLStore) flush(ctx context.Context, tx *sql.Tx, names []string, states map[string]*walletState, now int64) error {
	var ws []*walletState // the wallets found, in name order
	for _, n := range names {
		if w := states[n]; w != nil {
			ws = append(ws, w)
		}
	}
	var rows []any // reused by every step
	steps := []struct {
		failpoint string
		write     func() error
	}{
		{"after-entries", func() (err error) { rows, err = s.writeEntries(ctx, tx, ws, rows); return }},
		{"", func() error { return s.writeEntryStatuses(ctx, tx, ws) }},
		{"after-grants", func() (err error) { rows, err = s.writeNewGrants(ctx, tx, ws, rows); return }},
		{"", func() (err error) { rows, err = s.writeChangedGrants(ctx, tx, ws, rows); return }},
		{"after-allocations", func() (err error) { rows, err = s.writeAllocations(ctx, tx, ws, rows); return }},
		{"after-wallets", func() (err error) { rows, err = s.writeWallets(ctx, tx, ws, rows, now); return }},
		{"", func() (err error) { rows, err = s.writeRollups(ctx, tx, ws, rows); return }},
	}
	for _, step := range steps {
		if err := step.write(); err != nil {
			return err
		}
		if step.failpoint != "" {
			if err := s.failpoint(step.failpoint); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeEntries inserts the new entries, numbering them (and the new grants
// they created) first.
func (s *SQLStore) writeEntries(ctx context.Context, tx *sql.Tx, ws []*walletState, rows []any) ([]any, error) {
	type seqKey struct{ wallet, seq int64 }
	newEntries := map[seqKey]*entryRow{}
	rows = rows[:0]
	n := 0
	for _, w := range ws {
		n += len(w.newEntries)
	}
	if err := s.numberGrants(ctx, tx, ws); err != nil {
		return rows, err
	}
	id, err := s.takeIDs(ctx, tx, "entries", &s.lastEntryID, n)
	if err != nil {
		return rows, err
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
		// ids come from the database's sequence: read them back
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
		return rows, fmt.Errorf("ledger: writing entries: %w", err)
	}
	return rows, nil
}

// writeEntryStatuses updates the status of earlier entries a payment
// settled or failed.
func (s *SQLStore) writeEntryStatuses(ctx context.Context, tx *sql.Tx, ws []*walletState) error {
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
	return nil
}

const grantInsert = `INSERT INTO grants (id, wallet_id, entry_id, entry_key, category, original, remaining, priority, effective_at, expires_at, origins, endpoints, status, activated, settled_at, created_at, live)`

// appendGrant appends a grant's row (grantInsert's columns) to rows.
func appendGrant(rows []any, w *walletState, g *grantRow, entryID int64, entryKey string) []any {
	return append(rows, g.id, w.id, entryID, entryKey, indexOf(categories, g.category), g.original, g.remaining, g.priority,
		g.effectiveAt, nullTime(g.expiresAt), joinList(g.applies.Origins), joinList(g.applies.Endpoints),
		indexOf(statuses, g.status), b2i(g.activated), nullTime(g.settledAt), g.createdAt, b2i(g.live()))
}

// writeNewGrants inserts the grants this batch created (numbered with
// their entries).
func (s *SQLStore) writeNewGrants(ctx context.Context, tx *sql.Tx, ws []*walletState, rows []any) ([]any, error) {
	rows = rows[:0]
	for _, w := range ws {
		for _, g := range w.grants {
			if g.isNew {
				rows = appendGrant(rows, w, g, g.entry.id, g.entry.key)
			}
		}
	}
	if err := s.insertRows(ctx, tx, grantInsert, 17, rows, "", "", nil); err != nil {
		return rows, fmt.Errorf("ledger: writing grants: %w", err)
	}
	return rows, nil
}

// writeChangedGrants updates every earlier grant the batch changed with one
// statement (an upsert of whole rows on their id) rather than one UPDATE
// each.
func (s *SQLStore) writeChangedGrants(ctx context.Context, tx *sql.Tx, ws []*walletState, rows []any) ([]any, error) {
	rows = rows[:0]
	for _, w := range ws {
		for _, g := range w.grants {
			if g.isNew {
				g.entryID, g.entryKey = g.entry.id, g.entry.key
				continue
			}
			if g.dirty {
				rows = appendGrant(rows, w, g, g.entryID, g.entryKey)
			}
		}
	}
	if err := s.insertRows(ctx, tx, grantInsert, 17, rows,
		` ON CONFLICT (id) DO UPDATE SET remaining = excluded.remaining, status = excluded.status, activated = excluded.activated, settled_at = excluded.settled_at, live = excluded.live`,
		"", nil); err != nil {
		return rows, fmt.Errorf("ledger: updating grants: %w", err)
	}
	return rows, nil
}

// writeAllocations inserts what each new entry that touched two or more
// grants took from each (one grant is in the entry's own row).
func (s *SQLStore) writeAllocations(ctx context.Context, tx *sql.Tx, ws []*walletState, rows []any) ([]any, error) {
	rows = rows[:0]
	for _, w := range ws {
		for _, e := range w.newEntries {
			if len(e.allocs) < 2 {
				continue
			}
			for _, a := range e.allocs {
				rows = append(rows, e.id, a.grant.id, a.amount)
			}
		}
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO allocations (entry_id, grant_id, amount)`, 3, rows, "", "", nil); err != nil {
		return rows, fmt.Errorf("ledger: writing allocations: %w", err)
	}
	return rows, nil
}

// writeWallets upserts the snapshot of every changed wallet in one
// statement.
func (s *SQLStore) writeWallets(ctx context.Context, tx *sql.Tx, ws []*walletState, rows []any, now int64) ([]any, error) {
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
		rows = append(rows, w.id, w.name, w.currency, w.rate, w.overdraft, joinList(w.applies.Origins), joinList(w.applies.Endpoints),
			nullTime(w.terminated), w.seq, w.debt, paid, granted, pending, next, expAt, expCredits, now, w.createdAt)
	}
	if err := s.insertRows(ctx, tx, `INSERT INTO wallets (id, name, currency, rate, overdraft, origins, endpoints, terminated_at, seq, debt, paid, granted, pending, next_change, next_exp_at, next_exp_credits, computed_at, created_at)`,
		18, rows, ` ON CONFLICT (id) DO UPDATE SET terminated_at = excluded.terminated_at, seq = excluded.seq, debt = excluded.debt, paid = excluded.paid, granted = excluded.granted, pending = excluded.pending, next_change = excluded.next_change, next_exp_at = excluded.next_exp_at, next_exp_credits = excluded.next_exp_credits, computed_at = excluded.computed_at`,
		"", nil); err != nil {
		return rows, fmt.Errorf("ledger: updating wallets: %w", err)
	}
	return rows, nil
}

// writeRollups adds the batch's deltas to the hourly rollups and, summed by
// day, to the daily ones (long reports read few rows). Keys go in order, so
// two writers never wait on each other in a cycle.
func (s *SQLStore) writeRollups(ctx context.Context, tx *sql.Tx, ws []*walletState, rows []any) ([]any, error) {
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
	rows, err := s.upsertRollups(ctx, tx, "rollups", "hour", keys, deltas, rows)
	if err != nil {
		return rows, err
	}
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
			days = append(days, dk) // still in key order: hours of a day are adjacent
		}
		dd.debited += d.debited
		dd.credited += d.credited
		dd.removed += d.removed
		dd.count += d.count
	}
	return s.upsertRollups(ctx, tx, "rollups_daily", "day", days, daily, rows)
}

// rollupUpserts are the statement heads and conflict clauses of the hourly
// and daily rollups, built once.
var rollupUpserts = map[string][2]string{}

func init() {
	for table, period := range map[string]string{"rollups": "hour", "rollups_daily": "day"} {
		rollupUpserts[table] = [2]string{
			`INSERT INTO ` + table + ` (wallet_id, ` + period + `, origin, endpoint, debited, credited, removed, count)`,
			` ON CONFLICT (wallet_id, ` + period + `, origin, endpoint) DO UPDATE SET debited = ` + table + `.debited + excluded.debited, credited = ` + table + `.credited + excluded.credited, removed = ` + table + `.removed + excluded.removed, count = ` + table + `.count + excluded.count`,
		}
	}
}

// upsertRollups adds deltas, in the order of keys, to a rollup table.
func (s *SQLStore) upsertRollups(ctx context.Context, tx *sql.Tx, table, period string, keys []rollupKey, deltas map[rollupKey]*rollupDelta, rows []any) ([]any, error) {
	rows = rows[:0]
	for _, k := range keys {
		d := deltas[k]
		rows = append(rows, k.wallet, k.hour, k.origin, k.endpoint, d.debited, d.credited, d.removed, d.count)
	}
	stmt := rollupUpserts[table]
	if err := s.insertRows(ctx, tx, stmt[0], 8, rows, stmt[1], "", nil); err != nil {
		return rows, fmt.Errorf("ledger: writing %s (by %s): %w", table, period, err)
	}
	return rows, nil
}
