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
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// setStatus writes w's status as a merge patch against base (w as read).
func (r *WalletReconciler) setStatus(ctx context.Context, w, base *billingv1alpha1.Wallet, b *ledger.Balance, ledgerErr error) error {
	before := &base.Status
	st := &w.Status
	gen := w.Generation
	if ledgerErr != nil {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: billingv1alpha1.ConditionLedgerSynced, Status: metav1.ConditionFalse,
			Reason: "LedgerError", Message: ledgerErr.Error(), ObservedGeneration: gen})
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: billingv1alpha1.ConditionReady, Status: metav1.ConditionFalse,
			Reason: "LedgerError", Message: ledgerErr.Error(), ObservedGeneration: gen})
		return r.Status().Patch(ctx, w, client.MergeFrom(base))
	}
	st.ObservedGeneration = gen
	st.Phase = billingv1alpha1.WalletActive
	switch {
	case b.Terminated && w.Spec.ExpiresAt != nil && !w.Spec.Terminated:
		st.Phase = billingv1alpha1.WalletExpired
	case b.Terminated:
		st.Phase = billingv1alpha1.WalletTerminated
	}
	st.Balance, st.PaidBalance, st.GrantedBalance, st.PendingCredits = b.Available.String(), b.Paid.String(), b.Granted.String(), b.Pending.String()
	// Empty when balance x rate overflows (as the reports API shows it):
	// never a stale value.
	st.MoneyBalance = nil
	if m, err := money.MulRate(b.Available, b.Rate); err == nil {
		st.MoneyBalance = &billingv1alpha1.Money{Amount: m.String(), Currency: b.Currency}
	}
	st.NextExpiration = nil
	if b.NextExpiration != nil {
		st.NextExpiration = &billingv1alpha1.Expiration{At: metav1.NewTime(b.NextExpiration.At), Credits: b.NextExpiration.Credits.String()}
	}
	st.LedgerSequence = b.Sequence
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: billingv1alpha1.ConditionLedgerSynced, Status: metav1.ConditionTrue,
		Reason: "Synced", Message: fmt.Sprintf("status reflects ledger sequence %d", b.Sequence), ObservedGeneration: gen})
	ready := metav1.Condition{Type: billingv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Active",
		Message: "the wallet accepts top-ups and debits", ObservedGeneration: gen}
	if b.Terminated {
		ready.Reason, ready.Message = string(st.Phase), "the wallet accepts no more top-ups or debits; its history stays readable"
	}
	meta.SetStatusCondition(&st.Conditions, ready)
	rules := meta.FindStatusCondition(st.Conditions, billingv1alpha1.ConditionAutoTopUpReady)
	if rules != nil && rules.Status == metav1.ConditionFalse {
		setStalled(&st.Conditions, true, rules.Reason, rules.Message, gen)
	} else {
		setStalled(&st.Conditions, false, "", "", gen)
	}
	low := metav1.Condition{Type: billingv1alpha1.ConditionLowBalance, Status: metav1.ConditionFalse, Reason: "AboveThreshold", ObservedGeneration: gen}
	if w.Spec.LowBalanceThreshold != "" {
		if threshold, err := money.Parse(string(w.Spec.LowBalanceThreshold)); err == nil && b.Available <= threshold {
			low.Status, low.Reason = metav1.ConditionTrue, "AtOrBelowThreshold"
			low.Message = fmt.Sprintf("available balance %s is at or below %s", b.Available, threshold)
		} else if err == nil {
			low.Message = fmt.Sprintf("available balance %s is above %s", b.Available, threshold)
		}
	} else {
		low.Reason, low.Message = "NoThreshold", "no lowBalanceThreshold is set"
	}
	wasLow := meta.IsStatusConditionTrue(before.Conditions, billingv1alpha1.ConditionLowBalance)
	meta.SetStatusCondition(&st.Conditions, low)
	overdraft, _ := money.Parse(w.Spec.OverdraftLimit.String()) // "" is none; an invalid value never gets here
	meta.SetStatusCondition(&st.Conditions, fundedCondition(w, b, overdraft))
	walletBalances.set(client.ObjectKeyFromObject(w), *b, overdraft, low.Status == metav1.ConditionTrue)
	// lastComputedAt moves only with the balance, so that an unchanged
	// wallet costs no status write.
	if before.LedgerSequence != st.LedgerSequence || before.Balance != st.Balance || before.PendingCredits != st.PendingCredits ||
		before.Phase != st.Phase || st.LastComputedAt == nil {
		st.LastComputedAt = timePtr(b.ComputedAt)
	}
	if equality.Semantic.DeepEqual(before, st) {
		return nil
	}
	// A merge patch: the status is computed from the ledger, not from the
	// object read, so no optimistic-lock conflict is worth a retry.
	if err := r.Status().Patch(ctx, w, client.MergeFrom(base)); err != nil {
		return err
	}
	if r.Recorder != nil && low.Status == metav1.ConditionTrue && !wasLow {
		r.Recorder.Eventf(w, nil, "Warning", "LowBalance", "Check", low.Message)
	}
	r.ruleEvent(w, before)
	return nil
}

// setRulesCondition sets AutoTopUpReady from what autoTopUp found wrong.
func setRulesCondition(w *billingv1alpha1.Wallet, broken []string) {
	c := metav1.Condition{Type: billingv1alpha1.ConditionAutoTopUpReady, Status: metav1.ConditionTrue, Reason: "RulesValid",
		Message: fmt.Sprintf("%d auto top-up rules in force", len(w.Spec.AutoTopUp)), ObservedGeneration: w.Generation}
	switch {
	case len(broken) > 0:
		c.Status, c.Reason, c.Message = metav1.ConditionFalse, "InvalidRule", strings.Join(broken, "; ")
	case len(w.Spec.AutoTopUp) == 0:
		c.Reason, c.Message = "NoRules", "no auto top-up rules"
	}
	meta.SetStatusCondition(&w.Status.Conditions, c)
}

// ruleEvent emits a Warning when the wallet's rules turn invalid.
func (r *WalletReconciler) ruleEvent(w *billingv1alpha1.Wallet, before *billingv1alpha1.WalletStatus) {
	now := meta.FindStatusCondition(w.Status.Conditions, billingv1alpha1.ConditionAutoTopUpReady)
	if r.Recorder == nil || now == nil || now.Status != metav1.ConditionFalse {
		return
	}
	if was := meta.FindStatusCondition(before.Conditions, billingv1alpha1.ConditionAutoTopUpReady); was != nil && was.Message == now.Message {
		return
	}
	r.Recorder.Eventf(w, nil, "Warning", now.Reason, "AutoTopUp", now.Message)
}

// setInvalid reports a wallet whose spec the operator cannot use: Ready
// False with the reason, an Event, nothing written to the ledger.
func (r *WalletReconciler) setInvalid(ctx context.Context, w *billingv1alpha1.Wallet, msg string) error {
	base := w.DeepCopy()
	c := metav1.Condition{Type: billingv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: ReasonInvalidSpec,
		Message: msg, ObservedGeneration: w.Generation}
	was := meta.FindStatusCondition(base.Status.Conditions, billingv1alpha1.ConditionReady)
	meta.SetStatusCondition(&w.Status.Conditions, c)
	setStalled(&w.Status.Conditions, true, ReasonInvalidSpec, msg, w.Generation)
	w.Status.ObservedGeneration = w.Generation
	if equality.Semantic.DeepEqual(base.Status, w.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, w, client.MergeFrom(base)); err != nil {
		return err
	}
	if r.Recorder != nil && (was == nil || was.Message != msg) {
		r.Recorder.Eventf(w, nil, "Warning", ReasonInvalidSpec, "Validate", msg)
	}
	return nil
}

// fundedCondition says whether the wallet can take another debit: not
// Terminated or Expired, and some credit or overdraft left.
func fundedCondition(w *billingv1alpha1.Wallet, b *ledger.Balance, overdraft money.Micros) metav1.Condition {
	c := metav1.Condition{Type: billingv1alpha1.ConditionFunded, Status: metav1.ConditionTrue, Reason: "Funded", ObservedGeneration: w.Generation,
		Message: fmt.Sprintf("wallet %s/%s: available balance %s, overdraft limit %s", w.Namespace, w.Name, b.Available, overdraft)}
	left, err := money.Add(b.Available, overdraft)
	switch {
	case b.Terminated:
		c.Status, c.Reason = metav1.ConditionFalse, string(w.Status.Phase)
		c.Message = fmt.Sprintf("wallet %s/%s is %s: it takes no more debits", w.Namespace, w.Name, strings.ToLower(string(w.Status.Phase)))
	case err == nil && left <= 0:
		c.Status, c.Reason = metav1.ConditionFalse, "Exhausted"
		c.Message = fmt.Sprintf("wallet %s/%s has no credits left: available balance %s, overdraft limit %s; a top-up funds it again",
			w.Namespace, w.Name, b.Available, overdraft)
	}
	return c
}
