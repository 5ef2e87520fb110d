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
	"fmt"
	"sync"

	"github.com/walletop/wallet-operator/internal/money"
)

// OpenWallet creates the wallet, or updates its mutable settings. It goes
// through the commit queue like every write.
func (s *SQLStore) OpenWallet(ctx context.Context, spec WalletSpec) error {
	if spec.Wallet == "" || len(spec.Wallet) > 512 {
		return fmt.Errorf("%w: a wallet name of 1 to 512 bytes is required", ErrInvalid)
	}
	if spec.Rate <= 0 || spec.OverdraftLimit < 0 || spec.OverdraftLimit > money.MaxAmount {
		return fmt.Errorf("%w: rate must be positive and the overdraft limit between 0 and %s", ErrInvalid, money.MaxAmount)
	}
	_, err := s.submit(ctx, &job{open: &spec, wallet: spec.Wallet})
	return err
}

func (s *SQLStore) openWallet(ctx context.Context, tx *sql.Tx, spec WalletSpec, now int64) error {
	ins, err := s.prep(ctx, tx, `INSERT INTO wallets (name, currency, rate, overdraft, origins, endpoints, created_at, computed_at, next_change) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING`)
	if err != nil {
		return err
	}
	if _, err := ins.ExecContext(ctx, spec.Wallet, spec.Currency, spec.Rate, spec.OverdraftLimit, joinList(spec.AppliesTo.Origins), joinList(spec.AppliesTo.Endpoints), now, now, int64(never)); err != nil {
		return fmt.Errorf("ledger: opening wallet: %w", err)
	}
	var currency string
	var rate money.Micros
	sel, err := s.prep(ctx, tx, `SELECT currency, rate FROM wallets WHERE name = ?`)
	if err != nil {
		return err
	}
	if err := sel.QueryRowContext(ctx, spec.Wallet).Scan(&currency, &rate); err != nil {
		return fmt.Errorf("ledger: opening wallet: %w", err)
	}
	if currency != spec.Currency || rate != spec.Rate {
		return fmt.Errorf("%w: wallet %s exists with currency %s and rate %s", ErrConflict, spec.Wallet, currency, rate)
	}
	upd, err := s.prep(ctx, tx, `UPDATE wallets SET overdraft = ?, origins = ?, endpoints = ? WHERE name = ?`)
	if err != nil {
		return err
	}
	_, err = upd.ExecContext(ctx, spec.OverdraftLimit, joinList(spec.AppliesTo.Origins), joinList(spec.AppliesTo.Endpoints), spec.Wallet)
	return err
}

func (s *SQLStore) write(ctx context.Context, wallet string, keys []string, fn func(w *walletState, now int64) (Result, error)) (Result, error) {
	v, err := s.submit(ctx, &job{wallet: wallet, keys: keys, write: true, fn: func(w *walletState, now int64) (any, error) {
		return fn(w, now)
	}})
	if err != nil {
		return Result{}, err
	}
	return v.(Result), nil
}

// fingerprint hashes a request with its key blanked, for idempotency.
func fingerprint[T any](req T, blank func(*T)) int64 {
	blank(&req)
	return payloadHash(req)
}

// keyed runs an operation with an idempotency key; refs are other entries
// it needs (a grant to void or refund).
func (s *SQLStore) keyed(ctx context.Context, wallet, key string, refs []string, apply func(w *walletState, now int64) (Result, error)) (Result, error) {
	if err := checkKey(key); err != nil {
		return Result{}, err
	}
	return s.write(ctx, wallet, append([]string{key}, refs...), apply)
}

// TopUp adds credits.
func (s *SQLStore) TopUp(ctx context.Context, req TopUpRequest) (Result, error) {
	h := fingerprint(req, func(r *TopUpRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, nil, func(w *walletState, now int64) (Result, error) { return w.topUp(req, h, now) })
}

// Debit consumes credits.
func (s *SQLStore) Debit(ctx context.Context, req DebitRequest) (Result, error) {
	h := fingerprint(req, func(r *DebitRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, nil, func(w *walletState, now int64) (Result, error) { return w.debit(req, h, now) })
}

// MaxDebitsPerJob bounds how many debits of one wallet DebitBatch applies
// in one database transaction.
const MaxDebitsPerJob = 500

// DebitBatch applies many debits. Each one is applied or refused on its
// own, exactly as Debit would (its own key, its own refusal); debits of one
// wallet are applied in the order given, and they share commits. The
// results and errors are in the order of reqs.
func (s *SQLStore) DebitBatch(ctx context.Context, reqs []DebitRequest) ([]Result, []error) {
	return s.debitBatch(ctx, reqs, false)
}

// DryRunDebits answers what DebitBatch would, writing nothing.
func (s *SQLStore) DryRunDebits(ctx context.Context, reqs []DebitRequest) ([]Result, []error) {
	return s.debitBatch(ctx, reqs, true)
}

func (s *SQLStore) debitBatch(ctx context.Context, reqs []DebitRequest, dry bool) ([]Result, []error) {
	results, errs := make([]Result, len(reqs)), make([]error, len(reqs))
	hashes := make([]int64, len(reqs)) // here, not on the committer
	byWallet := map[string][]int{}
	var order []string
	for i, req := range reqs {
		if errs[i] = checkKey(req.Key); errs[i] != nil {
			continue
		}
		hashes[i] = fingerprint(req, func(r *DebitRequest) { r.Key = "" })
		if _, ok := byWallet[req.Wallet]; !ok {
			order = append(order, req.Wallet)
		}
		byWallet[req.Wallet] = append(byWallet[req.Wallet], i)
	}
	var wg sync.WaitGroup
	for _, wallet := range order {
		idx := byWallet[wallet]
		wg.Go(func() {
			per := MaxDebitsPerJob
			if dry {
				per = len(idx) // one copy of the wallet sees every debit of the run
			}
			for len(idx) > 0 {
				chunk := idx[:min(len(idx), per)]
				idx = idx[len(chunk):]
				keys := make([]string, len(chunk))
				for k, i := range chunk {
					keys[k] = reqs[i].Key
				}
				v, err := s.submit(ctx, &job{wallet: wallet, keys: keys, write: true, dry: dry, fn: func(w *walletState, now int64) (any, error) {
					out := make([]jobResult, len(chunk))
					for k, i := range chunk {
						r, err := w.debit(reqs[i], hashes[i], now)
						out[k] = jobResult{v: r, err: err}
					}
					return out, nil
				}})
				for k, i := range chunk {
					if err != nil {
						errs[i] = err
						continue
					}
					jr := v.([]jobResult)[k]
					errs[i] = jr.err
					if jr.err == nil {
						results[i] = jr.v.(Result)
					}
				}
			}
		})
	}
	wg.Wait()
	return results, errs
}

// Void removes credits.
func (s *SQLStore) Void(ctx context.Context, req VoidRequest) (Result, error) {
	h := fingerprint(req, func(r *VoidRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, []string{req.GrantKey}, func(w *walletState, now int64) (Result, error) { return w.void(req, h, now) })
}

// Refund returns paid credits of one grant.
func (s *SQLStore) Refund(ctx context.Context, req RefundRequest) (Result, error) {
	h := fingerprint(req, func(r *RefundRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, []string{req.GrantKey}, func(w *walletState, now int64) (Result, error) { return w.refund(req, h, now) })
}

// Adjust corrects the balance.
func (s *SQLStore) Adjust(ctx context.Context, req AdjustRequest) (Result, error) {
	h := fingerprint(req, func(r *AdjustRequest) { r.Key = "" })
	return s.keyed(ctx, req.Wallet, req.Key, nil, func(w *walletState, now int64) (Result, error) { return w.adjust(req, h, now) })
}

// SettlePayment marks a pending payment paid or failed.
func (s *SQLStore) SettlePayment(ctx context.Context, wallet, key string, status Status) (Result, error) {
	return s.write(ctx, wallet, []string{key, "settle:" + key}, func(w *walletState, now int64) (Result, error) {
		return w.settle(key, status, now)
	})
}

// Terminate ends the wallet: remaining credits expire, writes are refused.
func (s *SQLStore) Terminate(ctx context.Context, wallet string) (Result, error) {
	return s.write(ctx, wallet, nil, func(w *walletState, now int64) (Result, error) { return w.terminate(now), nil })
}

// ExpireDue expires what is due and activates what became effective.
func (s *SQLStore) ExpireDue(ctx context.Context, wallet string) (int, error) {
	v, err := s.submit(ctx, &job{wallet: wallet, fn: func(w *walletState, now int64) (any, error) {
		return w.normalize(now), nil
	}})
	if err != nil {
		return 0, err
	}
	return v.(int), nil
}
