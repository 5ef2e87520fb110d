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
	"math/rand/v2"
	"testing"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// previewMatchesApply previews random debits, voids, refunds and
// adjustments and applies each right after: the preview must be exactly what
// the ledger then did (the same refusal, or the same balance, debt and
// change of every grant).
func previewMatchesApply(t *testing.T, open Opener) {
	f := newFixture(t, open)
	f.open("w", "25")
	rng := rand.New(rand.NewPCG(7, 11))
	amount := func() money.Micros { return money.Micros(1+rng.IntN(40)) * 250_000 }
	var topUps []string
	var applied, refused int
	for i := range 300 {
		key := fmt.Sprint("op", i)
		var req ledger.PreviewRequest
		var apply func() (ledger.Result, error)
		switch r := rng.IntN(10); {
		case r < 3 || len(topUps) == 0:
			tu := ledger.TopUpRequest{Wallet: "w", Key: key, Priority: []int{10, 50, 90}[rng.IntN(3)]}
			if rng.IntN(2) == 0 {
				tu.Paid = amount()
			} else {
				tu.Granted = amount()
			}
			if rng.IntN(3) == 0 {
				tu.ExpiresAt = tp(f.clock.Now().Add(time.Duration(1+rng.IntN(120)) * time.Minute))
			}
			if rng.IntN(4) == 0 {
				tu.AppliesTo = ledger.AppliesTo{Origins: []string{"batch"}}
			}
			f.must(f.s.TopUp(ctx, tu))
			topUps = append(topUps, key)
			f.clock.Advance(time.Duration(rng.IntN(30)) * time.Minute)
			continue
		case r < 7:
			d := ledger.DebitRequest{Wallet: "w", Key: key, Credits: amount(), Origin: []string{"api", "batch"}[rng.IntN(2)]}
			req.Debit = &d
			apply = func() (ledger.Result, error) { return f.s.Debit(ctx, d) }
		case r < 8:
			v := ledger.VoidRequest{Wallet: "w", Key: key, Credits: amount() / 2}
			if rng.IntN(2) == 0 {
				v.GrantKey = topUps[rng.IntN(len(topUps))]
			}
			req.Void = &v
			apply = func() (ledger.Result, error) { return f.s.Void(ctx, v) }
		case r < 9:
			rf := ledger.RefundRequest{Wallet: "w", Key: key, Credits: amount() / 2, GrantKey: topUps[rng.IntN(len(topUps))], Payment: ledger.StatusSettled}
			req.Refund = &rf
			apply = func() (ledger.Result, error) { return f.s.Refund(ctx, rf) }
		default:
			a := ledger.AdjustRequest{Wallet: "w", Key: key, Credits: amount(), Reason: "correction"}
			if rng.IntN(2) == 0 {
				a.Credits = -a.Credits
			}
			req.Adjust = &a
			apply = func() (ledger.Result, error) { return f.s.Adjust(ctx, a) }
		}
		before := grantsByKey(t, f.s)
		p, perr := f.s.Preview(ctx, req)
		res, err := apply()
		if (perr == nil) != (err == nil) {
			t.Fatalf("%s: preview error %v, applied error %v", key, perr, err)
		}
		if err != nil {
			if perr.Error() != err.Error() {
				t.Fatalf("%s: preview refused with %q, the ledger with %q", key, perr, err)
			}
			var ps, as *ledger.ShortfallError
			if errors.As(perr, &ps) != errors.As(err, &as) || (ps != nil && ps.Shortfall != as.Shortfall) {
				t.Fatalf("%s: shortfall %v, applied %v", key, ps, as)
			}
			if errors.Is(err, ledger.ErrInsufficientBalance) && (ps == nil || ps.Shortfall <= 0) {
				t.Fatalf("%s: an insufficient balance without its shortfall: %v", key, err)
			}
			refused++
			continue
		}
		b, berr := f.s.Balance(ctx, "w")
		if berr != nil {
			t.Fatal(berr)
		}
		if p.BalanceAfter != res.BalanceAfter || p.DebtAfter != b.Debt {
			t.Fatalf("%s: preview balance %s debt %s, applied balance %s debt %s", key, p.BalanceAfter, p.DebtAfter, res.BalanceAfter, b.Debt)
		}
		after := grantsByKey(t, f.s)
		drawn := map[string]money.Micros{}
		for _, d := range p.Draws {
			drawn[d.TopUpKey+"/"+string(d.Category)] += d.Credits
		}
		for k, was := range before {
			if got := after[k] - was; got != drawn[k] {
				t.Fatalf("%s: grant %s changed by %s, the preview said %s (draws %+v)", key, k, got, drawn[k], p.Draws)
			}
		}
		applied++
		f.clock.Advance(time.Duration(rng.IntN(10)) * time.Minute)
	}
	if applied < 50 || refused < 20 {
		t.Fatalf("%d previews matched an applied operation and %d a refusal: too few of one to judge", applied, refused)
	}
	f.verify()
}

// grantsByKey maps each grant (top-up key / category) to its remaining
// credits.
func grantsByKey(t *testing.T, s ledger.Store) map[string]money.Micros {
	t.Helper()
	gs, err := s.Grants(ctx, "w")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]money.Micros{}
	for _, g := range gs {
		out[g.Key+"/"+string(g.Category)] += g.Remaining
	}
	return out
}
