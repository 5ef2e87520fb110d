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
	"fmt"
	"strings"

	"github.com/walletop/wallet-operator/internal/money"
)

// The rule of each ledger operation on a wallet's state in memory (see
// state.go): checks, idempotent replay, drawdown and the entries it adds.

// replay checks the idempotency key: a known key with the same payload
// returns its first result, with another payload ErrConflict.
func (w *walletState) replay(key string, hash int64) (*entryRow, error) {
	e := w.entries[key]
	if e == nil {
		return nil, nil
	}
	if e.hash != hash {
		return nil, fmt.Errorf("%w: key %q", ErrConflict, key)
	}
	return e, nil
}

// begin starts a keyed write: done is true when it is a repeat (r is the
// first result), a conflict, or refused because the wallet is terminated.
func (w *walletState) begin(key string, hash int64) (r Result, done bool, err error) {
	if e, err := w.replay(key, hash); e != nil || err != nil {
		if err != nil {
			return Result{}, true, err
		}
		return w.result(e, true), true, nil
	}
	if err := w.writable(); err != nil {
		return Result{}, true, err
	}
	return Result{}, false, nil
}

func (w *walletState) result(e *entryRow, replayed bool) Result {
	return Result{
		EntryID: EntryID(w.name, e.key), Seq: e.seq, Status: e.status, BalanceAfter: e.balanceAfter,
		AppliedAt: fromMicros(e.appliedAt), Replayed: replayed,
	}
}

func (w *walletState) writable() error {
	if w.terminated != 0 {
		return fmt.Errorf("%w: %s", ErrWalletTerminated, w.name)
	}
	return nil
}

func checkKey(key string) error {
	if key == "" || len(key) > 512 {
		return fmt.Errorf("%w: an idempotency key of 1 to 512 bytes is required", ErrInvalid)
	}
	if strings.HasPrefix(key, "expire:") || strings.HasPrefix(key, "repay:") || strings.HasPrefix(key, "settle:") {
		return fmt.Errorf("%w: idempotency keys may not start with expire:, repay: or settle:", ErrInvalid)
	}
	return nil
}

func checkPositive(what string, v money.Micros) error {
	if v <= 0 || v > money.MaxAmount {
		return fmt.Errorf("%w: %s must be greater than zero and at most %s", ErrInvalid, what, money.MaxAmount)
	}
	return nil
}

// sum adds with overflow checking.
func sum(vs ...money.Micros) (money.Micros, error) {
	var s money.Micros
	for _, v := range vs {
		var err error
		if s, err = money.Add(s, v); err != nil {
			return 0, err
		}
	}
	return s, nil
}

func (w *walletState) topUp(req TopUpRequest, hash int64, now int64) (Result, error) {
	if r, done, err := w.begin(req.Key, hash); done {
		return r, err
	}
	total, err := sum(req.Paid, req.Granted)
	if err != nil || req.Paid < 0 || req.Granted < 0 || total == 0 || req.Paid > money.MaxAmount || req.Granted > money.MaxAmount {
		return Result{}, fmt.Errorf("%w: paid and granted credits must be non-negative, at most %s each, and not both zero", ErrInvalid, money.MaxAmount)
	}
	// The wallet's own total must stay representable.
	if _, err := sum(w.availableAt(now)+w.debt, total, w.pendingTotal()); err != nil {
		return Result{}, fmt.Errorf("%w: the wallet's balance would overflow", ErrInvalid)
	}
	if req.Priority < 0 || req.Priority > 100 {
		return Result{}, fmt.Errorf("%w: priority must be 0-100", ErrInvalid)
	}
	eff := now
	if !req.EffectiveAt.IsZero() {
		eff = micros(req.EffectiveAt)
	}
	exp := int64(never)
	if req.ExpiresAt != nil {
		exp = micros(*req.ExpiresAt)
		if exp <= eff {
			return Result{}, fmt.Errorf("%w: expiresAt must be after effectiveAt", ErrInvalid)
		}
	}
	status := StatusSettled
	switch req.Payment {
	case PaymentNone, PaymentPaid:
	case PaymentPending:
		status = StatusPending
	default:
		return Result{}, fmt.Errorf("%w: payment must be none, pending or paid", ErrInvalid)
	}
	e := &entryRow{
		key: req.Key, hash: hash, typ: EntryTopUp, status: status, credits: total, paid: req.Paid, granted: req.Granted,
		description: req.Description, ts: now, appliedAt: now, payment: req.Payment != PaymentNone,
	}
	var blocks []*grantRow
	for _, b := range []struct {
		cat Category
		amt money.Micros
	}{{Granted, req.Granted}, {Paid, req.Paid}} {
		if b.amt == 0 {
			continue
		}
		g := &grantRow{
			entry: e, entryKey: req.Key, category: b.cat, original: b.amt, remaining: b.amt, priority: req.Priority,
			effectiveAt: eff, expiresAt: exp, applies: req.AppliesTo, status: status, createdAt: now, isNew: true, dirty: true,
		}
		if status == StatusSettled {
			g.settledAt = now
		}
		blocks = append(blocks, g)
		w.grants = append(w.grants, g)
	}
	w.addEntry(e)
	if status == StatusSettled {
		w.rollup(now, "", "", func(d *rollupDelta) { d.credited += total })
		for _, g := range blocks {
			if g.effectiveAt <= now {
				w.activate(g, now)
			}
		}
		// the grant entry shows the balance once the grant counts
		e.balanceAfter = w.availableAt(now)
		e.debtAfter = w.debt
	}
	return w.result(e, false), nil
}

func (w *walletState) pendingTotal() money.Micros {
	var p money.Micros
	for _, g := range w.grants {
		if g.status == StatusPending {
			p += g.original
		}
	}
	return p
}

func (w *walletState) debit(req DebitRequest, hash int64, now int64) (Result, error) {
	if r, done, err := w.begin(req.Key, hash); done {
		return r, err
	}
	if err := checkPositive("credits", req.Credits); err != nil {
		return Result{}, err
	}
	if req.Origin == "" {
		return Result{}, fmt.Errorf("%w: origin is required", ErrInvalid)
	}
	ts := now
	if !req.Timestamp.IsZero() {
		ts = micros(req.Timestamp)
		if ts > now {
			return Result{}, fmt.Errorf("%w: timestamp is in the future", ErrInvalid)
		}
		if now-ts > MaxReportWindow.Microseconds() {
			return Result{}, fmt.Errorf("%w: timestamp is more than 366 days old", ErrInvalid)
		}
	}
	if !w.applies.Matches(req.Origin, req.Endpoint) {
		return Result{}, fmt.Errorf("%w: origin %q endpoint %q", ErrNotApplicable, req.Origin, req.Endpoint)
	}
	gs := w.eligible(now, func(g *grantRow) bool { return g.applies.Matches(req.Origin, req.Endpoint) })
	as, short := draw(gs, req.Credits)
	if short > 0 && w.debt+short > w.overdraft {
		return Result{}, shortfall(w.debt+short-w.overdraft, "%s credits requested, %s can be drawn and the overdraft limit leaves %s",
			req.Credits, req.Credits-short, w.overdraft-w.debt)
	}
	e := &entryRow{
		key: req.Key, hash: hash, typ: EntryDebit, status: StatusSettled, credits: -req.Credits,
		origin: req.Origin, endpoint: req.Endpoint, description: req.Description, ts: ts, appliedAt: now,
	}
	w.apply(e, as)
	w.debt += short
	w.addEntry(e)
	w.rollup(ts, req.Origin, req.Endpoint, func(d *rollupDelta) { d.debited += req.Credits; d.count++ })
	return w.result(e, false), nil
}

// grantBlocks returns the grant blocks created by the entry with key.
func (w *walletState) grantBlocks(key string) []*grantRow {
	var out []*grantRow
	for _, g := range w.grants {
		if g.entryKey == key {
			out = append(out, g)
		}
	}
	return out
}

func (w *walletState) void(req VoidRequest, hash int64, now int64) (Result, error) {
	if r, done, err := w.begin(req.Key, hash); done {
		return r, err
	}
	if err := checkPositive("credits", req.Credits); err != nil {
		return Result{}, err
	}
	var gs []*grantRow
	if req.GrantKey != "" {
		ge := w.entries[req.GrantKey]
		if ge == nil || ge.typ != EntryTopUp {
			return Result{}, fmt.Errorf("%w: grant %q", ErrNotFound, req.GrantKey)
		}
		gs = w.eligible(now, func(g *grantRow) bool { return g.entryKey == req.GrantKey })
	} else {
		gs = w.eligible(now, nil)
	}
	as, short := draw(gs, req.Credits)
	if short > 0 {
		return Result{}, shortfall(short, "%s credits to void, %s available", req.Credits, req.Credits-short)
	}
	e := &entryRow{
		key: req.Key, hash: hash, typ: EntryVoid, status: StatusSettled, credits: -req.Credits, ref: req.GrantKey,
		description: req.Description, ts: now, appliedAt: now,
	}
	w.apply(e, as)
	w.addEntry(e)
	w.rollup(now, "", "", func(d *rollupDelta) { d.removed += req.Credits })
	return w.result(e, false), nil
}

func (w *walletState) refund(req RefundRequest, hash int64, now int64) (Result, error) {
	if r, done, err := w.begin(req.Key, hash); done {
		return r, err
	}
	if err := checkPositive("credits", req.Credits); err != nil {
		return Result{}, err
	}
	switch req.Payment {
	case StatusPending, StatusSettled, StatusFailed:
	default:
		return Result{}, fmt.Errorf("%w: refund payment status must be pending, settled or failed", ErrInvalid)
	}
	ge := w.entries[req.GrantKey]
	if ge == nil || ge.typ != EntryTopUp {
		return Result{}, fmt.Errorf("%w: grant %q", ErrNotFound, req.GrantKey)
	}
	var block *grantRow
	for _, g := range w.grantBlocks(req.GrantKey) {
		if g.category == Paid {
			block = g
		}
	}
	if block == nil {
		return Result{}, fmt.Errorf("%w: grant %q has no paid credits to refund", ErrInvalid, req.GrantKey)
	}
	e := &entryRow{
		key: req.Key, hash: hash, typ: EntryRefund, status: req.Payment, ref: req.GrantKey, payment: true,
		description: req.Description, ts: now, appliedAt: now,
	}
	if req.Payment != StatusFailed {
		if !block.available(now) || block.remaining < req.Credits {
			have := money.Micros(0)
			if block.available(now) {
				have = block.remaining
			}
			return Result{}, shortfall(req.Credits-have, "%s credits to refund, %s left in grant %q", req.Credits, have, req.GrantKey)
		}
		e.credits = -req.Credits
		w.apply(e, []alloc{{grant: block, amount: -req.Credits}})
		w.rollup(now, "", "", func(d *rollupDelta) { d.removed += req.Credits })
	} else {
		// a refund that failed at once moves nothing; it is kept for the payments history
		e.paid = req.Credits
	}
	w.addEntry(e)
	return w.result(e, false), nil
}

func (w *walletState) adjust(req AdjustRequest, hash int64, now int64) (Result, error) {
	if r, done, err := w.begin(req.Key, hash); done {
		return r, err
	}
	if req.Credits == 0 || req.Credits > money.MaxAmount || req.Credits < -money.MaxAmount {
		return Result{}, fmt.Errorf("%w: an adjustment must be non-zero and at most %s either way", ErrInvalid, money.MaxAmount)
	}
	if strings.TrimSpace(req.Reason) == "" {
		return Result{}, fmt.Errorf("%w: an adjustment needs a reason", ErrInvalid)
	}
	e := &entryRow{
		key: req.Key, hash: hash, typ: EntryAdjustment, status: StatusSettled, credits: req.Credits,
		description: req.Reason, ts: now, appliedAt: now,
	}
	if req.Credits > 0 {
		if _, err := sum(w.availableAt(now)+w.debt, req.Credits, w.pendingTotal()); err != nil {
			return Result{}, fmt.Errorf("%w: the wallet's balance would overflow", ErrInvalid)
		}
		e.granted = req.Credits
		g := &grantRow{
			entry: e, entryKey: req.Key, category: Granted, original: req.Credits, remaining: req.Credits,
			priority: DefaultPriority, effectiveAt: now, expiresAt: never, status: StatusSettled, settledAt: now,
			createdAt: now, isNew: true, dirty: true,
		}
		w.grants = append(w.grants, g)
		w.addEntry(e)
		w.rollup(now, "", "", func(d *rollupDelta) { d.credited += req.Credits })
		w.activate(g, now)
		e.balanceAfter = w.availableAt(now)
		e.debtAfter = w.debt
		return w.result(e, false), nil
	}
	amount := -req.Credits
	as, short := draw(w.eligible(now, nil), amount)
	if short > 0 && w.debt+short > w.overdraft {
		return Result{}, shortfall(w.debt+short-w.overdraft, "adjustment of %s, %s available and the overdraft limit leaves %s",
			req.Credits, amount-short, w.overdraft-w.debt)
	}
	w.apply(e, as)
	w.debt += short
	w.addEntry(e)
	w.rollup(now, "", "", func(d *rollupDelta) { d.removed += amount })
	return w.result(e, false), nil
}

// settle marks the pending payment of the grant or refund entry with key
// paid (StatusSettled) or failed.
func (w *walletState) settle(key string, status Status, now int64) (Result, error) {
	if status != StatusSettled && status != StatusFailed {
		return Result{}, fmt.Errorf("%w: a payment settles as settled (paid) or failed", ErrInvalid)
	}
	target := w.entries[key]
	if target == nil || (target.typ != EntryTopUp && target.typ != EntryRefund) {
		return Result{}, fmt.Errorf("%w: no grant or refund with key %q", ErrNotFound, key)
	}
	skey := "settle:" + key
	if e := w.entries[skey]; e != nil {
		if target.status != status {
			return Result{}, fmt.Errorf("%w: payment of %q is already %s", ErrConflict, key, target.status)
		}
		return w.result(e, true), nil
	}
	if target.status != StatusPending {
		if target.status == status {
			return w.result(target, true), nil
		}
		return Result{}, fmt.Errorf("%w: payment of %q is already %s", ErrConflict, key, target.status)
	}
	if err := w.writable(); err != nil {
		return Result{}, err
	}
	var refundBlock *grantRow
	if target.typ == EntryRefund {
		for _, g := range w.grantBlocks(target.ref) {
			if g.category == Paid {
				refundBlock = g
			}
		}
		if refundBlock == nil {
			return Result{}, fmt.Errorf("%w: grant %q of refund %q", ErrNotFound, target.ref, key)
		}
	}
	target.status = status
	target.statusDirty = true
	e := &entryRow{key: skey, typ: EntrySettlement, status: status, ref: key, ts: now, appliedAt: now}
	switch target.typ {
	case EntryTopUp:
		blocks := w.grantBlocks(key)
		for _, g := range blocks {
			g.status = status
			g.dirty = true
			if status == StatusSettled {
				g.settledAt = now
			}
		}
		if status == StatusSettled {
			e.credits = target.credits
			w.addEntry(e)
			w.rollup(now, "", "", func(d *rollupDelta) { d.credited += target.credits })
			for _, g := range blocks {
				if g.expiresAt <= now {
					w.expireGrant(g, now, now)
				} else if g.effectiveAt <= now {
					w.activate(g, now)
				}
			}
			e.balanceAfter = w.availableAt(now)
			e.debtAfter = w.debt
		} else {
			w.addEntry(e)
		}
	case EntryRefund:
		if status == StatusFailed {
			// the money did not go back: the credits come back to the grant
			amount := -target.credits
			e.credits = amount
			block := refundBlock
			if block.status == StatusExpired {
				// restored after its grant expired: the credits expire at once
				block.status = StatusSettled
			}
			w.apply(e, []alloc{{grant: block, amount: amount}})
			w.addEntry(e)
			w.rollup(now, "", "", func(d *rollupDelta) { d.credited += amount })
			if block.expiresAt <= now {
				w.expireGrant(block, now, now)
			}
		} else {
			w.addEntry(e)
		}
	}
	return w.result(e, false), nil
}

func (w *walletState) terminate(now int64) Result {
	if w.terminated != 0 {
		return Result{Seq: w.seq, Status: StatusSettled, BalanceAfter: w.availableAt(now), AppliedAt: fromMicros(w.terminated), Replayed: true}
	}
	for _, g := range w.grants {
		switch g.status {
		case StatusPending:
			g.status = StatusExpired
			g.dirty = true
		case StatusSettled:
			if g.live() { // a used-up grant stays as it was
				w.expireGrant(g, now, now)
			}
		}
	}
	w.terminated = now
	w.dirty = true
	return Result{Seq: w.seq, Status: StatusSettled, BalanceAfter: w.availableAt(now), AppliedAt: fromMicros(now)}
}
