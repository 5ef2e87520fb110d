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
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/walletop/wallet-operator/internal/money"
)

// This file and rules.go are the ledger's arithmetic, with no I/O: here a
// wallet's live state in memory (grants, entries, rollups, balances);
// rules.go the rule of each operation on it. The SQL store loads a state,
// applies operations and writes what they produced in one transaction.

const never = math.MaxInt64

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// EntryID is the stable id of the entry with this key in this wallet.
func EntryID(wallet, key string) string {
	h := sha256.Sum256([]byte(wallet + "\x00" + key))
	return "wtx_" + hex.EncodeToString(h[:10])
}

// payloadHash fingerprints a request (without its key) for idempotency.
func payloadHash(v any) int64 {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // requests are plain structs
	}
	h := sha256.Sum256(b)
	return int64(binary.BigEndian.Uint64(h[:8]))
}

type grantRow struct {
	id          int64 // 0 until inserted
	entryID     int64
	entry       *entryRow // the creating entry, for grants new in this transaction
	entryKey    string
	category    Category
	original    money.Micros
	remaining   money.Micros
	priority    int
	effectiveAt int64
	expiresAt   int64 // never: no expiry
	applies     AppliesTo
	status      Status
	activated   bool
	settledAt   int64 // 0: not settled
	createdAt   int64
	isNew       bool
	dirty       bool
}

func (g *grantRow) live() bool {
	return g.status == StatusPending || (g.status == StatusSettled && (g.remaining != 0 || !g.activated))
}

// available reports whether the grant counts in the balance at time now.
func (g *grantRow) available(now int64) bool {
	return g.status == StatusSettled && g.effectiveAt <= now && g.expiresAt > now
}

type alloc struct {
	grant  *grantRow
	amount money.Micros // signed change of the grant's remaining
}

type entryRow struct {
	id           int64
	seq          int64
	key          string
	hash         int64
	typ          EntryType
	status       Status
	credits      money.Micros
	paid         money.Micros
	granted      money.Micros
	origin       string
	endpoint     string
	ref          string
	description  string
	ts           int64
	appliedAt    int64
	balanceAfter money.Micros
	debtAfter    money.Micros
	payment      bool // a grant backed by a payment, or a refund
	allocs       []alloc
	isNew        bool
	statusDirty  bool
}

type rollupKey struct {
	wallet   int64
	hour     int64
	origin   string
	endpoint string
}

type rollupDelta struct {
	debited, credited, removed money.Micros
	count                      int64
}

// walletState is a wallet and its live grants, loaded for one transaction.
type walletState struct {
	id         int64
	name       string
	currency   string
	rate       money.Micros
	overdraft  money.Micros
	applies    AppliesTo
	terminated int64 // 0: active
	seq        int64
	debt       money.Micros
	createdAt  int64

	grants []*grantRow
	// entries looked up or written in this transaction, by key
	entries map[string]*entryRow
	// written in this transaction
	newEntries []*entryRow
	rollups    map[rollupKey]*rollupDelta
	dirty      bool
	// cachedGrants is len(grants) when the state was cached (SQLStore)
	cachedGrants int
}

// clone copies the state for a dry run: the operation runs on the copy,
// which no flush sees.
func (w *walletState) clone() *walletState {
	c := *w
	grants := make(map[*grantRow]*grantRow, len(w.grants))
	c.grants = make([]*grantRow, len(w.grants))
	for i, g := range w.grants {
		gc := *g
		c.grants[i], grants[g] = &gc, &gc
	}
	c.entries = make(map[string]*entryRow, len(w.entries))
	for k, e := range w.entries {
		ec := *e
		ec.allocs = make([]alloc, len(e.allocs))
		for i, a := range e.allocs {
			ec.allocs[i] = alloc{grant: grants[a.grant], amount: a.amount}
			if ec.allocs[i].grant == nil {
				ec.allocs[i].grant = a.grant
			}
		}
		c.entries[k] = &ec
	}
	c.newEntries = nil
	c.rollups = map[rollupKey]*rollupDelta{}
	return &c
}

func (w *walletState) addEntry(e *entryRow) {
	w.seq++
	e.seq = w.seq
	if strings.HasSuffix(e.key, ":") {
		// entries the ledger writes by itself are keyed by their sequence
		e.key += strconv.FormatInt(e.seq, 10)
	}
	e.isNew = true
	bal := w.availableAt(e.appliedAt)
	e.balanceAfter = bal
	e.debtAfter = w.debt
	if w.entries == nil {
		w.entries = map[string]*entryRow{}
	}
	w.entries[e.key] = e
	w.newEntries = append(w.newEntries, e)
	w.dirty = true
}

func (w *walletState) rollup(hourOf int64, origin, endpoint string, f func(*rollupDelta)) {
	if w.rollups == nil {
		w.rollups = map[rollupKey]*rollupDelta{}
	}
	k := rollupKey{wallet: w.id, hour: hourOf / (3600 * 1e6), origin: origin, endpoint: endpoint}
	d := w.rollups[k]
	if d == nil {
		d = &rollupDelta{}
		w.rollups[k] = d
	}
	f(d)
}

// totals returns paid, granted (available at now), pending credits and the
// next time the available balance changes by itself (an effectiveAt or
// expiresAt after now).
func (w *walletState) totals(now int64) (paid, granted, pending money.Micros, next int64, nextExp *Expiration) {
	next = never
	for _, g := range w.grants {
		switch {
		case g.status == StatusPending:
			pending += g.original
		case g.available(now):
			if g.category == Paid {
				paid += g.remaining
			} else {
				granted += g.remaining
			}
		}
		if g.status == StatusSettled && g.remaining > 0 {
			if g.effectiveAt > now && g.effectiveAt < next {
				next = g.effectiveAt
			}
			if g.expiresAt > now && g.expiresAt != never && g.expiresAt < next {
				next = g.expiresAt
			}
			if g.expiresAt > now && g.expiresAt != never && g.effectiveAt <= now {
				if nextExp == nil || micros(nextExp.At) > g.expiresAt {
					nextExp = &Expiration{At: fromMicros(g.expiresAt), Credits: g.remaining}
				} else if micros(nextExp.At) == g.expiresAt {
					nextExp.Credits += g.remaining
				}
			}
		}
	}
	return paid, granted, pending, next, nextExp
}

func (w *walletState) availableAt(now int64) money.Micros {
	var sum money.Micros
	for _, g := range w.grants {
		if g.available(now) {
			sum += g.remaining
		}
	}
	return sum - w.debt
}

// drawdown sorts grants in drawdown order: priority, soonest expiry,
// granted before paid, oldest.
func drawdown(gs []*grantRow) {
	sort.SliceStable(gs, func(i, j int) bool {
		a, b := gs[i], gs[j]
		if a.priority != b.priority {
			return a.priority < b.priority
		}
		if a.expiresAt != b.expiresAt {
			return a.expiresAt < b.expiresAt
		}
		if a.category != b.category {
			return a.category == Granted
		}
		if a.createdAt != b.createdAt {
			return a.createdAt < b.createdAt
		}
		return a.id < b.id
	})
}

// eligible returns the available grants that pass filter, in drawdown order.
func (w *walletState) eligible(now int64, filter func(*grantRow) bool) []*grantRow {
	var out []*grantRow
	for _, g := range w.grants {
		if g.available(now) && g.remaining > 0 && (filter == nil || filter(g)) {
			out = append(out, g)
		}
	}
	drawdown(out)
	return out
}

// draw plans taking up to amount from grants in order; it returns the
// allocations and what it could not cover. Nothing is mutated.
func draw(gs []*grantRow, amount money.Micros) ([]alloc, money.Micros) {
	var out []alloc
	for _, g := range gs {
		if amount == 0 {
			break
		}
		take := min(g.remaining, amount)
		out = append(out, alloc{grant: g, amount: -take})
		amount -= take
	}
	return out, amount
}

func (w *walletState) apply(e *entryRow, as []alloc) {
	for _, a := range as {
		a.grant.remaining += a.amount
		a.grant.dirty = true
	}
	e.allocs = append(e.allocs, as...)
}

// normalize brings the wallet to time now: grants that became effective
// repay debt, grants whose expiry is due expire. It returns the number of
// expiry entries written.
func (w *walletState) normalize(now int64) int {
	if w.terminated != 0 {
		return 0
	}
	// Process activations and expiries in time order.
	type event struct {
		at     int64
		expire bool
		g      *grantRow
	}
	var events []event
	for _, g := range w.grants {
		if g.status != StatusSettled {
			continue
		}
		if !g.activated && g.effectiveAt <= now {
			events = append(events, event{at: max(g.effectiveAt, g.settledAt), g: g})
		}
		if g.expiresAt <= now && (g.remaining > 0 || !g.activated) {
			events = append(events, event{at: g.expiresAt, expire: true, g: g})
		}
	}
	sort.SliceStable(events, func(i, j int) bool {
		if events[i].at != events[j].at {
			return events[i].at < events[j].at
		}
		return !events[i].expire && events[j].expire
	})
	expired := 0
	for _, ev := range events {
		if ev.expire {
			if w.expireGrant(ev.g, now, ev.at) {
				expired++
			}
			continue
		}
		if ev.g.expiresAt <= ev.at {
			continue // expired before it became effective: the expiry handles it
		}
		w.activate(ev.g, now)
	}
	return expired
}

// activate makes a settled, effective grant count; it repays debt first.
func (w *walletState) activate(g *grantRow, now int64) {
	g.activated = true
	g.dirty = true
	if w.debt == 0 || g.remaining == 0 {
		return
	}
	repay := min(w.debt, g.remaining)
	w.debt -= repay
	e := &entryRow{
		key: "repay:", typ: EntrySettlement, status: StatusSettled,
		ref: g.entryKey, description: "debt repaid from a new grant", ts: now, appliedAt: now,
	}
	w.apply(e, []alloc{{grant: g, amount: -repay}})
	w.addEntry(e)
}

func (w *walletState) expireGrant(g *grantRow, now, at int64) bool {
	g.activated = true
	g.dirty = true
	g.status = StatusExpired
	if g.remaining == 0 {
		return false
	}
	amount := g.remaining
	e := &entryRow{
		key: "expire:", typ: EntryExpiry, status: StatusSettled,
		credits: -amount, ref: g.entryKey, ts: at, appliedAt: now,
	}
	w.apply(e, []alloc{{grant: g, amount: -amount}})
	w.addEntry(e)
	w.rollup(at, "", "", func(d *rollupDelta) { d.removed += amount })
	return true
}
