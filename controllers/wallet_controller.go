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
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

// WalletFinalizer terminates the wallet in the ledger when the Wallet is deleted.
const WalletFinalizer = "billing.walletop.io/ledger"

// WalletReconciler opens wallets in the ledger, terminates them, expires
// their credits on time and keeps their status true to the ledger.
type WalletReconciler struct {
	client.Client
	Ledger   ledger.Writer
	Recorder events.EventRecorder
	// Now is the clock (the ledger's, in tests).
	Now func() time.Time
	// Forecasts, if set, computes status.runsOutAt (the ledger's forecast).
	Forecasts ledger.Forecaster
	// StatusInterval coalesces the ledger's change feed: a wallet changed
	// by writes without a WalletTransaction (usage ingestion) is refreshed
	// at most once per interval, never once per debit. Default 1s.
	StatusInterval time.Duration
}

// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallets/finalizers,verbs=update
// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallettransactions,verbs=create

// Reconcile brings one Wallet and the ledger together, in named steps:
// delete, finalizer, validate, sync the ledger, expire or terminate, auto
// top-up, status, and the next wake-up.
func (r *WalletReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	w := &billingv1alpha1.Wallet{}
	if err := r.Get(ctx, req.NamespacedName, w); err != nil {
		if apierrors.IsNotFound(err) {
			forgetWalletMetrics(req.NamespacedName) // also when its finalizer was removed by hand
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !w.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, r.reconcileDelete(ctx, w)
	}
	if err := r.ensureFinalizer(ctx, w); err != nil {
		return ctrl.Result{}, err
	}
	now := r.Now()
	if errs := w.ValidateSpec(); len(errs) > 0 {
		// Only a value stored before a rule existed gets here: this wallet
		// stops, every other goes on.
		return ctrl.Result{}, r.setInvalid(ctx, w, errs.ToAggregate().Error())
	}
	b, openErr, err := r.syncLedger(ctx, w)
	if openErr != nil {
		return ctrl.Result{}, r.setStatus(ctx, w, w.DeepCopy(), nil, openErr)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	if b, err = r.expireOrTerminate(ctx, w, b, now); err != nil {
		return ctrl.Result{}, err
	}
	read := w.DeepCopy()
	create, nextSchedule, broken, err := r.autoTopUp(ctx, w, b, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	setRulesCondition(w, broken)
	nextForecast := r.forecastRunway(ctx, w, b, now)
	// The rules' new state is written first, then their transactions are
	// created: a crash in between re-creates them under the same names.
	if err := r.setStatus(ctx, w, read, &b, nil); err != nil {
		return ctrl.Result{}, err
	}
	for _, t := range create {
		if err := r.Create(ctx, t); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, err
		}
	}
	return nextWakeUp(w, b, now, nextSchedule, nextForecast), nil
}

// reconcileDelete terminates a deleted Wallet in the ledger, then lets it go.
func (r *WalletReconciler) reconcileDelete(ctx context.Context, w *billingv1alpha1.Wallet) error {
	if !controllerutil.ContainsFinalizer(w, WalletFinalizer) {
		return nil
	}
	name := billingv1alpha1.LedgerWalletName(w.Namespace, w.Name)
	if _, err := r.Ledger.Terminate(ctx, name); err != nil && !errors.Is(err, ledger.ErrWalletNotFound) {
		return err
	}
	forgetWalletMetrics(client.ObjectKeyFromObject(w))
	base := w.DeepCopy()
	controllerutil.RemoveFinalizer(w, WalletFinalizer)
	return r.Patch(ctx, w, client.MergeFrom(base))
}

func (r *WalletReconciler) ensureFinalizer(ctx context.Context, w *billingv1alpha1.Wallet) error {
	if controllerutil.ContainsFinalizer(w, WalletFinalizer) {
		return nil
	}
	base := w.DeepCopy()
	controllerutil.AddFinalizer(w, WalletFinalizer)
	return r.Patch(ctx, w, client.MergeFrom(base))
}

// syncLedger opens the wallet in the ledger when its spec changed or it is
// not known to be synced, and returns its balance. openErr is a failure to
// open it, which goes to status rather than back to the queue.
func (r *WalletReconciler) syncLedger(ctx context.Context, w *billingv1alpha1.Wallet) (b ledger.Balance, openErr, err error) {
	if w.Status.ObservedGeneration != w.Generation || !meta.IsStatusConditionTrue(w.Status.Conditions, billingv1alpha1.ConditionLedgerSynced) {
		if err := openWallet(ctx, r.Ledger, w); err != nil {
			return b, fmt.Errorf("opening the wallet in the ledger: %w", err), nil
		}
	}
	name := billingv1alpha1.LedgerWalletName(w.Namespace, w.Name)
	b, err = r.Ledger.Balance(ctx, name)
	if errors.Is(err, ledger.ErrWalletNotFound) {
		// status said synced, but this ledger has never seen the wallet
		// (a new, or restored, database): open it here
		if err := openWallet(ctx, r.Ledger, w); err != nil {
			return b, nil, err
		}
		b, err = r.Ledger.Balance(ctx, name)
	}
	return b, nil, err
}

// expireOrTerminate terminates a wallet its spec ends, or else expires its
// due credits, and returns the balance after.
func (r *WalletReconciler) expireOrTerminate(ctx context.Context, w *billingv1alpha1.Wallet, b ledger.Balance, now time.Time) (ledger.Balance, error) {
	name := billingv1alpha1.LedgerWalletName(w.Namespace, w.Name)
	expired := w.Spec.ExpiresAt != nil && !now.Before(w.Spec.ExpiresAt.Time)
	switch {
	case (w.Spec.Terminated || expired) && !b.Terminated:
		if _, err := r.Ledger.Terminate(ctx, name); err != nil {
			return b, err
		}
	case b.Due:
		if _, err := r.Ledger.ExpireDue(ctx, name); err != nil {
			return b, err
		}
	default:
		return b, nil
	}
	return r.Ledger.Balance(ctx, name)
}

// nextWakeUp requeues the wallet exactly when something changes by itself
// (a grant starts or expires, the wallet ends, a schedule fires, the
// runway's usage rate moves): nothing polls.
func nextWakeUp(w *billingv1alpha1.Wallet, b ledger.Balance, now time.Time, also ...time.Time) ctrl.Result {
	var next time.Time
	if !b.NextChange.IsZero() {
		next = b.NextChange
	}
	if w.Spec.ExpiresAt != nil && !b.Terminated {
		also = append(also, w.Spec.ExpiresAt.Time)
	}
	for _, t := range also {
		if !t.IsZero() && !b.Terminated && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if next.IsZero() {
		return ctrl.Result{}
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), 0) + 10*time.Millisecond}
}

// SetupWithManager registers the reconciler. Every ledger write (by a
// WalletTransaction or not) reaches the wallet through the ledger's change
// feed, coalesced to one refresh per StatusInterval: a burst of
// transactions costs one status write per wallet per interval.
func (r *WalletReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.StatusInterval <= 0 {
		r.StatusInterval = time.Second
	}
	changed := make(chan event.GenericEvent, 1024)
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		return r.coalesceChanges(ctx, changed)
	})); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		// Its own status writes do not bring a wallet back (only creation,
		// spec changes and deletion, which bump the generation): each
		// write would otherwise start a reconcile that finds the ledger
		// moved on and writes again, one status write per round trip while
		// usage is ingested instead of one per StatusInterval.
		For(&billingv1alpha1.Wallet{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WatchesRawSource(source.Channel(changed, &handler.EnqueueRequestForObject{})).
		Named("wallet").
		WithOptions(controller.Options{MaxConcurrentReconciles: 4}).
		Complete(r)
}
