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
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/walletop/wallet-operator/internal/money"
)

// Reads run outside the commit queue, on snapshots the writes keep.

type walletRow struct {
	id         int64
	name       string
	currency   string
	rate       money.Micros
	terminated sql.NullInt64
	seq        int64
	debt       money.Micros
	paid       money.Micros
	granted    money.Micros
	pending    money.Micros
	nextChange int64
	nextExpAt  sql.NullInt64
	nextExpCr  sql.NullInt64
	computedAt int64
	createdAt  int64
}

func (s *SQLStore) wallet(ctx context.Context, name string) (*walletRow, error) {
	w := &walletRow{name: name}
	st, err := s.prep(ctx, nil, `SELECT id, currency, rate, terminated_at, seq, debt, paid, granted, pending, next_change, next_exp_at, next_exp_credits, computed_at, created_at FROM wallets WHERE name = ?`)
	if err != nil {
		return nil, err
	}
	err = st.QueryRowContext(ctx, name).
		Scan(&w.id, &w.currency, &w.rate, &w.terminated, &w.seq, &w.debt, &w.paid, &w.granted, &w.pending, &w.nextChange, &w.nextExpAt, &w.nextExpCr, &w.computedAt, &w.createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %s", ErrWalletNotFound, name)
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: reading wallet %s: %w", name, err)
	}
	return w, nil
}

// Balance returns the live balance. It is O(1) from the wallet's snapshot
// unless a grant became effective or expired since the last write; then it
// is computed from the wallet's live grants.
func (s *SQLStore) Balance(ctx context.Context, wallet string) (Balance, error) {
	now := micros(s.opts.Clock.Now())
	w, err := s.wallet(ctx, wallet)
	if err != nil {
		return Balance{}, err
	}
	b := Balance{
		Wallet: wallet, Currency: w.currency, Rate: w.rate, Debt: w.debt, Sequence: w.seq,
		Terminated: w.terminated.Valid, ComputedAt: fromMicros(now),
	}
	next := w.nextChange
	if now < w.nextChange && now >= w.computedAt {
		b.Paid, b.Granted, b.Pending = w.paid, w.granted, w.pending
		if w.nextExpAt.Valid {
			b.NextExpiration = &Expiration{At: fromMicros(w.nextExpAt.Int64), Credits: money.Micros(w.nextExpCr.Int64)}
		}
	} else {
		b.Due = !b.Terminated && now >= w.nextChange
		grants, err := s.liveGrants(ctx, s.db, w.id)
		if err != nil {
			return Balance{}, err
		}
		st := &walletState{grants: grants}
		b.Paid, b.Granted, b.Pending, next, b.NextExpiration = st.totals(now)
	}
	if next != never && !b.Terminated {
		b.NextChange = fromMicros(next)
	}
	b.Available = b.Paid + b.Granted - b.Debt
	return b, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *SQLStore) liveGrants(ctx context.Context, db querier, walletID int64) ([]*grantRow, error) {
	rows, err := db.QueryContext(ctx, s.q(`SELECT `+grantCols+` FROM grants g WHERE g.wallet_id = ? AND g.live = 1 ORDER BY g.id`), walletID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*grantRow
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// BalanceAt returns the balance as of a past time: the state after every
// entry applied at or before it, evaluated at that time.
func (s *SQLStore) BalanceAt(ctx context.Context, wallet string, at time.Time) (Balance, error) {
	t := micros(at)
	w, err := s.wallet(ctx, wallet)
	if err != nil {
		return Balance{}, err
	}
	b := Balance{Wallet: wallet, Currency: w.currency, Rate: w.rate, ComputedAt: fromMicros(t), Terminated: w.terminated.Valid && w.terminated.Int64 <= t}
	err = s.db.QueryRowContext(ctx, s.q(`SELECT seq, COALESCE(debt_after, 0) FROM entries WHERE wallet_id = ? AND applied_at <= ? ORDER BY seq DESC LIMIT 1`), w.id, t).Scan(&b.Sequence, &b.Debt)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Balance{}, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT g.category, g.original, g.effective_at, g.expires_at, g.status, g.settled_at, COALESCE(s.allocated, 0)
		FROM grants g LEFT JOIN (SELECT grant_id, SUM(amount) AS allocated FROM (`+walletAllocations+`) a GROUP BY grant_id) s ON s.grant_id = g.id
		WHERE g.wallet_id = ? AND g.created_at <= ?`), w.id, t, w.id, t, w.id, t)
	if err != nil {
		return Balance{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var cat, status int
		var original, allocated money.Micros
		var eff int64
		var exp, settled sql.NullInt64
		if err := rows.Scan(&cat, &original, &eff, &exp, &status, &settled, &allocated); err != nil {
			return Balance{}, err
		}
		expires := int64(never)
		if exp.Valid {
			expires = exp.Int64
		}
		switch {
		case settled.Valid && settled.Int64 <= t:
			if eff <= t && expires > t {
				if categories[cat] == Paid {
					b.Paid += original + allocated
				} else {
					b.Granted += original + allocated
				}
				if expires != never && (b.NextExpiration == nil || micros(b.NextExpiration.At) > expires) {
					b.NextExpiration = &Expiration{At: fromMicros(expires), Credits: original + allocated}
				} else if expires != never && micros(b.NextExpiration.At) == expires {
					b.NextExpiration.Credits += original + allocated
				}
			}
		case statuses[status] != StatusFailed:
			b.Pending += original
		}
	}
	b.Available = b.Paid + b.Granted - b.Debt
	return b, rows.Err()
}

// walletAllocations are the allocations (grant_id, amount) of the entries
// of a wallet applied at or before a time (parameters: wallet id and time,
// twice): held in the entry's row when it touched one grant, in the
// allocations table when it touched more.
const walletAllocations = `SELECT grant_id, COALESCE(grant_amount, credits) AS amount FROM entries WHERE wallet_id = ? AND applied_at <= ? AND grant_id IS NOT NULL
	UNION ALL SELECT a.grant_id, a.amount FROM entries e JOIN allocations a ON a.entry_id = e.id WHERE e.wallet_id = ? AND e.applied_at <= ?`

// Entry returns the entry with this idempotency key.
func (s *SQLStore) Entry(ctx context.Context, wallet, key string) (Entry, error) {
	w, err := s.wallet(ctx, wallet)
	if err != nil {
		return Entry{}, err
	}
	st, err := s.prep(ctx, nil, `SELECT `+entryCols+` FROM entries WHERE `+s.keyParams())
	if err != nil {
		return Entry{}, err
	}
	e, err := scanEntry(st.QueryRowContext(ctx, w.id, key))
	if errors.Is(err, sql.ErrNoRows) {
		return Entry{}, fmt.Errorf("%w: entry %q of %s", ErrNotFound, key, wallet)
	}
	if err != nil {
		return Entry{}, err
	}
	return e.public(wallet), nil
}

// Grants lists every grant of the wallet, oldest first.
func (s *SQLStore) Grants(ctx context.Context, wallet string) ([]Grant, error) {
	w, err := s.wallet(ctx, wallet)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+grantCols+` FROM grants g WHERE g.wallet_id = ? ORDER BY g.id`), w.id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, g.public())
	}
	return out, rows.Err()
}

func (g *grantRow) public() Grant {
	out := Grant{
		ID: g.id, Key: g.entryKey, Category: g.category, Original: g.original, Remaining: g.remaining, Priority: g.priority,
		EffectiveAt: fromMicros(g.effectiveAt), AppliesTo: g.applies, Status: g.status, CreatedAt: fromMicros(g.createdAt),
	}
	if g.expiresAt != never {
		t := fromMicros(g.expiresAt)
		out.ExpiresAt = &t
	}
	return out
}

func (e *entryRow) public(wallet string) Entry {
	return Entry{
		ID: EntryID(wallet, e.key), Wallet: wallet, Seq: e.seq, Key: e.key, Type: e.typ, Status: e.status, Credits: e.credits,
		Paid: e.paid, Granted: e.granted, Origin: e.origin, Endpoint: e.endpoint, Ref: e.ref, Description: e.description,
		Timestamp: fromMicros(e.ts), AppliedAt: fromMicros(e.appliedAt), BalanceAfter: e.balanceAfter, Payment: e.payment,
	}
}

// MaxPageSize bounds Entries and Payments pages.
const MaxPageSize = 1000

func encodeCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("seq:" + strconv.FormatInt(seq, 10)))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && strings.HasPrefix(string(b), "seq:") {
		if v, err := strconv.ParseInt(strings.TrimPrefix(string(b), "seq:"), 10, 64); err == nil && v > 0 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: malformed continue token", ErrInvalid)
}

// Entries pages through the wallet's history, newest first.
func (s *SQLStore) Entries(ctx context.Context, q EntryQuery) (EntryPage, error) {
	return s.page(ctx, q, false)
}

// Payments lists grants backed by a payment and refunds, newest first.
func (s *SQLStore) Payments(ctx context.Context, q EntryQuery) (EntryPage, error) {
	return s.page(ctx, q, true)
}

func (s *SQLStore) page(ctx context.Context, q EntryQuery, payments bool) (EntryPage, error) {
	if q.Limit == 0 {
		q.Limit = 100
	}
	if q.Limit < 0 || q.Limit > MaxPageSize {
		return EntryPage{}, fmt.Errorf("%w: limit must be 1-%d", ErrInvalid, MaxPageSize)
	}
	w, err := s.wallet(ctx, q.Wallet)
	if err != nil {
		return EntryPage{}, err
	}
	where := []string{"wallet_id = ?"}
	args := []any{w.id}
	if q.Cursor != "" {
		seq, err := decodeCursor(q.Cursor)
		if err != nil {
			return EntryPage{}, err
		}
		if q.Oldest {
			where = append(where, "seq > ?")
		} else {
			where = append(where, "seq < ?")
		}
		args = append(args, seq)
	}
	if !q.From.IsZero() {
		where = append(where, "ts >= ?")
		args = append(args, q.From.UnixMicro())
	}
	if !q.To.IsZero() {
		where = append(where, "ts < ?")
		args = append(args, q.To.UnixMicro())
	}
	if q.Origin != "" {
		where = append(where, "origin = ?")
		args = append(args, q.Origin)
	}
	if q.Endpoint != "" {
		where = append(where, "endpoint = ?")
		args = append(args, q.Endpoint)
	}
	if payments {
		where = append(where, "payment = 1")
	}
	if len(q.Types) > 0 {
		var ph []string
		for _, t := range q.Types {
			i := slices.Index(entryTypes, t)
			if i < 0 {
				return EntryPage{}, fmt.Errorf("%w: unknown entry type %q", ErrInvalid, t)
			}
			ph = append(ph, "?")
			args = append(args, i)
		}
		where = append(where, "type IN ("+strings.Join(ph, ",")+")")
		if !slices.Contains(q.Types, EntryDebit) {
			// the literal term lets the database use the index of non-debit
			// entries (schema v3), instead of reading every debit
			where = append(where, "type <> "+strconv.Itoa(debitTypeCode))
		}
	}
	if len(q.Statuses) > 0 {
		var ph []string
		for _, st := range q.Statuses {
			i := slices.Index(statuses, st)
			if i < 0 || st == StatusExpired {
				return EntryPage{}, fmt.Errorf("%w: unknown status %q", ErrInvalid, st)
			}
			ph = append(ph, "?")
			args = append(args, i)
		}
		where = append(where, "status IN ("+strings.Join(ph, ",")+")")
	}
	args = append(args, q.Limit+1)
	order := "DESC"
	if q.Oldest {
		order = "ASC"
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+entryCols+` FROM entries WHERE `+strings.Join(where, " AND ")+` ORDER BY seq `+order+` LIMIT ?`), args...)
	if err != nil {
		return EntryPage{}, err
	}
	defer rows.Close()
	var page EntryPage
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return EntryPage{}, err
		}
		if len(page.Entries) == q.Limit {
			page.Next = encodeCursor(page.Entries[len(page.Entries)-1].Seq)
			break
		}
		page.Entries = append(page.Entries, e.public(q.Wallet))
	}
	return page, rows.Err()
}

// periodStart truncates t (UTC) to the start of its period.
func periodStart(t time.Time, g GroupBy) time.Time {
	t = t.UTC()
	switch g {
	case Hour:
		return t.Truncate(time.Hour)
	case Day:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	case Week:
		d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
		return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
	default:
		return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
}

func periodNext(t time.Time, g GroupBy) time.Time {
	switch g {
	case Hour:
		return t.Add(time.Hour)
	case Day:
		return t.AddDate(0, 0, 1)
	case Week:
		return t.AddDate(0, 0, 7)
	default:
		return t.AddDate(0, 1, 0)
	}
}

// Consumption sums the hourly rollups into periods; it never reads raw entries.
func (s *SQLStore) Consumption(ctx context.Context, q ConsumptionQuery) ([]Period, error) {
	switch q.GroupBy {
	case Hour, Day, Week, Month:
	default:
		return nil, fmt.Errorf("%w: groupBy must be hour, day, week or month", ErrInvalid)
	}
	from, to := q.From.UTC().Truncate(time.Hour), q.To.UTC()
	if !to.After(from) {
		return nil, fmt.Errorf("%w: to must be after from", ErrInvalid)
	}
	if to.Sub(from) > MaxReportWindow {
		return nil, fmt.Errorf("%w: the window is longer than 366 days", ErrInvalid)
	}
	w, err := s.wallet(ctx, q.Wallet)
	if err != nil {
		return nil, err
	}
	var periods []Period
	var starts []int64 // unix seconds of each period's start
	for p := periodStart(from, q.GroupBy); p.Before(to); p = periodNext(p, q.GroupBy) {
		starts = append(starts, p.Unix())
		periods = append(periods, Period{Start: p, End: periodNext(p, q.GroupBy)})
	}
	type ue struct {
		p    int
		o, e string
	}
	usage := map[ue]int{}
	// scan adds the rollups of one table over [fromUnit, toUnit).
	scan := func(table, unit string, unitSeconds, fromUnit, toUnit int64) error {
		if fromUnit >= toUnit {
			return nil
		}
		where := "wallet_id = ? AND " + unit + " >= ? AND " + unit + " < ?"
		args := []any{w.id, fromUnit, toUnit}
		if q.Origin != "" {
			where += " AND origin = ?"
			args = append(args, q.Origin)
		}
		if q.Endpoint != "" {
			where += " AND endpoint = ?"
			args = append(args, q.Endpoint)
		}
		rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+unit+`, origin, endpoint, debited, credited, removed, count FROM `+table+` WHERE `+where), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		last, lastIdx := int64(-1), 0
		for rows.Next() {
			var at, count int64
			var origin, endpoint string
			var debited, credited, removed money.Micros
			if err := rows.Scan(&at, &origin, &endpoint, &debited, &credited, &removed, &count); err != nil {
				return err
			}
			i := lastIdx
			if at != last {
				sec := at * unitSeconds
				i = sort.Search(len(starts), func(k int) bool { return starts[k] > sec }) - 1
				last, lastIdx = at, i
			}
			if i < 0 {
				continue
			}
			p := &periods[i]
			p.Debited += debited
			p.Credited += credited
			p.Removed += removed
			if count > 0 || debited != 0 {
				k := ue{i, origin, endpoint}
				j, ok := usage[k]
				if !ok {
					j = len(p.Usage)
					usage[k] = j
					p.Usage = append(p.Usage, Usage{Origin: origin, Endpoint: endpoint})
				}
				p.Usage[j].Debited += debited
				p.Usage[j].Count += count
			}
		}
		return rows.Err()
	}
	fromHour := from.Unix() / 3600
	toHour := (to.Unix() + 3599) / 3600
	if q.GroupBy == Hour {
		return periods, scan("rollups", "hour", 3600, fromHour, toHour)
	}
	// Whole days come from the daily rollups; the hours before the first
	// whole day and after the last one from the hourly rollups.
	fromDay := (fromHour + 23) / 24
	toDay := toHour / 24
	if fromDay >= toDay {
		return periods, scan("rollups", "hour", 3600, fromHour, toHour)
	}
	if err := scan("rollups", "hour", 3600, fromHour, fromDay*24); err != nil {
		return nil, err
	}
	if err := scan("rollups_daily", "day", 86400, fromDay, toDay); err != nil {
		return nil, err
	}
	if err := scan("rollups", "hour", 3600, toDay*24, toHour); err != nil {
		return nil, err
	}
	return periods, nil
}

// Wallets lists the names of the wallets that start with prefix, in name
// order, terminated ones included.
func (s *SQLStore) Wallets(ctx context.Context, prefix string) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT name FROM wallets WHERE substr(name, 1, ?) = ? ORDER BY name`), len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, rows.Err()
}
