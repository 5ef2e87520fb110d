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

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// Labels on the WalletTransactions auto top-up rules create.
const (
	LabelWallet = "billing.walletop.io/wallet"
	LabelRule   = "billing.walletop.io/auto-topup-rule"
)

// autoTopUp evaluates the wallet's rules against balance b at now. It
// updates the rules' state in w.Status (the caller writes it before
// creating anything: intent first, so a crash can never fire twice) and
// returns the transactions to create, when a schedule next needs a look,
// and what is wrong with the rules it skipped (a broken rule disables
// itself only: the wallet and its other rules go on).
func (r *WalletReconciler) autoTopUp(ctx context.Context, w *billingv1alpha1.Wallet, b ledger.Balance, now time.Time) ([]*billingv1alpha1.WalletTransaction, time.Time, []string, error) {
	var create []*billingv1alpha1.WalletTransaction
	var next time.Time
	states := map[string]billingv1alpha1.AutoTopUpRuleStatus{}
	for _, s := range w.Status.AutoTopUp {
		states[s.Name] = s
	}
	var out []billingv1alpha1.AutoTopUpRuleStatus
	var broken []string
	for i, rule := range w.Spec.AutoTopUp {
		rs, seen := states[rule.Name]
		if errs := rule.Validate(field.NewPath("spec", "autoTopUp").Index(i), now); len(errs) > 0 {
			broken = append(broken, fmt.Sprintf("rule %s is disabled: %s", rule.Name, errs.ToAggregate()))
			if !seen {
				rs = billingv1alpha1.AutoTopUpRuleStatus{Name: rule.Name}
			}
			rs.NextScheduleTime = nil
			out = append(out, rs)
			continue
		}
		if !seen {
			// A crossing starts above the threshold: a new rule arms once the
			// balance has been above it, so a wallet created empty (its first
			// purchase still on the way) does not buy credits by itself.
			rs = billingv1alpha1.AutoTopUpRuleStatus{Name: rule.Name}
		}
		// A threshold rule whose wallet is above the threshold only re-arms:
		// its last transaction does not matter, and is not even looked up
		// (a settled one may be gone after its TTL, which costs a ledger read).
		above := false
		if rule.Trigger == billingv1alpha1.TriggerThreshold {
			above = b.Available > money.MustParse(string(rule.ThresholdCredits)) // checked by Validate
		}
		inFlight := false
		if !above {
			var missing bool
			var err error
			if inFlight, missing, err = r.lastTransaction(ctx, w, rs); err != nil {
				return nil, time.Time{}, nil, err
			}
			if missing {
				// decided but never created (the operator stopped in between)
				t, err := r.ruleTransaction(w, rule, rs.LastTransaction, b)
				if err != nil {
					return nil, time.Time{}, nil, err
				}
				if t != nil {
					create = append(create, t)
				}
			}
		}
		fire := false
		switch rule.Trigger {
		case billingv1alpha1.TriggerThreshold:
			if above {
				rs.Armed = true // above again: the next crossing fires
			} else if rs.Armed && !inFlight {
				fire = true
			}
		case billingv1alpha1.TriggerSchedule:
			sched, err := billingv1alpha1.ParseSchedule(rule.Schedule, rule.TimeZone, now)
			if err != nil {
				return nil, time.Time{}, nil, fmt.Errorf("rule %s: %w", rule.Name, err) // checked by Validate
			}
			base := w.CreationTimestamp.Time
			if rs.LastTriggeredAt != nil {
				base = rs.LastTriggeredAt.Time
			}
			due := sched.Next(base)
			if !now.Before(due) && !inFlight {
				fire = true // missed runs fire once, like a CronJob without a backlog
			}
			upcoming := sched.Next(now)
			rs.NextScheduleTime = &metav1.Time{Time: upcoming}
			if next.IsZero() || upcoming.Before(next) {
				next = upcoming
			}
		}
		if fire && !b.Terminated {
			name := fmt.Sprintf("%s-%s-%d", w.Name, rule.Name, rs.Count+1)
			t, err := r.ruleTransaction(w, rule, name, b)
			if err != nil {
				return nil, time.Time{}, nil, err
			}
			if t != nil {
				rs.Count++
				rs.LastTransaction = name
				rs.LastTriggeredAt = &metav1.Time{Time: now}
				create = append(create, t)
				autoTopUpsFired.WithLabelValues(w.Namespace, w.Name, rule.Name).Inc()
			}
			rs.Armed = false
		}
		out = append(out, rs)
	}
	w.Status.AutoTopUp = out
	return create, next, broken, nil
}

// lastTransaction reports whether the rule's last transaction is still in
// flight, and whether it was decided but is neither in the API nor in the
// ledger (to be created again under the same name).
func (r *WalletReconciler) lastTransaction(ctx context.Context, w *billingv1alpha1.Wallet, rs billingv1alpha1.AutoTopUpRuleStatus) (inFlight, missing bool, err error) {
	if rs.LastTransaction == "" {
		return false, false, nil
	}
	t := &billingv1alpha1.WalletTransaction{}
	err = r.Get(ctx, types.NamespacedName{Namespace: w.Namespace, Name: rs.LastTransaction}, t)
	switch {
	case err == nil:
		return !final(t), false, nil
	case !apierrors.IsNotFound(err):
		return false, false, err
	}
	// Gone: cleaned up after settling (its entry is in the ledger), or never created.
	_, err = r.Ledger.Entry(ctx, billingv1alpha1.LedgerWalletName(w.Namespace, w.Name), billingv1alpha1.LedgerKey(w.Namespace, rs.LastTransaction))
	if errors.Is(err, ledger.ErrNotFound) {
		return true, true, nil
	}
	return false, false, err
}

// ruleTransaction builds the TopUp a rule creates (nil when a Target rule
// has nothing to add). It is owned by the Wallet and labelled with the rule.
func (r *WalletReconciler) ruleTransaction(w *billingv1alpha1.Wallet, rule billingv1alpha1.AutoTopUpRule, name string, b ledger.Balance) (*billingv1alpha1.WalletTransaction, error) {
	spec := billingv1alpha1.WalletTransactionSpec{
		WalletRef: billingv1alpha1.LocalObjectReference{Name: w.Name}, Type: billingv1alpha1.TypeTopUp,
		Source: billingv1alpha1.SourceAutoTopUp, Priority: rule.Priority, ExpiresAfter: rule.GrantExpiresAfter,
		Description: fmt.Sprintf("auto top-up rule %s (%s)", rule.Name, rule.Trigger),
	}
	switch rule.Method {
	case billingv1alpha1.MethodFixed:
		spec.PaidCredits, spec.GrantedCredits = rule.PaidCredits, rule.GrantedCredits
	case billingv1alpha1.MethodTarget:
		missing := money.MustParse(string(rule.TargetBalance)) - b.Available // checked by Validate
		if missing <= 0 {
			return nil, nil
		}
		if rule.TargetCategory == billingv1alpha1.CategoryGranted {
			spec.GrantedCredits = billingv1alpha1.Amount(missing.String())
		} else {
			spec.PaidCredits = billingv1alpha1.Amount(missing.String())
		}
	}
	t := &billingv1alpha1.WalletTransaction{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.Namespace, Name: name, Labels: map[string]string{LabelWallet: w.Name, LabelRule: rule.Name}},
		Spec:       spec,
	}
	if err := controllerutil.SetControllerReference(w, t, r.Scheme()); err != nil {
		return nil, err
	}
	return t, nil
}
