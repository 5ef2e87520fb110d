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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// WalletRefField indexes WalletTransactions by spec.walletRef.name.
const WalletRefField = "spec.walletRef.name"

// ReasonInvalidSpec: a stored value the operator cannot use (admission
// refuses it now; it was stored before a rule existed). Only that object fails.
const ReasonInvalidSpec = "InvalidSpec"

// WalletTransactionReconciler applies each WalletTransaction to the ledger
// exactly once: the ledger's idempotency key makes every retry (after a
// crash, a requeue, a GitOps re-apply or a re-creation) return the first
// result instead of writing again.
type WalletTransactionReconciler struct {
	client.Client
	Ledger   ledger.Writer
	Recorder events.EventRecorder
	// AutoTopUpTTL deletes settled auto top-up transactions this long after
	// they were applied (their ledger entries stay); 0 keeps them.
	AutoTopUpTTL time.Duration
}

// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallettransactions,verbs=get;list;watch;delete
// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallettransactions/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile applies one WalletTransaction.
func (r *WalletTransactionReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	t := &billingv1alpha1.WalletTransaction{}
	if err := r.Get(ctx, req.NamespacedName, t); err != nil {
		if apierrors.IsNotFound(err) {
			pendingTransactions.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if final(t) {
		return r.cleanUp(ctx, t)
	}
	if errs := t.Validate(); len(errs) > 0 {
		return ctrl.Result{}, r.setStatus(ctx, t, outcome{phase: billingv1alpha1.PhaseFailed, reason: ReasonInvalidSpec,
			message: errs.ToAggregate().Error() + "; nothing was written to the ledger"})
	}
	w := &billingv1alpha1.Wallet{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.WalletRef.Name}, w); err != nil {
		if apierrors.IsNotFound(err) {
			// The Wallet watch brings the transaction back once it exists.
			return ctrl.Result{}, r.setStatus(ctx, t, outcome{phase: billingv1alpha1.PhasePending, reason: "WalletNotFound",
				message: fmt.Sprintf("wallet %q does not exist in namespace %s yet", t.Spec.WalletRef.Name, t.Namespace)})
		}
		return ctrl.Result{}, err
	}
	if errs := w.ValidateSpec(); len(errs) > 0 {
		return ctrl.Result{}, r.setStatus(ctx, t, outcome{phase: billingv1alpha1.PhasePending, reason: "WalletInvalid",
			message: fmt.Sprintf("wallet %q cannot be used: %s", w.Name, errs.ToAggregate())})
	}
	out, err := r.apply(ctx, t, w)
	if errors.Is(err, ledger.ErrWalletNotFound) {
		// The Wallet is not in the ledger yet: open it (idempotent), then retry.
		if err := openWallet(ctx, r.Ledger, w); err != nil {
			return ctrl.Result{}, err
		}
		out, err = r.apply(ctx, t, w)
	}
	if errors.Is(err, ledger.ErrNotFound) {
		return ctrl.Result{RequeueAfter: 5 * time.Second}, r.setStatus(ctx, t, outcome{phase: billingv1alpha1.PhasePending,
			reason: "GrantNotApplied", message: err.Error()})
	}
	if err != nil {
		phase, reason, ok := refusal(err)
		if !ok {
			return ctrl.Result{}, err
		}
		out = outcome{phase: phase, reason: reason, message: err.Error()}
	}
	if err := r.setStatus(ctx, t, out); err != nil {
		return ctrl.Result{}, err
	}
	return r.cleanUp(ctx, t) // a settled auto top-up's TTL starts now
}

// cleanUp deletes a settled auto top-up transaction once its TTL has
// passed, like a Job's ttlSecondsAfterFinished.
func (r *WalletTransactionReconciler) cleanUp(ctx context.Context, t *billingv1alpha1.WalletTransaction) (ctrl.Result, error) {
	if r.AutoTopUpTTL <= 0 || t.Labels[LabelRule] == "" || t.Status.Phase != billingv1alpha1.PhaseSettled || t.Status.AppliedAt == nil {
		return ctrl.Result{}, nil
	}
	if left := time.Until(t.Status.AppliedAt.Add(r.AutoTopUpTTL)); left > 0 {
		return ctrl.Result{RequeueAfter: left}, nil
	}
	return ctrl.Result{}, client.IgnoreNotFound(r.Delete(ctx, t, client.Preconditions{UID: &t.UID}))
}

// final reports whether the transaction has reached its last phase for
// its current spec (only payment.status may still change it).
func final(t *billingv1alpha1.WalletTransaction) bool {
	switch t.Status.Phase {
	case billingv1alpha1.PhaseSettled, billingv1alpha1.PhaseFailed, billingv1alpha1.PhaseRejected:
		return t.Status.ObservedGeneration == t.Generation
	}
	return false
}

type outcome struct {
	phase   billingv1alpha1.TransactionPhase
	reason  string
	message string
	result  *ledger.Result
	credits money.Micros
}

// apply sends the transaction to the ledger. Requests are built only from
// the immutable spec (payment-backed credits always start pending and then
// settle), so a retry always carries the same payload.
func (r *WalletTransactionReconciler) apply(ctx context.Context, t *billingv1alpha1.WalletTransaction, w *billingv1alpha1.Wallet) (outcome, error) {
	wallet := billingv1alpha1.LedgerWalletName(w.Namespace, w.Name)
	key := IdempotencyKey(t)
	credits, err := amount("credits", t.Spec.Credits.String())
	if err != nil {
		return outcome{}, fmt.Errorf("%w: %v", ledger.ErrInvalid, err)
	}
	var res ledger.Result
	out := outcome{phase: billingv1alpha1.PhaseSettled}
	switch t.Spec.Type {
	case billingv1alpha1.TypeTopUp:
		req, err := grantRequest(t, wallet, key)
		if err != nil {
			return outcome{}, fmt.Errorf("%w: %v", ledger.ErrInvalid, err)
		}
		out.credits = req.Paid + req.Granted
		if res, err = r.Ledger.TopUp(ctx, req); err != nil {
			return outcome{}, err
		}
	case billingv1alpha1.TypeDebit:
		out.credits = -credits
		res, err = r.Ledger.Debit(ctx, ledger.DebitRequest{Wallet: wallet, Key: key, Credits: credits, Origin: t.Spec.Origin,
			Endpoint: t.Spec.Endpoint, Description: t.Spec.Description})
	case billingv1alpha1.TypeVoid:
		out.credits = -credits
		grantKey, gerr := r.grantKey(ctx, t)
		if gerr != nil {
			return outcome{}, gerr
		}
		res, err = r.Ledger.Void(ctx, ledger.VoidRequest{Wallet: wallet, Key: key, Credits: credits, GrantKey: grantKey, Description: t.Spec.Description})
	case billingv1alpha1.TypeRefund:
		out.credits = -credits
		grantKey, gerr := r.grantKey(ctx, t)
		if gerr != nil {
			return outcome{}, gerr
		}
		res, err = r.Ledger.Refund(ctx, ledger.RefundRequest{Wallet: wallet, Key: key, Credits: credits, GrantKey: grantKey,
			Payment: ledger.StatusPending, Description: t.Spec.Description})
	case billingv1alpha1.TypeAdjustment:
		out.credits = credits
		res, err = r.Ledger.Adjust(ctx, ledger.AdjustRequest{Wallet: wallet, Key: key, Credits: credits, Reason: t.Spec.Reason})
	default:
		return outcome{}, fmt.Errorf("%w: unknown type %q", ledger.ErrInvalid, t.Spec.Type)
	}
	if err != nil {
		return outcome{}, err
	}
	out.result = &res
	// Payments: pending until the payment settles one way or the other.
	if p := t.Spec.Payment; p != nil && (t.Spec.Type == billingv1alpha1.TypeTopUp || t.Spec.Type == billingv1alpha1.TypeRefund) {
		switch paymentStatus(p) {
		case ledger.StatusPending:
			out.phase, out.reason, out.message = billingv1alpha1.PhasePending, "PaymentPending", "waiting for payment.status Paid or Failed"
			return out, nil
		case ledger.StatusFailed:
			if _, err := r.Ledger.SettlePayment(ctx, wallet, key, ledger.StatusFailed); err != nil {
				return outcome{}, err
			}
			out.phase, out.reason, out.message = billingv1alpha1.PhaseFailed, "PaymentFailed", "the payment failed; no credits were applied"
			if t.Spec.Type == billingv1alpha1.TypeRefund {
				out.message = "the refund payment failed; the credits are back in the wallet"
			}
			return out, nil
		default:
			settled, err := r.Ledger.SettlePayment(ctx, wallet, key, ledger.StatusSettled)
			if err != nil {
				return outcome{}, err
			}
			res.BalanceAfter = settled.BalanceAfter
		}
	}
	return out, nil
}

// grantKey is the idempotency key of the TopUp a Void or Refund refers to.
// A deleted TopUp keeps its default key: history outlives objects.
func (r *WalletTransactionReconciler) grantKey(ctx context.Context, t *billingv1alpha1.WalletTransaction) (string, error) {
	if t.Spec.GrantRef == nil {
		return "", nil
	}
	g := &billingv1alpha1.WalletTransaction{}
	err := r.Get(ctx, types.NamespacedName{Namespace: t.Namespace, Name: t.Spec.GrantRef.Name}, g)
	switch {
	case apierrors.IsNotFound(err):
		return billingv1alpha1.LedgerKey(t.Namespace, t.Spec.GrantRef.Name), nil
	case err != nil:
		return "", err
	}
	// Such a reference can never be applied: fail now rather than wait.
	if g.Spec.Type != billingv1alpha1.TypeTopUp {
		return "", fmt.Errorf("%w: grantRef %q is a %s, not a TopUp", ledger.ErrNotApplicable, g.Name, g.Spec.Type)
	}
	if g.Spec.WalletRef.Name != t.Spec.WalletRef.Name {
		return "", fmt.Errorf("%w: grantRef %q is a TopUp of wallet %q, not of wallet %q", ledger.ErrNotApplicable,
			g.Name, g.Spec.WalletRef.Name, t.Spec.WalletRef.Name)
	}
	return IdempotencyKey(g), nil
}

// SetupWithManager registers the reconciler, its field index, and a watch
// that brings back a wallet's waiting transactions when the Wallet appears.
func (r *WalletTransactionReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &billingv1alpha1.WalletTransaction{}, WalletRefField,
		func(o client.Object) []string {
			return []string{o.(*billingv1alpha1.WalletTransaction).Spec.WalletRef.Name}
		}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		// its own status writes do not bring a transaction back: only its
		// creation and spec changes (payment.status) do
		For(&billingv1alpha1.WalletTransaction{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A transaction waits on its Wallet only until the Wallet exists
		// (WalletNotFound): Wallet updates — a status write every second
		// while a wallet is busy — bring nothing back, and would list every
		// transaction of the wallet each time.
		Watches(&billingv1alpha1.Wallet{}, handler.EnqueueRequestsFromMapFunc(r.waitingFor), builder.WithPredicates(predicate.Funcs{
			UpdateFunc:  func(event.UpdateEvent) bool { return false },
			DeleteFunc:  func(event.DeleteEvent) bool { return false },
			GenericFunc: func(event.GenericEvent) bool { return false },
		})).
		Named("wallettransaction").
		// Concurrent reconciles share ledger transactions (group commit) and keep
		// status patches queued at the API server: 48 measured best (docs/benchmarks.md).
		WithOptions(controller.Options{MaxConcurrentReconciles: 48}).
		Complete(r)
}

// waitingFor lists the wallet's transactions that are not final.
func (r *WalletTransactionReconciler) waitingFor(ctx context.Context, o client.Object) []reconcile.Request {
	var list billingv1alpha1.WalletTransactionList
	// read only: no deep copy of every transaction of the wallet
	if err := r.List(ctx, &list, client.InNamespace(o.GetNamespace()), client.MatchingFields{WalletRefField: o.GetName()},
		client.UnsafeDisableDeepCopy); err != nil {
		return nil
	}
	var out []reconcile.Request
	for i := range list.Items {
		if !final(&list.Items[i]) {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
	}
	return out
}
