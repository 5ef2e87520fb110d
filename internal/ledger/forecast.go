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
	"math/big"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/walletop/wallet-operator/internal/money"
)

// Forecast bounds. A rule plays at most MaxForecastRuns runs a day (a
// sub-hourly schedule, or a threshold rule that fires again and again, is
// played as that many, which can only bring the run-out earlier), and the
// usage of one day is drawn as at most MaxForecastGroups debits, so a
// hostile Wallet costs a bounded forecast.
const (
	MaxForecastDays       = 90
	DefaultForecastDays   = 90
	DefaultForecastWindow = 7 * 24 * time.Hour
	MaxForecastWindow     = 90 * 24 * time.Hour
	MaxForecastRuns       = 24
	MaxForecastGroups     = 64
	day                   = 24 * time.Hour
)

// ForecastRule is an auto top-up rule as the forecast plays it: scheduled
// (Next set) or on a threshold (fires when the available balance falls to
// or below Threshold, once per crossing while Armed).
type ForecastRule struct {
	// Next returns the first scheduled run after t; nil for a threshold rule.
	Next      func(t time.Time) time.Time
	Threshold money.Micros
	// Armed says a threshold rule fires at the next crossing (the
	// operator's state of the rule).
	Armed bool
	// Paid and Granted are what a fixed rule adds; with Target set the
	// rule adds what brings the balance to *Target, as granted credits if
	// TargetGranted, else paid.
	Paid, Granted money.Micros
	Target        *money.Micros
	TargetGranted bool
	ExpiresAfter  time.Duration // 0: the credits never expire
	Priority      int
}

// ForecastPlan is what the wallet will do by itself, from its spec.
type ForecastPlan struct {
	Rules []ForecastRule
	// EndsAt is when the wallet ends (its expiresAt); zero: never.
	EndsAt time.Time
}

// ForecastRequest asks for a wallet's runway.
type ForecastRequest struct {
	Wallet string
	Days   int           // 1-90; 0: 90
	Window time.Duration // whole hours, 1h-2160h; 0: 168h
	Plan   ForecastPlan
}

// ForecastRate is the recent consumption of one origin and endpoint.
type ForecastRate struct {
	Origin, Endpoint string
	PerDay           money.Micros
}

// ForecastDay is one projected day, [Start, End).
type ForecastDay struct {
	Start, End time.Time
	// Consumed is the usage drawn; Unserved what could not be (refused).
	Consumed, Unserved money.Micros
	ToppedUp, Expired  money.Micros
	// Available and Debt at the day's end.
	Available, Debt money.Micros
}

// Forecast is a wallet's balance projected day by day.
type Forecast struct {
	Currency string
	At       time.Time
	Window   time.Duration
	Rates    []ForecastRate
	PerDay   money.Micros
	// Available and Debt now; Floor is the lowest available balance the
	// overdraft allows (-overdraft).
	Available, Debt, Floor money.Micros
	Days                   []ForecastDay
	// RunsOutAt is when usage is first refused; zero: not within the days.
	RunsOutAt time.Time
	// Ends says the wallet ends (Plan.EndsAt) within the days; the last
	// day is then the one it ends in.
	Ends bool
	// RateChangesAt is when the rate moves by itself (the next hour, while
	// the window or the current hour holds usage); zero: not before new usage.
	RateChangesAt time.Time
}

// Forecaster projects a wallet's balance.
type Forecaster interface {
	Forecast(ctx context.Context, req ForecastRequest) (Forecast, error)
}

// ErrForecastLimit is a wallet beyond what a forecast plays: its state,
// not the request, is at fault (so not ErrInvalid, which callers answer
// with a 400).
var ErrForecastLimit = errors.New("wallet beyond the forecast's limits")

// errForecastOverflow is a forecast whose totals do not fit (a hostile
// rule topping up near the limit again and again): an error, never a
// wrapped figure.
var errForecastOverflow = fmt.Errorf("%w: the forecast's totals overflow", ErrForecastLimit)

// Forecast plays a copy of the wallet forward by the ledger's own rules
// (drawdown, debt, overdraft refusal, expiries): per day, the rules'
// scheduled runs and the expiries in time order, then the day's usage at
// the recent rate, drawn at the day's end, threshold rules firing where the
// balance crosses them. Nothing is written.
func (s *SQLStore) Forecast(ctx context.Context, req ForecastRequest) (Forecast, error) {
	days, window := req.Days, req.Window
	if days == 0 {
		days = DefaultForecastDays
	}
	if window == 0 {
		window = DefaultForecastWindow
	}
	if days < 1 || days > MaxForecastDays {
		return Forecast{}, fmt.Errorf("%w: days must be 1-%d", ErrInvalid, MaxForecastDays)
	}
	if window < time.Hour || window > MaxForecastWindow || window%time.Hour != 0 {
		return Forecast{}, fmt.Errorf("%w: the window must be whole hours, 1h to %s", ErrInvalid, MaxForecastWindow)
	}
	var now int64
	v, err := s.submit(ctx, &job{wallet: req.Wallet, write: true, dry: true, fn: func(w *walletState, at int64) (any, error) {
		now = at
		return w, nil // the job's own copy: played below, outside the writer
	}})
	if err != nil {
		return Forecast{}, err
	}
	w := v.(*walletState)
	at := fromMicros(now)
	f := Forecast{Currency: w.currency, At: at, Window: window, Available: w.availableAt(now), Debt: w.debt, Floor: -w.overdraft}
	hasUsage, err := s.forecastRates(ctx, req.Wallet, &f)
	if err != nil {
		return Forecast{}, err
	}
	if hasUsage {
		f.RateChangesAt = at.Truncate(time.Hour).Add(time.Hour)
	}
	if w.terminated != 0 {
		f.Ends = true
		return f, nil
	}
	p, err := newPlay(w, req.Plan, f.Rates)
	if err != nil {
		return Forecast{}, err
	}
	for d := range days {
		start := at.Add(time.Duration(d) * day)
		fd, err := p.day(start, start.Add(day))
		if err != nil {
			return Forecast{}, err
		}
		f.Days = append(f.Days, fd)
		if f.RunsOutAt.IsZero() && !p.outAt.IsZero() {
			f.RunsOutAt = p.outAt
		}
		if p.ended {
			f.Ends = true
			break
		}
	}
	return f, nil
}

// forecastRates reads the usage of the window ending at the current hour
// (rollups are hourly) as a rate per day, rounded up, per origin and
// endpoint; it reports whether the window or the current hour holds usage.
func (s *SQLStore) forecastRates(ctx context.Context, wallet string, f *Forecast) (bool, error) {
	end := f.At.Truncate(time.Hour)
	sums := map[[2]string]money.Micros{}
	var pairs [][2]string
	periods, err := s.Consumption(ctx, ConsumptionQuery{Wallet: wallet, From: end.Add(-f.Window), To: end, GroupBy: Month})
	if err != nil {
		return false, err
	}
	for _, p := range periods {
		for _, u := range p.Usage {
			k := [2]string{u.Origin, u.Endpoint}
			if _, ok := sums[k]; !ok {
				pairs = append(pairs, k)
			}
			if sums[k], err = money.Add(sums[k], u.Debited); err != nil {
				return false, errForecastOverflow
			}
		}
	}
	sort.Slice(pairs, func(i, j int) bool {
		return pairs[i][0] < pairs[j][0] || pairs[i][0] == pairs[j][0] && pairs[i][1] < pairs[j][1]
	})
	hours := big.NewInt(int64(f.Window / time.Hour))
	for _, k := range pairs {
		// ceil(sum x 24 / hours): exact, and never below the real rate
		r := new(big.Int).Mul(big.NewInt(int64(sums[k])), big.NewInt(24))
		r.Add(r, new(big.Int).Sub(hours, big.NewInt(1))).Quo(r, hours)
		if !r.IsInt64() {
			return false, errForecastOverflow
		}
		rate := money.Micros(r.Int64())
		if rate <= 0 {
			continue
		}
		f.Rates = append(f.Rates, ForecastRate{Origin: k[0], Endpoint: k[1], PerDay: rate})
		if f.PerDay, err = money.Add(f.PerDay, rate); err != nil {
			return false, errForecastOverflow
		}
	}
	if len(pairs) > 0 || f.At.Equal(end) {
		return len(pairs) > 0, nil
	}
	current, err := s.Consumption(ctx, ConsumptionQuery{Wallet: wallet, From: end, To: f.At, GroupBy: Hour})
	if err != nil {
		return false, err
	}
	for _, p := range current {
		if len(p.Usage) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// play is a wallet copy being played forward.
type play struct {
	w      *walletState
	rules  []*playRule
	groups []playGroup
	endsAt int64 // 0: never
	seq    int
	ended  bool
	outAt  time.Time // when usage was first refused
}

type playRule struct {
	ForecastRule
	next  time.Time // next scheduled run
	fires int       // runs today
	// last holds the rule's latest grant per category: a later one exactly
	// like it is merged into it (see fire)
	last map[Category]*grantRow
}

// playGroup is the usage of origins and endpoints that the same grants pay
// for: one debit draws it all the same way.
type playGroup struct {
	origin, endpoint string
	perDay           money.Micros
}

func newPlay(w *walletState, plan ForecastPlan, rates []ForecastRate) (*play, error) {
	p := &play{w: w}
	if !plan.EndsAt.IsZero() {
		p.endsAt = micros(plan.EndsAt)
	}
	for _, r := range plan.Rules {
		p.rules = append(p.rules, &playRule{ForecastRule: r})
	}
	var restricted []*grantRow
	for _, g := range w.grants {
		if g.live() && (len(g.applies.Origins) > 0 || len(g.applies.Endpoints) > 0) {
			restricted = append(restricted, g)
		}
	}
	index := map[string]int{}
	for _, r := range rates {
		var sig strings.Builder
		sig.WriteByte(strconv.FormatBool(w.applies.Matches(r.Origin, r.Endpoint))[0])
		for _, g := range restricted {
			sig.WriteByte(strconv.FormatBool(g.applies.Matches(r.Origin, r.Endpoint))[0])
		}
		i, ok := index[sig.String()]
		if !ok {
			if len(p.groups) == MaxForecastGroups {
				return nil, fmt.Errorf("%w: the wallet's usage falls under more than %d different sets of restricted grants, too many to forecast", ErrForecastLimit, MaxForecastGroups)
			}
			i = len(p.groups)
			index[sig.String()] = i
			p.groups = append(p.groups, playGroup{origin: r.Origin, endpoint: r.Endpoint})
		}
		var err error
		if p.groups[i].perDay, err = money.Add(p.groups[i].perDay, r.PerDay); err != nil {
			return nil, errForecastOverflow
		}
	}
	return p, nil
}

// day plays [start, end) and returns its totals.
func (p *play) day(start, end time.Time) (ForecastDay, error) {
	fd := ForecastDay{Start: start, End: end}
	t := totals{}
	for _, r := range p.rules {
		r.fires = 0
		if r.Next != nil && (r.next.IsZero() || r.next.Before(start)) {
			r.next = r.Next(start)
		}
	}
	// Scheduled runs in time order, each after the expiries due before it.
	// A rule's runs of one day are one top-up at its first run (usage is
	// drawn at the day's end, so only their sum matters; the credits expire
	// after the first run, the earlier side), at most MaxForecastRuns of them.
	within := func(t time.Time) bool { return !t.After(end) && (p.endsAt == 0 || micros(t) < p.endsAt) }
	for {
		var r *playRule
		for _, c := range p.rules {
			if c.Next != nil && c.fires == 0 && within(c.next) && (r == nil || c.next.Before(r.next)) {
				r = c
			}
		}
		if r == nil {
			break
		}
		at, runs := r.next, 1
		for r.next = r.Next(at); runs < MaxForecastRuns && within(r.next); r.next = r.Next(r.next) {
			runs++
		}
		if runs == MaxForecastRuns {
			r.next = r.Next(end)
		}
		t.expired(p.normalize(micros(at)))
		t.toppedUp(p.fire(r, at, runs))
	}
	share := int64(day)
	if p.endsAt != 0 && p.endsAt <= micros(end) {
		// the wallet ends today: the usage until then, then what is left expires
		share = (p.endsAt - micros(start)) * 1000
		end = fromMicros(p.endsAt)
		p.ended = true
	}
	now := micros(end)
	t.expired(p.normalize(now))
	wants := make([]money.Micros, len(p.groups))
	var dayWant money.Micros
	for i, g := range p.groups {
		wants[i] = ceilShare(g.perDay, share)
		t.add(&dayWant, wants[i])
	}
	for i, g := range p.groups {
		got, top, err := p.draw(g, wants[i], now)
		if err != nil {
			return fd, err
		}
		t.toppedUp(top)
		t.consumed(got, wants[i]-got)
		if got < wants[i] && p.outAt.IsZero() && t.err == nil {
			// placed within the day as if the usage were spread evenly over it
			at := new(big.Int).Mul(big.NewInt(share), big.NewInt(int64(t.consumedSum)))
			p.outAt = start.Add(time.Duration(at.Quo(at, big.NewInt(int64(dayWant))).Int64()))
		}
	}
	if p.ended {
		if dayWant > 0 && p.outAt.IsZero() {
			p.outAt = end
		}
		mark := len(p.w.newEntries)
		p.w.terminate(now)
		t.expired(p.expiredSince(mark))
	}
	if t.err != nil {
		return fd, t.err
	}
	fd.Consumed, fd.Unserved, fd.ToppedUp, fd.Expired = t.consumedSum, t.unservedSum, t.toppedUpSum, t.expiredSum
	fd.Available, fd.Debt = p.w.availableAt(now), p.w.debt
	return fd, nil
}

// ceilShare returns v x share / 24h, rounded up.
func ceilShare(v money.Micros, share int64) money.Micros {
	if share >= int64(day) {
		return v
	}
	r := new(big.Int).Mul(big.NewInt(int64(v)), big.NewInt(share))
	r.Add(r, big.NewInt(int64(day)-1)).Quo(r, big.NewInt(int64(day)))
	return money.Micros(r.Int64())
}

// totals adds a day's figures with overflow checks.
type totals struct {
	consumedSum, unservedSum, toppedUpSum, expiredSum money.Micros
	err                                               error
}

func (t *totals) add(to *money.Micros, v money.Micros) {
	s, err := money.Add(*to, v)
	if err != nil && t.err == nil {
		t.err = errForecastOverflow
	}
	*to = s
}

func (t *totals) expired(v money.Micros)  { t.add(&t.expiredSum, v) }
func (t *totals) toppedUp(v money.Micros) { t.add(&t.toppedUpSum, v) }
func (t *totals) consumed(got, short money.Micros) {
	t.add(&t.consumedSum, got)
	t.add(&t.unservedSum, short)
}

// normalize brings the copy to now and returns the credits that expired.
func (p *play) normalize(now int64) money.Micros {
	mark := len(p.w.newEntries)
	p.w.normalize(now)
	return p.expiredSince(mark)
}

func (p *play) expiredSince(mark int) money.Micros {
	var sum money.Micros
	for _, e := range p.w.newEntries[mark:] {
		if e.typ == EntryExpiry {
			sum -= e.credits // a grant's remaining: each fits, and so does the wallet's total
		}
	}
	return sum
}

func (p *play) key(what string) string {
	p.seq++
	return "forecast-" + what + ":" + strconv.Itoa(p.seq)
}

// fire runs a rule at t (runs times, for a fixed rule) and returns the
// credits it added. A top-up the ledger would refuse (the balance would
// overflow) adds nothing, as it would add nothing for real.
func (p *play) fire(r *playRule, t time.Time, runs int) money.Micros {
	r.fires += runs
	now := micros(t)
	req := TopUpRequest{Wallet: p.w.name, Key: p.key("topup"), Priority: r.Priority}
	for range runs {
		var err1, err2 error
		req.Paid, err1 = money.Add(req.Paid, r.Paid)
		req.Granted, err2 = money.Add(req.Granted, r.Granted)
		if err1 != nil || err2 != nil {
			return 0
		}
	}
	if r.Target != nil {
		missing := *r.Target - p.w.availableAt(now)
		if missing <= 0 {
			return 0
		}
		req.Paid, req.Granted = missing, 0
		if r.TargetGranted {
			req.Paid, req.Granted = 0, missing
		}
	}
	if r.ExpiresAfter > 0 {
		exp := t.Add(r.ExpiresAfter)
		req.ExpiresAt = &exp
	}
	n := len(p.w.grants)
	if _, err := p.w.topUp(req, 0, now); err != nil {
		return 0
	}
	p.merge(r, n)
	return req.Paid + req.Granted
}

// merge folds the grants a rule just opened (p.w.grants[from:]) into its
// previous grant of the same category when they differ in nothing but age:
// among grants alike in priority, expiry, category and restriction, the
// drawdown order changes no total. A rule firing again and again then keeps
// one grant instead of thousands that every later operation would scan.
func (p *play) merge(r *playRule, from int) {
	if r.last == nil {
		r.last = map[Category]*grantRow{}
	}
	kept := p.w.grants[:from]
	for _, g := range p.w.grants[from:] {
		prev := r.last[g.category]
		if prev != nil && prev.status == StatusSettled && prev.activated && g.activated && prev.remaining > 0 &&
			prev.priority == g.priority && prev.expiresAt == g.expiresAt {
			prev.original += g.original // fits: the wallet's total does
			prev.remaining += g.remaining
			continue
		}
		r.last[g.category] = g
		kept = append(kept, g)
	}
	p.w.grants = kept
}

// draw takes up to want for a usage group at now, stopping at each armed
// threshold rule's threshold so that the rule fires there. It returns what
// was drawn and what the rules added.
func (p *play) draw(g playGroup, want money.Micros, now int64) (got, added money.Micros, err error) {
	t := fromMicros(now)
	for got < want {
		part := want - got
		var cross *playRule
		avail := p.w.availableAt(now)
		for _, r := range p.rules {
			if r.Next == nil && !r.Armed && avail > r.Threshold {
				r.Armed = true // above again: the next crossing fires
			}
		}
		for _, r := range p.rules {
			if r.Next == nil && r.Armed && r.fires < MaxForecastRuns && avail > r.Threshold && avail-r.Threshold <= part {
				part, cross = avail-r.Threshold, r
			}
		}
		_, err := p.w.debit(DebitRequest{Wallet: p.w.name, Key: p.key("debit"), Credits: part, Origin: g.origin, Endpoint: g.endpoint}, 0, now)
		var se *ShortfallError
		switch {
		case errors.As(err, &se):
			if part -= se.Shortfall; part > 0 {
				if _, err := p.w.debit(DebitRequest{Wallet: p.w.name, Key: p.key("debit"), Credits: part, Origin: g.origin, Endpoint: g.endpoint}, 0, now); err != nil {
					return got, added, err
				}
				got += part
			}
			return got, added, nil
		case errors.Is(err, ErrNotApplicable):
			return got, added, nil // the wallet no longer pays for this usage
		case err != nil:
			return got, added, err
		}
		got += part
		if cross != nil {
			cross.Armed = false
			if added, err = money.Add(added, p.fire(cross, t, 1)); err != nil {
				return got, added, errForecastOverflow
			}
		}
	}
	return got, added, nil
}
