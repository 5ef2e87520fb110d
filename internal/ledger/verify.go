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
	"fmt"
	"strings"

	"github.com/walletop/wallet-operator/internal/money"
)

// allAllocations are the allocations (grant_id, amount) of every entry.
const allAllocations = `SELECT grant_id, COALESCE(grant_amount, credits) AS amount FROM entries WHERE grant_id IS NOT NULL
	UNION ALL SELECT grant_id, amount FROM allocations`

// Verify recomputes everything from the entries and allocations and compares
// it with what the writes maintained: grant balances, wallet snapshots and
// debt, entry sequences, and the hourly rollups. It reads in one transaction.
func (s *SQLStore) Verify(ctx context.Context) (VerifyReport, error) {
	var rep VerifyReport
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return rep, err
	}
	defer func() { _ = tx.Rollback() }()
	problem := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }

	// Wallets: sequence without gaps, debt equal to the last entry's.
	type wal struct {
		name                         string
		seq                          int64
		debt, paid, granted, pending money.Micros
		computedAt                   int64
	}
	wallets := map[int64]*wal{}
	rows, err := tx.QueryContext(ctx, `SELECT id, name, seq, debt, paid, granted, pending, computed_at FROM wallets`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var id int64
		w := &wal{}
		if err := rows.Scan(&id, &w.name, &w.seq, &w.debt, &w.paid, &w.granted, &w.pending, &w.computedAt); err != nil {
			rows.Close()
			return rep, err
		}
		wallets[id] = w
	}
	rows.Close()
	rep.Wallets = len(wallets)

	type seqStat struct {
		count, max int64
	}
	rows, err = tx.QueryContext(ctx, `SELECT wallet_id, COUNT(*), MAX(seq) FROM entries GROUP BY wallet_id`)
	if err != nil {
		return rep, err
	}
	stats := map[int64]seqStat{}
	for rows.Next() {
		var id int64
		var st seqStat
		if err := rows.Scan(&id, &st.count, &st.max); err != nil {
			rows.Close()
			return rep, err
		}
		stats[id] = st
		rep.Entries += st.count
	}
	rows.Close()
	for id, w := range wallets {
		st := stats[id]
		if st.count != w.seq || st.max != w.seq {
			problem("wallet %s: sequence %d but %d entries (highest %d)", w.name, w.seq, st.count, st.max)
		}
		if w.seq > 0 {
			var debt money.Micros
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COALESCE(debt_after, 0) FROM entries WHERE wallet_id = ? AND seq = ?`), id, w.seq).Scan(&debt); err != nil {
				problem("wallet %s: last entry: %v", w.name, err)
			} else if debt != w.debt {
				problem("wallet %s: debt %s but the last entry says %s", w.name, w.debt, debt)
			}
		}
	}

	// Keys: one entry per (wallet, idempotency key). The engine keeps them
	// unique under the wallet's lock; where the key index is a digest
	// (PostgreSQL) the database does not, so this is checked here.
	rows, err = tx.QueryContext(ctx, `SELECT wallet_id, key, COUNT(*) FROM entries GROUP BY wallet_id, key HAVING COUNT(*) > 1`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var id, n int64
		var key string
		if err := rows.Scan(&id, &key, &n); err != nil {
			rows.Close()
			return rep, err
		}
		name := fmt.Sprint(id)
		if w := wallets[id]; w != nil {
			name = w.name
		}
		problem("wallet %s: %d entries with key %q", name, n, key)
	}
	rows.Close()
	// An entry's allocations are in its row (one grant) or in the
	// allocations table (two or more), never both, never one alone there.
	var misplaced int64
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT a.entry_id FROM allocations a JOIN entries e ON e.id = a.entry_id
		GROUP BY a.entry_id HAVING COUNT(*) < 2 OR MAX(e.grant_id) IS NOT NULL) x`).Scan(&misplaced); err != nil {
		return rep, err
	}
	if misplaced > 0 {
		problem("%d entries with allocations both in their row and in the allocations table, or a single one in the table", misplaced)
	}

	// Grants: remaining = original + allocations, within [0, original];
	// the live flag matches the status.
	rows, err = tx.QueryContext(ctx, `SELECT g.id, g.wallet_id, g.original, g.remaining, g.status, g.activated, g.live,
		COALESCE(s.allocated, 0) FROM grants g LEFT JOIN (SELECT grant_id, SUM(amount) AS allocated FROM (`+allAllocations+`) a GROUP BY grant_id) s ON s.grant_id = g.id`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var id, wid int64
		var original, remaining, allocated money.Micros
		var status, activated, live int
		if err := rows.Scan(&id, &wid, &original, &remaining, &status, &activated, &live, &allocated); err != nil {
			rows.Close()
			return rep, err
		}
		rep.Grants++
		name := wallets[wid].name
		if original+allocated != remaining {
			problem("wallet %s grant %d: remaining %s but original %s and allocations %s", name, id, remaining, original, allocated)
		}
		if remaining < 0 || remaining > original {
			problem("wallet %s grant %d: remaining %s outside [0, %s]", name, id, remaining, original)
		}
		g := grantRow{remaining: remaining, status: statuses[status], activated: activated != 0}
		if b2i(g.live()) != live {
			problem("wallet %s grant %d: live flag %d for status %s remaining %s", name, id, live, g.status, remaining)
		}
	}
	rows.Close()

	// Snapshots: the totals the last write stored, recomputed from the grants.
	for id, w := range wallets {
		grants, err := s.liveGrants(ctx, tx, id)
		if err != nil {
			return rep, err
		}
		st := &walletState{grants: grants}
		paid, granted, pending, _, _ := st.totals(w.computedAt)
		if paid != w.paid || granted != w.granted || pending != w.pending {
			problem("wallet %s: snapshot paid %s granted %s pending %s, grants say %s %s %s",
				w.name, w.paid, w.granted, w.pending, paid, granted, pending)
		}
	}

	// Rollups, recomputed from the entries.
	want := map[rollupKey]*rollupDelta{}
	settled := map[string]bool{} // wallet/key of grants settled by a settlement entry
	type ent struct {
		wid              int64
		key, ref         string
		typ              EntryType
		status           Status
		credits          money.Micros
		ts               int64
		origin, endpoint string
	}
	var ents []ent
	rows, err = tx.QueryContext(ctx, `SELECT wallet_id, key, ref, type, status, credits, ts, origin, endpoint FROM entries`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var e ent
		var typ, status int
		var ref, origin, endpoint *string
		if err := rows.Scan(&e.wid, &e.key, &ref, &typ, &status, &e.credits, &e.ts, &origin, &endpoint); err != nil {
			rows.Close()
			return rep, err
		}
		e.typ, e.status = entryTypes[typ], statuses[status]
		if ref != nil {
			e.ref = *ref
		}
		if origin != nil {
			e.origin = *origin
		}
		if endpoint != nil {
			e.endpoint = *endpoint
		}
		if e.typ == EntrySettlement && strings.HasPrefix(e.key, "settle:") {
			settled[fmt.Sprint(e.wid, "/", e.ref)] = true
		}
		ents = append(ents, e)
	}
	rows.Close()
	add := func(wid, ts int64, origin, endpoint string, f func(*rollupDelta)) {
		k := rollupKey{wallet: wid, hour: ts / (3600 * 1e6), origin: origin, endpoint: endpoint}
		if want[k] == nil {
			want[k] = &rollupDelta{}
		}
		f(want[k])
	}
	for _, e := range ents {
		switch {
		case e.typ == EntryDebit:
			add(e.wid, e.ts, e.origin, e.endpoint, func(d *rollupDelta) { d.debited -= e.credits; d.count++ })
		case e.typ == EntryTopUp && e.status == StatusSettled && !settled[fmt.Sprint(e.wid, "/", e.key)]:
			add(e.wid, e.ts, "", "", func(d *rollupDelta) { d.credited += e.credits })
		case e.typ == EntrySettlement && e.credits > 0, e.typ == EntryAdjustment && e.credits > 0:
			add(e.wid, e.ts, "", "", func(d *rollupDelta) { d.credited += e.credits })
		case e.typ == EntryVoid, e.typ == EntryRefund, e.typ == EntryExpiry, e.typ == EntryAdjustment:
			if e.credits < 0 {
				add(e.wid, e.ts, "", "", func(d *rollupDelta) { d.removed -= e.credits })
			}
		}
	}
	rows, err = tx.QueryContext(ctx, `SELECT wallet_id, hour, origin, endpoint, debited, credited, removed, count FROM rollups`)
	if err != nil {
		return rep, err
	}
	for rows.Next() {
		var k rollupKey
		var d rollupDelta
		if err := rows.Scan(&k.wallet, &k.hour, &k.origin, &k.endpoint, &d.debited, &d.credited, &d.removed, &d.count); err != nil {
			rows.Close()
			return rep, err
		}
		rep.Rollups++
		w := want[k]
		if w == nil {
			w = &rollupDelta{}
		}
		if *w != d {
			problem("rollup %+v: stored %+v, entries say %+v", k, d, *w)
		}
		delete(want, k)
	}
	rows.Close()
	for k, d := range want {
		if *d != (rollupDelta{}) {
			problem("rollup %+v missing: entries say %+v", k, *d)
		}
	}
	// Daily rollups: the sums of the hourly ones.
	rows, err = tx.QueryContext(ctx, `SELECT d.wallet_id, d.day, d.origin, d.endpoint, d.debited, d.credited, d.removed, d.count,
		COALESCE(SUM(h.debited), 0), COALESCE(SUM(h.credited), 0), COALESCE(SUM(h.removed), 0), COALESCE(SUM(h.count), 0)
		FROM rollups_daily d LEFT JOIN rollups h ON h.wallet_id = d.wallet_id AND h.hour / 24 = d.day AND h.origin = d.origin AND h.endpoint = d.endpoint
		GROUP BY d.wallet_id, d.day, d.origin, d.endpoint, d.debited, d.credited, d.removed, d.count`)
	if err != nil {
		return rep, err
	}
	days := 0
	for rows.Next() {
		var k rollupKey
		var d, h rollupDelta
		if err := rows.Scan(&k.wallet, &k.hour, &k.origin, &k.endpoint, &d.debited, &d.credited, &d.removed, &d.count,
			&h.debited, &h.credited, &h.removed, &h.count); err != nil {
			rows.Close()
			return rep, err
		}
		days++
		if d != h {
			problem("daily rollup %+v (day %d): stored %+v, hourly rollups say %+v", k, k.hour, d, h)
		}
	}
	rows.Close()
	var hourlyDays int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT DISTINCT wallet_id, hour / 24, origin, endpoint FROM rollups) x`).Scan(&hourlyDays); err != nil {
		return rep, err
	}
	if hourlyDays != days {
		problem("%d daily rollups, but the hourly rollups cover %d days", days, hourlyDays)
	}
	return rep, nil
}
