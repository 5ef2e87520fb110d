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

package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// IdempotencyKey of a WalletTransaction: spec.idempotencyKey or "<namespace>/<name>".
func IdempotencyKey(t *billingv1alpha1.WalletTransaction) string {
	if t.Spec.IdempotencyKey != "" {
		return t.Spec.IdempotencyKey
	}
	return billingv1alpha1.LedgerKey(t.Namespace, t.Name)
}

// amount parses an optional amount ("" is zero).
func amount(field string, s string) (money.Micros, error) {
	if s == "" {
		return 0, nil
	}
	m, err := money.Parse(s)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", field, err)
	}
	return m, nil
}

func appliesTo(a *billingv1alpha1.AppliesTo) ledger.AppliesTo {
	if a == nil {
		return ledger.AppliesTo{}
	}
	return ledger.AppliesTo{Origins: a.Origins, Endpoints: a.Endpoints}
}

// walletSpec is what the ledger keeps of a Wallet.
func walletSpec(w *billingv1alpha1.Wallet) (ledger.WalletSpec, error) {
	rate, err := amount("rate", w.Spec.Rate.String())
	if err != nil {
		return ledger.WalletSpec{}, err
	}
	if rate == 0 {
		rate = money.Scale
	}
	od, err := amount("overdraftLimit", w.Spec.OverdraftLimit.String())
	if err != nil {
		return ledger.WalletSpec{}, err
	}
	return ledger.WalletSpec{
		Wallet: billingv1alpha1.LedgerWalletName(w.Namespace, w.Name), Currency: w.Spec.Currency, Rate: rate,
		OverdraftLimit: od, AppliesTo: appliesTo(w.Spec.AppliesTo),
	}, nil
}

// openWallet opens (or updates) the Wallet in the ledger; idempotent.
func openWallet(ctx context.Context, l ledger.Writer, w *billingv1alpha1.Wallet) error {
	spec, err := walletSpec(w)
	if err != nil {
		return err
	}
	return l.OpenWallet(ctx, spec)
}

// grantRequest maps a TopUp. expiresAfter counts from effectiveAt, or from
// the object's creation (stable across retries, unlike "now").
func grantRequest(t *billingv1alpha1.WalletTransaction, wallet, key string) (ledger.TopUpRequest, error) {
	paid, err := amount("paidCredits", t.Spec.PaidCredits.String())
	if err != nil {
		return ledger.TopUpRequest{}, err
	}
	granted, err := amount("grantedCredits", t.Spec.GrantedCredits.String())
	if err != nil {
		return ledger.TopUpRequest{}, err
	}
	req := ledger.TopUpRequest{
		Wallet: wallet, Key: key, Paid: paid, Granted: granted, Priority: ledger.DefaultPriority,
		AppliesTo: appliesTo(t.Spec.AppliesTo), Source: string(t.Spec.Source), Description: t.Spec.Description,
	}
	if t.Spec.Priority != nil {
		req.Priority = int(*t.Spec.Priority)
	}
	base := t.CreationTimestamp.Time
	if t.Spec.EffectiveAt != nil {
		req.EffectiveAt = t.Spec.EffectiveAt.Time
		base = t.Spec.EffectiveAt.Time
	}
	switch {
	case t.Spec.ExpiresAt != nil:
		at := t.Spec.ExpiresAt.Time
		req.ExpiresAt = &at
	case t.Spec.ExpiresAfter != nil:
		d, err := t.Spec.ExpiresAfter.Parse()
		if err != nil {
			return ledger.TopUpRequest{}, fmt.Errorf("expiresAfter: %w", err)
		}
		at := base.Add(d)
		req.ExpiresAt = &at
	}
	if t.Spec.Payment != nil {
		// Payment-backed credits always start pending and then settle as the
		// payment's status says: the request stays the same whatever that
		// status is when it is first sent, so retries never conflict.
		req.Payment = ledger.PaymentPending
	}
	return req, nil
}

// paymentStatus maps a payment's status to the ledger's.
func paymentStatus(p *billingv1alpha1.Payment) ledger.Status {
	if p == nil {
		return ledger.StatusSettled
	}
	switch p.Status {
	case billingv1alpha1.PaymentPaid:
		return ledger.StatusSettled
	case billingv1alpha1.PaymentFailed:
		return ledger.StatusFailed
	default:
		return ledger.StatusPending
	}
}

// refusal maps a ledger error to a terminal phase and reason; ok is false
// for errors that are worth retrying.
func refusal(err error) (phase billingv1alpha1.TransactionPhase, reason string, ok bool) {
	switch {
	case errors.Is(err, ledger.ErrInsufficientBalance):
		return billingv1alpha1.PhaseFailed, "InsufficientBalance", true
	case errors.Is(err, ledger.ErrWalletTerminated):
		return billingv1alpha1.PhaseFailed, "WalletTerminated", true
	case errors.Is(err, ledger.ErrNotApplicable):
		return billingv1alpha1.PhaseFailed, "NotApplicable", true
	case errors.Is(err, ledger.ErrInvalid), errors.Is(err, money.ErrOverflow), errors.Is(err, money.ErrSyntax),
		errors.Is(err, money.ErrTooLarge), errors.Is(err, money.ErrTooFine):
		return billingv1alpha1.PhaseFailed, "Invalid", true
	case errors.Is(err, ledger.ErrConflict):
		return billingv1alpha1.PhaseRejected, "IdempotencyConflict", true
	}
	return "", "", false
}

func timePtr(t time.Time) *metav1.Time {
	mt := metav1.NewTime(t)
	return &mt
}
