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
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// ModelConfig sizes the randomized model test.
type ModelConfig struct {
	Runs  int // fresh store per run; Verify after each
	Seqs  int // operation sequences per run, one wallet each
	Steps int // operations per sequence
	Seed  uint64
}

type op struct {
	name   string
	ledger func() (ledger.Result, error)
	model  func() (mResult, error)
}

// RunModel runs random operation sequences against the backend and the
// reference model and compares balances, grants and entries after every step.
func RunModel(t *testing.T, open Opener, cfg ModelConfig) {
	for run := range cfg.Runs {
		seed := cfg.Seed + uint64(run)
		t.Run(fmt.Sprint("seed-", seed), func(t *testing.T) {
			clock := NewClock()
			s := open(t, clock)
			defer s.Close()
			mdl := newModel()
			rng := rand.New(rand.NewPCG(seed, seed*7919+1))
			for seq := range cfg.Seqs {
				g := &gen{t: t, s: s, m: mdl, clock: clock, rng: rng, wallet: fmt.Sprintf("w%d", seq)}
				g.openWallet()
				for step := range cfg.Steps {
					o := g.next()
					want, wantErr := o.model()
					got, gotErr := o.ledger()
					if !sameError(wantErr, gotErr) {
						t.Fatalf("%s step %d %s: model error %v, ledger error %v", g.wallet, step, o.name, wantErr, gotErr)
					}
					if wantErr == nil && (want.replayed != got.Replayed || (o.name != "terminate" && want.balance != got.BalanceAfter)) {
						t.Fatalf("%s step %d %s: model %+v, ledger %+v", g.wallet, step, o.name, want, got)
					}
					g.compare(fmt.Sprintf("step %d %s", step, o.name))
				}
			}
			rep, err := s.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range rep.Problems {
				t.Error("verify:", p)
			}
			t.Logf("%d wallets, %d entries, %d grants verified", rep.Wallets, rep.Entries, rep.Grants)
		})
	}
}

type gen struct {
	t       *testing.T
	s       ledger.Store
	m       *model
	clock   *Clock
	rng     *rand.Rand
	wallet  string
	n       int
	grants  []string // keys of grant requests
	refunds []string
	history []op
}

func (g *gen) openWallet() {
	od := []money.Micros{0, 5_000_000, 20_000_000}[g.rng.IntN(3)]
	if err := g.s.OpenWallet(ctx, ledger.WalletSpec{Wallet: g.wallet, Currency: "USD", Rate: 10_000, OverdraftLimit: od}); err != nil {
		g.t.Fatal(err)
	}
	g.m.wallets[g.wallet] = &mWallet{overdraft: od}
}

func (g *gen) amount() money.Micros {
	if g.rng.IntN(4) == 0 {
		return money.Micros(1+g.rng.IntN(30)) * money.Scale // whole credits
	}
	return money.Micros(1 + g.rng.IntN(30_000_000))
}

func (g *gen) key() string {
	g.n++
	return fmt.Sprintf("k%d", g.n)
}

func (g *gen) pick(keys []string) string {
	if len(keys) == 0 {
		return "none"
	}
	return keys[g.rng.IntN(len(keys))]
}

func (g *gen) next() op {
	now := g.clock.Now
	var o op
	r := g.rng.IntN(100)
	if len(g.history) == 0 && r >= 86 {
		r = g.rng.IntN(86)
	}
	switch {
	case r < 22:
		req := ledger.TopUpRequest{Wallet: g.wallet, Key: g.key(), Priority: []int{10, 50, 90}[g.rng.IntN(3)]}
		switch g.rng.IntN(3) {
		case 0:
			req.Paid = g.amount()
		case 1:
			req.Granted = g.amount()
		default:
			req.Paid, req.Granted = g.amount(), g.amount()
		}
		if g.rng.IntN(5) == 0 {
			req.EffectiveAt = now().Add(time.Duration(1+g.rng.IntN(120)) * time.Minute)
		}
		if g.rng.IntN(5) < 2 {
			base := now()
			if !req.EffectiveAt.IsZero() {
				base = req.EffectiveAt
			}
			req.ExpiresAt = tp(base.Add(time.Duration(1+g.rng.IntN(240)) * time.Minute))
		}
		if g.rng.IntN(5) == 0 {
			req.AppliesTo = ledger.AppliesTo{Origins: []string{"api"}}
		}
		req.Payment = []ledger.Payment{ledger.PaymentNone, ledger.PaymentNone, ledger.PaymentPending, ledger.PaymentPaid}[g.rng.IntN(4)]
		g.grants = append(g.grants, req.Key)
		o = op{"topUp", func() (ledger.Result, error) { return g.s.TopUp(ctx, req) }, func() (mResult, error) { return g.m.topUp(req, now()) }}
	case r < 45:
		req := ledger.DebitRequest{Wallet: g.wallet, Key: g.key(), Credits: g.amount(), Origin: []string{"api", "batch"}[g.rng.IntN(2)]}
		if g.rng.IntN(2) == 0 {
			req.Endpoint = "/v1/chat"
		}
		if g.rng.IntN(4) == 0 {
			req.Timestamp = now().Add(-time.Duration(g.rng.IntN(48*60)) * time.Minute)
		}
		o = op{"debit", func() (ledger.Result, error) { return g.s.Debit(ctx, req) }, func() (mResult, error) { return g.m.debit(req, now()) }}
		if g.rng.IntN(3) == 0 {
			// the same through DebitBatch, with up to two more debits before it
			reqs := []ledger.DebitRequest{req}
			for range g.rng.IntN(3) {
				more := ledger.DebitRequest{Wallet: g.wallet, Key: g.key(), Credits: g.amount(), Origin: "batch"}
				reqs = append([]ledger.DebitRequest{more}, reqs...)
			}
			o = op{"debit", func() (ledger.Result, error) {
				results, errs := g.s.DebitBatch(ctx, reqs)
				return results[len(reqs)-1], errs[len(reqs)-1]
			}, func() (mResult, error) {
				var r mResult
				var err error
				for _, q := range reqs {
					r, err = g.m.debit(q, now())
				}
				return r, err
			}}
		}
	case r < 52:
		req := ledger.VoidRequest{Wallet: g.wallet, Key: g.key(), Credits: g.amount() / 3}
		if req.Credits == 0 {
			req.Credits = 1
		}
		if g.rng.IntN(2) == 0 {
			req.GrantKey = g.pick(g.grants)
		}
		o = op{"void", func() (ledger.Result, error) { return g.s.Void(ctx, req) }, func() (mResult, error) { return g.m.void(req, now()) }}
	case r < 58:
		req := ledger.RefundRequest{Wallet: g.wallet, Key: g.key(), Credits: g.amount() / 4, GrantKey: g.pick(g.grants),
			Payment: []ledger.Status{ledger.StatusPending, ledger.StatusSettled, ledger.StatusFailed}[g.rng.IntN(3)]}
		if req.Credits == 0 {
			req.Credits = 1
		}
		g.refunds = append(g.refunds, req.Key)
		o = op{"refund", func() (ledger.Result, error) { return g.s.Refund(ctx, req) }, func() (mResult, error) { return g.m.refund(req, now()) }}
	case r < 63:
		req := ledger.AdjustRequest{Wallet: g.wallet, Key: g.key(), Credits: g.amount(), Reason: "correction"}
		if g.rng.IntN(2) == 0 {
			req.Credits = -req.Credits
		}
		o = op{"adjust", func() (ledger.Result, error) { return g.s.Adjust(ctx, req) }, func() (mResult, error) { return g.m.adjust(req, now()) }}
	case r < 72:
		key := g.pick(append(append([]string{}, g.grants...), g.refunds...))
		st := []ledger.Status{ledger.StatusSettled, ledger.StatusSettled, ledger.StatusFailed}[g.rng.IntN(3)]
		o = op{"settle", func() (ledger.Result, error) { return g.s.SettlePayment(ctx, g.wallet, key, st) },
			func() (mResult, error) { return g.m.settle(g.wallet, key, st, now()) }}
	case r < 76:
		o = op{"expire", func() (ledger.Result, error) { _, err := g.s.ExpireDue(ctx, g.wallet); return ledger.Result{}, err },
			func() (mResult, error) { return mResult{}, g.m.expireDue(g.wallet, now()) }}
	case r < 86:
		d := time.Duration(1+g.rng.IntN(90)) * time.Minute
		o = op{"advance", func() (ledger.Result, error) { g.clock.Advance(d); return ledger.Result{}, nil },
			func() (mResult, error) { return mResult{}, nil }}
	case r < 94 && len(g.history) > 0:
		// the same request again: a repeat applies nothing
		o = g.history[g.rng.IntN(len(g.history))]
		o.name = "repeat-" + o.name
	case r < 99 && len(g.history) > 0:
		// an earlier key with another payload
		req := ledger.DebitRequest{Wallet: g.wallet, Key: fmt.Sprintf("k%d", 1+g.rng.IntN(max(g.n, 1))), Credits: 1, Origin: "conflict"}
		o = op{"reuse-key", func() (ledger.Result, error) { return g.s.Debit(ctx, req) }, func() (mResult, error) { return g.m.debit(req, now()) }}
	default:
		o = op{"terminate", func() (ledger.Result, error) { return g.s.Terminate(ctx, g.wallet) },
			func() (mResult, error) { return g.m.terminate(g.wallet, now()) }}
	}
	switch o.name {
	case "grant", "debit", "void", "refund", "adjust", "settle":
		g.history = append(g.history, o)
	}
	return o
}

func (g *gen) compare(at string) {
	t := g.t
	t.Helper()
	now := g.clock.Now()
	w := g.m.wallets[g.wallet]
	b, err := g.s.Balance(ctx, g.wallet)
	if err != nil {
		t.Fatalf("%s %s: balance: %v", g.wallet, at, err)
	}
	var paid, granted, pending money.Micros
	for _, gr := range w.grants {
		switch {
		case gr.status == ledger.StatusPending:
			pending += gr.original
		case gr.counts(now) && gr.cat == ledger.Paid:
			paid += gr.remaining
		case gr.counts(now):
			granted += gr.remaining
		}
	}
	if b.Paid != paid || b.Granted != granted || b.Debt != w.debt || b.Pending != pending || b.Available != paid+granted-w.debt || b.Terminated != w.terminated {
		t.Fatalf("%s %s: ledger balance %+v; model paid %s granted %s debt %s pending %s terminated %v",
			g.wallet, at, b, paid, granted, w.debt, pending, w.terminated)
	}
	grants, err := g.s.Grants(ctx, g.wallet)
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != len(w.grants) {
		t.Fatalf("%s %s: %d grants in the ledger, %d in the model", g.wallet, at, len(grants), len(w.grants))
	}
	for i, lg := range grants {
		mg := w.grants[i]
		if lg.Key != mg.key || lg.Category != mg.cat || lg.Remaining != mg.remaining || lg.Status != mg.status {
			t.Logf("model grant %+v", *mg)
			for _, e := range w.entries {
				t.Logf("entry %+v", *e)
			}
			t.Fatalf("%s %s: grant %d ledger %s/%s remaining %s %s; model %s/%s remaining %s %s", g.wallet, at, i,
				lg.Key, lg.Category, lg.Remaining, lg.Status, mg.key, mg.cat, mg.remaining, mg.status)
		}
	}
	page, err := g.s.Entries(ctx, ledger.EntryQuery{Wallet: g.wallet, Limit: ledger.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Entries) != len(w.entries) {
		t.Fatalf("%s %s: %d entries in the ledger, %d in the model", g.wallet, at, len(page.Entries), len(w.entries))
	}
	for i, me := range w.entries {
		le := page.Entries[len(page.Entries)-1-i]
		key := le.Key
		if strings.HasSuffix(me.key, ":") {
			key = strings.TrimRight(key, "0123456789")
		}
		if key != me.key || le.Type != me.typ || le.Credits != me.credits || le.Status != me.status {
			t.Fatalf("%s %s: entry %d ledger %s %s %s %s; model %s %s %s %s", g.wallet, at, i,
				le.Key, le.Type, le.Credits, le.Status, me.key, me.typ, me.credits, me.status)
		}
	}
}
