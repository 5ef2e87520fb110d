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
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"github.com/walletop/wallet-operator/internal/money"
)

// PreviewRequest is one operation to judge without writing it: exactly one
// of Debit, Void, Refund, Adjust. Its Key is ignored (a preview is never a
// repeat of an applied operation).
type PreviewRequest struct {
	Debit  *DebitRequest
	Void   *VoidRequest
	Refund *RefundRequest
	Adjust *AdjustRequest
}

// Draw is what an operation takes from (or adds to) one grant.
type Draw struct {
	// TopUpKey is the idempotency key of the top-up (or adjustment) that
	// opened the grant.
	TopUpKey string
	Category Category
	// Credits is the signed change of the grant's remaining credits.
	Credits money.Micros
}

// Preview is what the operation would do now: the grants it would draw, in
// drawdown order, and the balance and debt after it.
type Preview struct {
	Draws        []Draw
	BalanceAfter money.Micros
	DebtAfter    money.Micros
}

// ShortfallError is an ErrInsufficientBalance that says how many credits
// were missing.
type ShortfallError struct {
	Shortfall money.Micros
	err       error
}

func (e *ShortfallError) Error() string { return e.err.Error() }
func (e *ShortfallError) Unwrap() error { return e.err }

func shortfall(short money.Micros, format string, args ...any) error {
	return &ShortfallError{Shortfall: short, err: fmt.Errorf("%w: "+format, append([]any{ErrInsufficientBalance}, args...)...)}
}

// Preview runs the operation by the ledger's own rules on a copy of the
// wallet and returns what it would do, or the error it would get; nothing
// is written.
func (s *SQLStore) Preview(ctx context.Context, req PreviewRequest) (Preview, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	key := "preview-" + hex.EncodeToString(b[:]) // unused by any entry: the copy applies it afresh
	var wallet, ref string
	var op func(w *walletState, now int64) (Result, error)
	switch n := count(req.Debit != nil, req.Void != nil, req.Refund != nil, req.Adjust != nil); {
	case n != 1:
		return Preview{}, fmt.Errorf("%w: a preview takes exactly one operation, got %d", ErrInvalid, n)
	case req.Debit != nil:
		r := *req.Debit
		r.Key, wallet = key, r.Wallet
		op = func(w *walletState, now int64) (Result, error) { return w.debit(r, 0, now) }
	case req.Void != nil:
		r := *req.Void
		r.Key, wallet, ref = key, r.Wallet, r.GrantKey
		op = func(w *walletState, now int64) (Result, error) { return w.void(r, 0, now) }
	case req.Refund != nil:
		r := *req.Refund
		r.Key, wallet, ref = key, r.Wallet, r.GrantKey
		op = func(w *walletState, now int64) (Result, error) { return w.refund(r, 0, now) }
	default:
		r := *req.Adjust
		r.Key, wallet = key, r.Wallet
		op = func(w *walletState, now int64) (Result, error) { return w.adjust(r, 0, now) }
	}
	keys := []string{key}
	if ref != "" {
		keys = append(keys, ref)
	}
	v, err := s.submit(ctx, &job{wallet: wallet, keys: keys, write: true, dry: true, fn: func(w *walletState, now int64) (any, error) {
		res, err := op(w, now)
		if err != nil {
			return nil, err
		}
		e := w.entries[key]
		p := Preview{BalanceAfter: res.BalanceAfter, DebtAfter: e.debtAfter}
		for _, a := range e.allocs {
			k := a.grant.entryKey
			if a.grant.entry != nil {
				k = a.grant.entry.key
			}
			p.Draws = append(p.Draws, Draw{TopUpKey: k, Category: a.grant.category, Credits: a.amount})
		}
		return p, nil
	}})
	if err != nil {
		return Preview{}, err
	}
	return v.(Preview), nil
}

func count(bs ...bool) int {
	n := 0
	for _, b := range bs {
		if b {
			n++
		}
	}
	return n
}
