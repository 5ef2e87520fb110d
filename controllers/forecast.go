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
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

// ForecastInterval is how often at most a wallet's runway is recomputed:
// usage moves the balance with every debit, the runway only with the rate.
const ForecastInterval = time.Minute

// ForecastPlan is what the Wallet does by itself, for the ledger to play:
// its valid auto top-up rules (with their armed state) and its end.
func ForecastPlan(w *billingv1alpha1.Wallet, now time.Time) ledger.ForecastPlan {
	var plan ledger.ForecastPlan
	if w.Spec.ExpiresAt != nil {
		plan.EndsAt = w.Spec.ExpiresAt.Time
	}
	armed := map[string]bool{}
	for _, s := range w.Status.AutoTopUp {
		armed[s.Name] = s.Armed
	}
	for i, rule := range w.Spec.AutoTopUp {
		if errs := rule.Validate(field.NewPath("spec", "autoTopUp").Index(i), now); len(errs) > 0 {
			continue // disabled, as the operator runs it
		}
		// Validate checked every amount, the schedule and the duration.
		fr := ledger.ForecastRule{Priority: ledger.DefaultPriority}
		fr.Paid, _ = amount("paidCredits", string(rule.PaidCredits))
		fr.Granted, _ = amount("grantedCredits", string(rule.GrantedCredits))
		if rule.Method == billingv1alpha1.MethodTarget {
			t, _ := amount("targetBalance", string(rule.TargetBalance))
			fr.Target, fr.TargetGranted = &t, rule.TargetCategory == billingv1alpha1.CategoryGranted
		}
		if rule.Priority != nil {
			fr.Priority = int(*rule.Priority)
		}
		if rule.GrantExpiresAfter != nil {
			fr.ExpiresAfter, _ = rule.GrantExpiresAfter.Parse()
		}
		switch rule.Trigger {
		case billingv1alpha1.TriggerThreshold:
			fr.Threshold, _ = amount("thresholdCredits", string(rule.ThresholdCredits))
			fr.Armed = armed[rule.Name]
		case billingv1alpha1.TriggerSchedule:
			sched, _ := billingv1alpha1.ParseSchedule(rule.Schedule, rule.TimeZone, now)
			fr.Next = sched.Next
		}
		plan.Rules = append(plan.Rules, fr)
	}
	return plan
}

// forecastRunway refreshes status.runsOutAt, at most once per
// ForecastInterval unless the spec changed, and returns when to look
// again (zero: not by itself). A failing forecast keeps the last value and
// fails nothing else.
func (r *WalletReconciler) forecastRunway(ctx context.Context, w *billingv1alpha1.Wallet, b ledger.Balance, now time.Time) time.Time {
	st := &w.Status
	if r.Forecasts == nil {
		return time.Time{}
	}
	if b.Terminated {
		st.RunsOutAt = nil
		walletBalances.setRunway(client.ObjectKeyFromObject(w), time.Time{})
		return time.Time{}
	}
	if last := st.ForecastTime; last != nil && st.ObservedGeneration == w.Generation && now.Sub(last.Time) < ForecastInterval {
		// the balance may have moved since: look again once the interval is up
		return last.Add(ForecastInterval)
	}
	name := billingv1alpha1.LedgerWalletName(w.Namespace, w.Name)
	fc, err := r.Forecasts.Forecast(ctx, ledger.ForecastRequest{Wallet: name, Plan: ForecastPlan(w, now)})
	if err != nil {
		logf.FromContext(ctx).Error(err, "forecasting the runway; status.runsOutAt keeps its last value")
		return now.Add(ForecastInterval)
	}
	st.RunsOutAt, st.ForecastTime = nil, &metav1.Time{Time: fc.At}
	if !fc.RunsOutAt.IsZero() {
		st.RunsOutAt = &metav1.Time{Time: fc.RunsOutAt}
	}
	walletBalances.setRunway(client.ObjectKeyFromObject(w), fc.RunsOutAt)
	return fc.RateChangesAt
}

// WalletPlans serves the reports server's plans (reports.Plans) from the
// Wallet objects, through the manager's cache.
type WalletPlans struct{ Reader client.Reader }

func (p WalletPlans) wallet(ctx context.Context, namespace, name string) (*billingv1alpha1.Wallet, error) {
	w := &billingv1alpha1.Wallet{}
	if err := p.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, w); err != nil {
		// a wallet outlives its object in the ledger: it then has no plan
		return nil, client.IgnoreNotFound(err)
	}
	return w, nil
}

// Plan returns what the Wallet does by itself (none without its object).
func (p WalletPlans) Plan(ctx context.Context, namespace, name string, now time.Time) (ledger.ForecastPlan, error) {
	w, err := p.wallet(ctx, namespace, name)
	if w == nil {
		return ledger.ForecastPlan{}, err
	}
	return ForecastPlan(w, now), nil
}

// Runway returns the Wallet's status.runsOutAt and status.forecastTime.
func (p WalletPlans) Runway(ctx context.Context, namespace, name string) (runsOutAt, forecastTime time.Time, err error) {
	w, err := p.wallet(ctx, namespace, name)
	if w == nil {
		return runsOutAt, forecastTime, err
	}
	if w.Status.RunsOutAt != nil {
		runsOutAt = w.Status.RunsOutAt.Time
	}
	if w.Status.ForecastTime != nil {
		forecastTime = w.Status.ForecastTime.Time
	}
	return runsOutAt, forecastTime, nil
}
