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

package ledgertest

import (
	"errors"
	"fmt"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// model is a deliberately simple, independent in-memory ledger: the rules
// of docs/design.md written as plainly as possible, with no storage, batching or
// snapshots. The randomized test runs the same operations against it and a
// real backend and compares everything after every step.
type model struct {
	wallets map[string]*mWallet
}

type mGrant struct {
	key       string
	cat       ledger.Category
	original  money.Micros
	remaining money.Micros
	priority  int
	eff, exp  time.Time // exp zero: never
	applies   ledger.AppliesTo
	status    ledger.Status
	activated bool
	settledAt time.Time
	created   time.Time
	order     int
}

type mEntry struct {
	key     string
	typ     ledger.EntryType
	status  ledger.Status
	credits money.Micros
	ref     string
	payload string
	balance money.Micros
}

type mWallet struct {
	overdraft  money.Micros
	applies    ledger.AppliesTo
	terminated bool
	debt       money.Micros
	grants     []*mGrant
	entries    []*mEntry
}

func newModel() *model { return &model{wallets: map[string]*mWallet{}} }

func (w *mWallet) entry(key string) *mEntry {
	for _, e := range w.entries {
		if e.key == key {
			return e
		}
	}
	return nil
}

func (g *mGrant) counts(now time.Time) bool {
	return g.status == ledger.StatusSettled && !g.eff.After(now) && (g.exp.IsZero() || g.exp.After(now))
}

func (w *mWallet) available(now time.Time) money.Micros {
	var s money.Micros
	for _, g := range w.grants {
		if g.counts(now) {
			s += g.remaining
		}
	}
	return s - w.debt
}

func (w *mWallet) add(e *mEntry, now time.Time) *mEntry {
	e.balance = w.available(now)
	w.entries = append(w.entries, e)
	return e
}

// before is the drawdown order.
func before(a, b *mGrant) bool {
	if a.priority != b.priority {
		return a.priority < b.priority
	}
	ae, be := a.exp, b.exp
	switch {
	case ae.IsZero() && !be.IsZero():
		return false
	case !ae.IsZero() && be.IsZero():
		return true
	case !ae.Equal(be):
		return ae.Before(be)
	}
	if a.cat != b.cat {
		return a.cat == ledger.Granted
	}
	if !a.created.Equal(b.created) {
		return a.created.Before(b.created)
	}
	return a.order < b.order
}

// take draws amount from the grants that pass ok, best first, by repeated
// selection; it returns what it could not cover. With dry, nothing changes.
func (w *mWallet) take(now time.Time, amount money.Micros, ok func(*mGrant) bool, dry bool) money.Micros {
	used := map[*mGrant]money.Micros{}
	for amount > 0 {
		var best *mGrant
		for _, g := range w.grants {
			if g.counts(now) && g.remaining-used[g] > 0 && ok(g) && (best == nil || before(g, best)) {
				best = g
			}
		}
		if best == nil {
			break
		}
		t := min(amount, best.remaining-used[best])
		used[best] += t
		amount -= t
	}
	if !dry {
		for g, t := range used {
			g.remaining -= t
		}
	}
	return amount
}

func (w *mWallet) activate(g *mGrant, now time.Time) {
	g.activated = true
	if w.debt > 0 && g.remaining > 0 {
		r := min(w.debt, g.remaining)
		w.debt -= r
		g.remaining -= r
		w.add(&mEntry{key: "repay:", typ: ledger.EntrySettlement, status: ledger.StatusSettled}, now)
	}
}

func (w *mWallet) expire(g *mGrant, now time.Time) {
	g.activated = true
	g.status = ledger.StatusExpired
	if g.remaining > 0 {
		amt := g.remaining
		g.remaining = 0
		w.add(&mEntry{key: "expire:", typ: ledger.EntryExpiry, status: ledger.StatusSettled, credits: -amt}, now)
	}
}

func (w *mWallet) normalize(now time.Time) {
	if w.terminated {
		return
	}
	// Every activation and expiry due now, decided up front, then applied in
	// time order (an activation before an expiry at the same instant).
	type event struct {
		at     time.Time
		expire bool
		g      *mGrant
	}
	var due []event
	for _, g := range w.grants {
		if g.status != ledger.StatusSettled {
			continue
		}
		if !g.activated && !g.eff.After(now) {
			at := g.eff
			if g.settledAt.After(at) {
				at = g.settledAt
			}
			due = append(due, event{at: at, g: g})
		}
		if !g.exp.IsZero() && !g.exp.After(now) && (g.remaining > 0 || !g.activated) {
			due = append(due, event{at: g.exp, expire: true, g: g})
		}
	}
	for len(due) > 0 {
		best := 0
		for i, e := range due {
			b := due[best]
			if e.at.Before(b.at) || (e.at.Equal(b.at) && !e.expire && b.expire) {
				best = i
			}
		}
		e := due[best]
		due = append(due[:best], due[best+1:]...)
		switch {
		case e.expire:
			w.expire(e.g, now)
		case !e.g.exp.IsZero() && !e.g.exp.After(e.at):
			// expires before it would count: its expiry event handles it
		default:
			w.activate(e.g, now)
		}
	}
}

func payloadOf(v any) string { return fmt.Sprintf("%#v", v) }

// replay returns (entry, nil) for a repeat, an error for a conflict.
func (w *mWallet) replay(key, payload string) (*mEntry, error) {
	if e := w.entry(key); e != nil {
		if e.payload != payload {
			return nil, ledger.ErrConflict
		}
		return e, nil
	}
	return nil, nil
}

type mResult struct {
	replayed bool
	balance  money.Micros
	entryKey string
}

func (m *model) wallet(name string) (*mWallet, error) {
	w := m.wallets[name]
	if w == nil {
		return nil, ledger.ErrWalletNotFound
	}
	return w, nil
}

func (m *model) write(name string, now time.Time, payload, key string, fn func(w *mWallet) (*mEntry, error)) (mResult, error) {
	w, err := m.wallet(name)
	if err != nil {
		return mResult{}, err
	}
	w.normalize(now)
	if key != "" {
		if e, err := w.replay(key, payload); err != nil || e != nil {
			if err != nil {
				return mResult{}, err
			}
			return mResult{replayed: true, balance: e.balance, entryKey: e.key}, nil
		}
	}
	if w.terminated {
		return mResult{}, ledger.ErrWalletTerminated
	}
	e, err := fn(w)
	if err != nil {
		return mResult{}, err
	}
	e.balance = w.available(now)
	return mResult{balance: e.balance, entryKey: e.key}, nil
}

func (m *model) topUp(r ledger.TopUpRequest, now time.Time) (mResult, error) {
	key := r.Key
	r.Key = ""
	return m.write(r.Wallet, now, payloadOf(r), key, func(w *mWallet) (*mEntry, error) {
		status := ledger.StatusSettled
		if r.Payment == ledger.PaymentPending {
			status = ledger.StatusPending
		}
		eff := now
		if !r.EffectiveAt.IsZero() {
			eff = r.EffectiveAt
		}
		var exp time.Time
		if r.ExpiresAt != nil {
			exp = *r.ExpiresAt
		}
		e := w.add(&mEntry{key: key, typ: ledger.EntryTopUp, status: status, credits: r.Paid + r.Granted, payload: payloadOf(r)}, now)
		var blocks []*mGrant
		for _, b := range []struct {
			c ledger.Category
			a money.Micros
		}{{ledger.Granted, r.Granted}, {ledger.Paid, r.Paid}} {
			if b.a == 0 {
				continue
			}
			g := &mGrant{key: key, cat: b.c, original: b.a, remaining: b.a, priority: r.Priority, eff: eff, exp: exp,
				applies: r.AppliesTo, status: status, created: now, order: len(w.grants)}
			if status == ledger.StatusSettled {
				g.settledAt = now
			}
			w.grants = append(w.grants, g)
			blocks = append(blocks, g)
		}
		if status == ledger.StatusSettled {
			for _, g := range blocks {
				if !g.eff.After(now) {
					w.activate(g, now)
				}
			}
		}
		return e, nil
	})
}

func (m *model) debit(r ledger.DebitRequest, now time.Time) (mResult, error) {
	key := r.Key
	r.Key = ""
	return m.write(r.Wallet, now, payloadOf(r), key, func(w *mWallet) (*mEntry, error) {
		if !w.applies.Matches(r.Origin, r.Endpoint) {
			return nil, ledger.ErrNotApplicable
		}
		ok := func(g *mGrant) bool { return g.applies.Matches(r.Origin, r.Endpoint) }
		short := w.take(now, r.Credits, ok, true)
		if short > 0 && w.debt+short > w.overdraft {
			return nil, ledger.ErrInsufficientBalance
		}
		w.take(now, r.Credits, ok, false)
		w.debt += short
		return w.add(&mEntry{key: key, typ: ledger.EntryDebit, status: ledger.StatusSettled, credits: -r.Credits, payload: payloadOf(r)}, now), nil
	})
}

func (m *model) void(r ledger.VoidRequest, now time.Time) (mResult, error) {
	key := r.Key
	r.Key = ""
	return m.write(r.Wallet, now, payloadOf(r), key, func(w *mWallet) (*mEntry, error) {
		ok := func(*mGrant) bool { return true }
		if r.GrantKey != "" {
			if ge := w.entry(r.GrantKey); ge == nil || ge.typ != ledger.EntryTopUp {
				return nil, ledger.ErrNotFound
			}
			ok = func(g *mGrant) bool { return g.key == r.GrantKey }
		}
		if w.take(now, r.Credits, ok, true) > 0 {
			return nil, ledger.ErrInsufficientBalance
		}
		w.take(now, r.Credits, ok, false)
		return w.add(&mEntry{key: key, typ: ledger.EntryVoid, status: ledger.StatusSettled, credits: -r.Credits, ref: r.GrantKey, payload: payloadOf(r)}, now), nil
	})
}

func (w *mWallet) paidBlock(key string) *mGrant {
	for _, g := range w.grants {
		if g.key == key && g.cat == ledger.Paid {
			return g
		}
	}
	return nil
}

func (m *model) refund(r ledger.RefundRequest, now time.Time) (mResult, error) {
	key := r.Key
	r.Key = ""
	return m.write(r.Wallet, now, payloadOf(r), key, func(w *mWallet) (*mEntry, error) {
		if ge := w.entry(r.GrantKey); ge == nil || ge.typ != ledger.EntryTopUp {
			return nil, ledger.ErrNotFound
		}
		b := w.paidBlock(r.GrantKey)
		if b == nil {
			return nil, ledger.ErrInvalid
		}
		e := &mEntry{key: key, typ: ledger.EntryRefund, status: r.Payment, ref: r.GrantKey, payload: payloadOf(r)}
		if r.Payment != ledger.StatusFailed {
			if !b.counts(now) || b.remaining < r.Credits {
				return nil, ledger.ErrInsufficientBalance
			}
			b.remaining -= r.Credits
			e.credits = -r.Credits
		}
		return w.add(e, now), nil
	})
}

func (m *model) adjust(r ledger.AdjustRequest, now time.Time) (mResult, error) {
	key := r.Key
	r.Key = ""
	return m.write(r.Wallet, now, payloadOf(r), key, func(w *mWallet) (*mEntry, error) {
		if r.Credits > 0 {
			e := w.add(&mEntry{key: key, typ: ledger.EntryAdjustment, status: ledger.StatusSettled, credits: r.Credits, payload: payloadOf(r)}, now)
			g := &mGrant{key: key, cat: ledger.Granted, original: r.Credits, remaining: r.Credits, priority: ledger.DefaultPriority,
				eff: now, status: ledger.StatusSettled, settledAt: now, created: now, order: len(w.grants)}
			w.grants = append(w.grants, g)
			w.activate(g, now)
			return e, nil
		}
		all := func(*mGrant) bool { return true }
		short := w.take(now, -r.Credits, all, true)
		if short > 0 && w.debt+short > w.overdraft {
			return nil, ledger.ErrInsufficientBalance
		}
		w.take(now, -r.Credits, all, false)
		w.debt += short
		return w.add(&mEntry{key: key, typ: ledger.EntryAdjustment, status: ledger.StatusSettled, credits: r.Credits, payload: payloadOf(r)}, now), nil
	})
}

func (m *model) settle(name, key string, status ledger.Status, now time.Time) (mResult, error) {
	w, err := m.wallet(name)
	if err != nil {
		return mResult{}, err
	}
	w.normalize(now)
	t := w.entry(key)
	if t == nil || (t.typ != ledger.EntryTopUp && t.typ != ledger.EntryRefund) {
		return mResult{}, ledger.ErrNotFound
	}
	if s := w.entry("settle:" + key); s != nil {
		if t.status != status {
			return mResult{}, ledger.ErrConflict
		}
		return mResult{replayed: true, balance: s.balance, entryKey: s.key}, nil
	}
	if t.status != ledger.StatusPending {
		if t.status == status {
			return mResult{replayed: true, balance: t.balance, entryKey: t.key}, nil
		}
		return mResult{}, ledger.ErrConflict
	}
	if w.terminated {
		return mResult{}, ledger.ErrWalletTerminated
	}
	t.status = status
	e := &mEntry{key: "settle:" + key, typ: ledger.EntrySettlement, status: status, ref: key}
	if t.typ == ledger.EntryTopUp {
		var blocks []*mGrant
		for _, g := range w.grants {
			if g.key == key {
				g.status = status
				if status == ledger.StatusSettled {
					g.settledAt = now
				}
				blocks = append(blocks, g)
			}
		}
		if status == ledger.StatusSettled {
			e.credits = t.credits
		}
		w.add(e, now)
		if status == ledger.StatusSettled {
			for _, g := range blocks {
				if !g.exp.IsZero() && !g.exp.After(now) {
					w.expire(g, now)
				} else if !g.eff.After(now) {
					w.activate(g, now)
				}
			}
		}
	} else {
		if status == ledger.StatusFailed {
			b := w.paidBlock(t.ref)
			e.credits = -t.credits
			if b.status == ledger.StatusExpired {
				b.status = ledger.StatusSettled
			}
			b.remaining += e.credits
			w.add(e, now)
			if !b.exp.IsZero() && !b.exp.After(now) {
				w.expire(b, now)
			}
		} else {
			w.add(e, now)
		}
	}
	e.balance = w.available(now)
	return mResult{balance: e.balance, entryKey: e.key}, nil
}

func (m *model) terminate(name string, now time.Time) (mResult, error) {
	w, err := m.wallet(name)
	if err != nil {
		return mResult{}, err
	}
	w.normalize(now)
	if w.terminated {
		return mResult{replayed: true}, nil
	}
	for _, g := range w.grants {
		switch g.status {
		case ledger.StatusPending:
			g.status = ledger.StatusExpired
		case ledger.StatusSettled:
			if g.remaining > 0 || !g.activated { // a used-up grant stays as it was
				w.expire(g, now)
			}
		}
	}
	w.terminated = true
	return mResult{}, nil
}

func (m *model) expireDue(name string, now time.Time) error {
	w, err := m.wallet(name)
	if err != nil {
		return err
	}
	w.normalize(now)
	return nil
}

// sameError reports whether the model's and the ledger's errors agree.
func sameError(want, got error) bool {
	if want == nil || got == nil {
		return want == nil && got == nil
	}
	for _, e := range []error{ledger.ErrInsufficientBalance, ledger.ErrConflict, ledger.ErrWalletNotFound, ledger.ErrWalletTerminated, ledger.ErrNotFound, ledger.ErrInvalid, ledger.ErrNotApplicable} {
		if errors.Is(want, e) {
			return errors.Is(got, e)
		}
	}
	return false
}
