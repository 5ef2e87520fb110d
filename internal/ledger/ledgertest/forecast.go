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
	"testing"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// usedPerDay gives wallet w a week of usage at perDay credits a day (one
// debit a day, paid for by a top-up it uses up) and then a balance of
// balance paid credits: the forecast's rate is then exactly perDay.
func (f *fixture) usedPerDay(w, perDay, balance string) {
	f.t.Helper()
	now := f.clock.Now()
	week := m(perDay) * 7
	f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: w, Key: "history", Paid: week, Priority: ledger.DefaultPriority}))
	for d := range 7 {
		f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: w, Key: fmt.Sprintf("used-%d", d), Credits: m(perDay), Origin: "api", Endpoint: "/v1",
			Timestamp: now.Add(-time.Duration(d)*24*time.Hour - time.Hour)}))
	}
	if balance != "0" {
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: w, Key: "balance", Paid: m(balance), Priority: ledger.DefaultPriority}))
	}
}

func (f *fixture) forecast(req ledger.ForecastRequest) ledger.Forecast {
	f.t.Helper()
	fc, err := f.s.Forecast(ctx, req)
	if err != nil {
		f.t.Fatal(err)
	}
	return fc
}

// runsOut checks when the forecast first refuses usage (zero: never).
func runsOut(t *testing.T, fc ledger.Forecast, want time.Time) {
	t.Helper()
	if !fc.RunsOutAt.Equal(want) {
		for _, d := range fc.Days[:min(len(fc.Days), 20)] {
			t.Logf("%s consumed %s unserved %s topped up %s expired %s available %s debt %s", d.Start.Format(time.RFC3339), d.Consumed, d.Unserved, d.ToppedUp, d.Expired, d.Available, d.Debt)
		}
		t.Fatalf("runs out at %v, want %v", fc.RunsOutAt, want)
	}
}

// monthly runs on the 1st of each month at 00:00 UTC.
func monthly(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, time.UTC)
}

// forecastCases are hand-computed runways.
func forecastCases(t *testing.T, open Opener) {
	const d = 24 * time.Hour
	t.Run("ExpiryBeforeRunOut", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.usedPerDay("w", "10", "40")
		at := f.clock.Now()
		// 40 paid, and 60 granted that expire at the end of day 3: 10 a day
		// draws the granted first (soonest expiry), 40 of it expire, and
		// the 40 paid last until day 6 ends (10 days without the expiry).
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "promo", Granted: m("60"), Priority: ledger.DefaultPriority, ExpiresAt: tp(at.Add(3 * d))}))
		fc := f.forecast(ledger.ForecastRequest{Wallet: "w"})
		if fc.PerDay != m("10") || len(fc.Rates) != 1 || fc.Rates[0].Origin != "api" || fc.Available != m("100") || len(fc.Days) != 90 {
			t.Fatalf("forecast = %+v", fc)
		}
		if d3 := fc.Days[2]; d3.Expired != m("40") || d3.Consumed != m("10") || d3.Available != m("30") {
			t.Fatalf("day 3 = %+v", d3)
		}
		if d7 := fc.Days[6]; d7.Consumed != 0 || d7.Unserved != m("10") || d7.Available != 0 {
			t.Fatalf("day 7 = %+v", d7)
		}
		runsOut(t, fc, at.Add(6*d))
		if !fc.RateChangesAt.Equal(at.Add(time.Hour)) {
			t.Fatalf("rate changes at %v", fc.RateChangesAt)
		}
		f.balance("w", "100") // nothing written
	})

	t.Run("MonthlyGrantExtendsRunway", func(t *testing.T) {
		f := newFixture(t, open)
		f.clock.Advance(23 * d) // 2026-01-28 10:00
		f.open("w", "0")
		f.usedPerDay("w", "10", "50")
		at := f.clock.Now()
		runsOut(t, f.forecast(ledger.ForecastRequest{Wallet: "w"}), at.Add(5*d)) // Feb 2
		rule := ledger.ForecastRule{Next: monthly, Paid: m("100"), Priority: ledger.DefaultPriority}
		// 20 left when 100 arrive on Feb 1: 120 from the end of Jan 31's day
		fc := f.forecast(ledger.ForecastRequest{Wallet: "w", Plan: ledger.ForecastPlan{Rules: []ledger.ForecastRule{rule}}})
		if fc.Days[3].ToppedUp != m("100") || fc.Days[3].Available != m("110") {
			t.Fatalf("day 4 = %+v", fc.Days[3])
		}
		runsOut(t, fc, at.Add(15*d)) // Feb 12
		// The same grant expiring after 5 days: 50 of it expire on Feb 6.
		rule.ExpiresAfter = 5 * d
		fc = f.forecast(ledger.ForecastRequest{Wallet: "w", Plan: ledger.ForecastPlan{Rules: []ledger.ForecastRule{rule}}})
		if fc.Days[8].Expired != m("50") {
			t.Fatalf("day 9 = %+v", fc.Days[8])
		}
		runsOut(t, fc, at.Add(10*d)) // Feb 7
	})

	t.Run("ZeroConsumption", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		fc := f.forecast(ledger.ForecastRequest{Wallet: "w", Days: 30})
		runsOut(t, fc, time.Time{})
		if len(fc.Days) != 30 || fc.PerDay != 0 || len(fc.Rates) != 0 || !fc.RateChangesAt.IsZero() || fc.Days[29].Available != 0 {
			t.Fatalf("forecast = %+v", fc)
		}
	})

	t.Run("PartOfADayAndOverdraft", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "20")
		f.usedPerDay("w", "20", "30")
		at := f.clock.Now()
		// 30 and an overdraft of 20 at 20 a day: 10 of day 3's 20 are served
		fc := f.forecast(ledger.ForecastRequest{Wallet: "w", Days: 5})
		if fc.Floor != m("-20") || fc.Days[2].Consumed != m("10") || fc.Days[2].Unserved != m("10") || fc.Days[2].Available != m("-20") || fc.Days[2].Debt != m("20") {
			t.Fatalf("day 3 = %+v (floor %s)", fc.Days[2], fc.Floor)
		}
		runsOut(t, fc, at.Add(2*d+12*time.Hour))
	})

	t.Run("ThresholdRule", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.usedPerDay("w", "10", "100")
		rule := ledger.ForecastRule{Threshold: m("20"), Armed: true, Paid: m("50"), Priority: ledger.DefaultPriority}
		fc := f.forecast(ledger.ForecastRequest{Wallet: "w", Plan: ledger.ForecastPlan{Rules: []ledger.ForecastRule{rule}}})
		// 100 at 10 a day reaches 20 on day 8: the rule fires there, and
		// again every 5 days after
		if d8 := fc.Days[7]; d8.ToppedUp != m("50") || d8.Available != m("70") || d8.Consumed != m("10") {
			t.Fatalf("day 8 = %+v", d8)
		}
		runsOut(t, fc, time.Time{})
		// a rule adding one micro-credit a time fires at most 24 times a day
		rule = ledger.ForecastRule{Threshold: m("50"), Armed: true, Paid: 1, Priority: ledger.DefaultPriority}
		fc = f.forecast(ledger.ForecastRequest{Wallet: "w", Days: 10, Plan: ledger.ForecastPlan{Rules: []ledger.ForecastRule{rule}}})
		if fc.Days[4].ToppedUp != 1 || fc.Days[5].ToppedUp != ledger.MaxForecastRuns {
			t.Fatalf("days 5-6 = %+v %+v", fc.Days[4], fc.Days[5])
		}
	})

	t.Run("HostileRulesAreBounded", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.usedPerDay("w", "10", "100")
		everyMinute := func(t time.Time) time.Time { return t.Truncate(time.Minute).Add(time.Minute) }
		var rules []ledger.ForecastRule
		for range 5 {
			rules = append(rules, ledger.ForecastRule{Next: everyMinute, Paid: 1, Priority: ledger.DefaultPriority})
		}
		// 1,440 runs a day each play as 24
		fc := f.forecast(ledger.ForecastRequest{Wallet: "w", Plan: ledger.ForecastPlan{Rules: rules}})
		if fc.Days[0].ToppedUp != 5*ledger.MaxForecastRuns || fc.Days[89].ToppedUp != 5*ledger.MaxForecastRuns {
			t.Fatalf("days 1 and 90 = %+v %+v", fc.Days[0], fc.Days[89])
		}
		// top-ups the ledger would refuse for overflow add nothing; nothing wraps
		for i := range rules {
			rules[i].Paid = money.MaxAmount
		}
		fc = f.forecast(ledger.ForecastRequest{Wallet: "w", Days: 3, Plan: ledger.ForecastPlan{Rules: rules}})
		for _, d := range fc.Days {
			if d.ToppedUp < 0 || d.Available < 0 {
				t.Fatalf("day = %+v", d)
			}
		}
		runsOut(t, fc, time.Time{})
	})

	t.Run("TooManyRestrictionGroups", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "any", Paid: m("1000"), Priority: ledger.DefaultPriority}))
		// each endpoint has a grant of its own: 65 ways to draw usage
		for i := range ledger.MaxForecastGroups + 1 {
			e := fmt.Sprint("/e", i)
			f.must(f.s.TopUp(ctx, ledger.TopUpRequest{Wallet: "w", Key: "only" + e, Granted: m("1"), Priority: ledger.DefaultPriority,
				AppliesTo: ledger.AppliesTo{Endpoints: []string{e}}}))
			f.must(f.s.Debit(ctx, ledger.DebitRequest{Wallet: "w", Key: "use" + e, Credits: m("0.5"), Origin: "api", Endpoint: e,
				Timestamp: f.clock.Now().Add(-time.Hour)}))
		}
		_, err := f.s.Forecast(ctx, ledger.ForecastRequest{Wallet: "w"})
		expectErr(t, err, ledger.ErrForecastLimit)
		if errors.Is(err, ledger.ErrInvalid) {
			t.Fatalf("%v: the wallet's state, not the request, is at fault", err)
		}
	})

	t.Run("WalletEnds", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		f.usedPerDay("w", "10", "100")
		at := f.clock.Now()
		fc := f.forecast(ledger.ForecastRequest{Wallet: "w", Plan: ledger.ForecastPlan{EndsAt: at.Add(36 * time.Hour)}})
		// half of day 2's usage, then the 85 left expire with the wallet
		if !fc.Ends || len(fc.Days) != 2 || fc.Days[1].Consumed != m("5") || fc.Days[1].Expired != m("85") || fc.Days[1].Available != 0 {
			t.Fatalf("forecast = %+v", fc)
		}
		runsOut(t, fc, at.Add(36*time.Hour))
	})

	t.Run("BadRequests", func(t *testing.T) {
		f := newFixture(t, open)
		f.open("w", "0")
		for _, req := range []ledger.ForecastRequest{
			{Wallet: "w", Days: 91}, {Wallet: "w", Days: -1}, {Wallet: "w", Window: 90 * time.Minute},
			{Wallet: "w", Window: 91 * d}, {Wallet: "w", Window: -time.Hour},
		} {
			_, err := f.s.Forecast(ctx, req)
			expectErr(t, err, ledger.ErrInvalid)
		}
		_, err := f.s.Forecast(ctx, ledger.ForecastRequest{Wallet: "nope"})
		expectErr(t, err, ledger.ErrWalletNotFound)
	})
}
