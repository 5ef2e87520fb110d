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

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

func (r *WalletTransactionReconciler) setStatus(ctx context.Context, t *billingv1alpha1.WalletTransaction, out outcome) error {
	base := t.DeepCopy()
	before := &base.Status
	st := &t.Status
	st.Phase, st.Reason, st.Message = out.phase, out.reason, out.message
	st.ObservedGeneration = t.Generation
	if out.result != nil {
		st.TransactionID = out.result.EntryID
		st.AppliedAt = timePtr(out.result.AppliedAt)
		st.BalanceAfter = out.result.BalanceAfter.String()
		st.Credits = out.credits.String()
	}
	cond := metav1.Condition{Type: billingv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: out.reason, Message: out.message, ObservedGeneration: t.Generation}
	if out.phase == billingv1alpha1.PhaseSettled {
		cond.Status, cond.Reason = metav1.ConditionTrue, "Settled"
		if cond.Message == "" {
			cond.Message = fmt.Sprintf("applied to the ledger as %s", st.TransactionID)
		}
	}
	meta.SetStatusCondition(&st.Conditions, cond)
	setStalled(&st.Conditions, out.phase == billingv1alpha1.PhaseFailed || out.phase == billingv1alpha1.PhaseRejected,
		out.reason, out.message, t.Generation)
	pendingTransactions.set(t)
	if equality.Semantic.DeepEqual(before, st) {
		return nil
	}
	if err := r.Status().Patch(ctx, t, client.MergeFrom(base)); err != nil {
		if apierrors.IsInvalid(err) && out.reason == ReasonInvalidSpec {
			// A stored value of the wrong type fails the API server's own
			// rules on every write, status included: say it with an Event.
			if r.Recorder != nil {
				r.Recorder.Eventf(t, nil, "Warning", ReasonInvalidSpec, "Validate", "%s", out.message)
			}
			return nil
		}
		return err
	}
	if before.Phase != st.Phase {
		transactionsApplied.WithLabelValues(string(t.Spec.Type), string(st.Phase)).Inc()
		if st.Phase == billingv1alpha1.PhaseFailed || st.Phase == billingv1alpha1.PhaseRejected {
			transactionFailures.WithLabelValues(string(t.Spec.Type), st.Reason).Inc()
		}
	}
	if r.Recorder != nil && before.Phase != st.Phase {
		kind := "Normal"
		if st.Phase == billingv1alpha1.PhaseFailed || st.Phase == billingv1alpha1.PhaseRejected {
			kind = "Warning"
		}
		r.Recorder.Eventf(t, nil, kind, string(st.Phase), "Apply", "%s %s", st.Phase, cond.Message)
	}
	log.FromContext(ctx).V(1).Info("status", "phase", st.Phase, "reason", st.Reason, "transactionID", st.TransactionID)
	return nil
}

// setStalled sets Stalled=True (with why) when stalled, and removes the
// condition otherwise: kstatus reads only a true Stalled as Failed.
func setStalled(conds *[]metav1.Condition, stalled bool, reason, message string, gen int64) {
	if !stalled {
		meta.RemoveStatusCondition(conds, billingv1alpha1.ConditionStalled)
		return
	}
	meta.SetStatusCondition(conds, metav1.Condition{Type: billingv1alpha1.ConditionStalled, Status: metav1.ConditionTrue,
		Reason: reason, Message: message, ObservedGeneration: gen})
}
