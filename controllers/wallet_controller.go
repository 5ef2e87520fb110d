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
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	"github.com/walletop/wallet-operator/internal/money"
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
	// StatusInterval coalesces the ledger's change feed: a wallet changed
	// by writes without a WalletTransaction (usage ingestion) is refreshed
	// at most once per interval, never once per debit. Default 1s.
	StatusInterval time.Duration
}

// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallets,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallets/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallets/finalizers,verbs=update
// +kubebuilder:rbac:groups=billing.walletop.io,resources=wallettransactions,verbs=create

// Reconcile brings one Wallet and the ledger together.
func (r *WalletReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	w := &billingv1alpha1.Wallet{}
	if err := r.Get(ctx, req.NamespacedName, w); err != nil {
		if apierrors.IsNotFound(err) {
			forgetWalletMetrics(req.NamespacedName) // also when its finalizer was removed by hand
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	name := billingv1alpha1.LedgerWalletName(w.Namespace, w.Name)
	if !w.DeletionTimestamp.IsZero() {
		if controllerutil.ContainsFinalizer(w, WalletFinalizer) {
			if _, err := r.Ledger.Terminate(ctx, name); err != nil && !errors.Is(err, ledger.ErrWalletNotFound) {
				return ctrl.Result{}, err
			}
			forgetWalletMetrics(req.NamespacedName)
			base := w.DeepCopy()
			controllerutil.RemoveFinalizer(w, WalletFinalizer)
			return ctrl.Result{}, r.Patch(ctx, w, client.MergeFrom(base))
		}
		return ctrl.Result{}, nil
	}
	if !controllerutil.ContainsFinalizer(w, WalletFinalizer) {
		base := w.DeepCopy()
		controllerutil.AddFinalizer(w, WalletFinalizer)
		if err := r.Patch(ctx, w, client.MergeFrom(base)); err != nil {
			return ctrl.Result{}, err
		}
	}
	now := r.Now()
	if errs := w.ValidateSpec(); len(errs) > 0 {
		// Only a value stored before a rule existed gets here: this wallet
		// stops, every other goes on.
		return ctrl.Result{}, r.setInvalid(ctx, w, errs.ToAggregate().Error())
	}
	if w.Status.ObservedGeneration != w.Generation || !meta.IsStatusConditionTrue(w.Status.Conditions, billingv1alpha1.ConditionLedgerSynced) {
		if err := openWallet(ctx, r.Ledger, w); err != nil {
			return ctrl.Result{}, r.setStatus(ctx, w, w.DeepCopy(), nil, fmt.Errorf("opening the wallet in the ledger: %w", err))
		}
	}
	b, err := r.Ledger.Balance(ctx, name)
	if errors.Is(err, ledger.ErrWalletNotFound) {
		// status said synced, but this ledger has never seen the wallet
		// (a new, or restored, database): open it here
		if err := openWallet(ctx, r.Ledger, w); err != nil {
			return ctrl.Result{}, err
		}
		b, err = r.Ledger.Balance(ctx, name)
	}
	if err != nil {
		return ctrl.Result{}, err
	}
	expired := w.Spec.ExpiresAt != nil && !now.Before(w.Spec.ExpiresAt.Time)
	wrote := false
	if (w.Spec.Terminated || expired) && !b.Terminated {
		if _, err := r.Ledger.Terminate(ctx, name); err != nil {
			return ctrl.Result{}, err
		}
		wrote = true
	} else if b.Due {
		if _, err := r.Ledger.ExpireDue(ctx, name); err != nil {
			return ctrl.Result{}, err
		}
		wrote = true
	}
	if wrote {
		if b, err = r.Ledger.Balance(ctx, name); err != nil {
			return ctrl.Result{}, err
		}
	}
	read := w.DeepCopy()
	create, nextSchedule, broken, err := r.autoTopUp(ctx, w, b, now)
	if err != nil {
		return ctrl.Result{}, err
	}
	setRulesCondition(w, broken)
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
	// Wake up exactly when something changes by itself: nothing polls.
	var next time.Time
	if !b.NextChange.IsZero() {
		next = b.NextChange
	}
	if w.Spec.ExpiresAt != nil && !b.Terminated && (next.IsZero() || w.Spec.ExpiresAt.Time.Before(next)) {
		next = w.Spec.ExpiresAt.Time
	}
	if !nextSchedule.IsZero() && !b.Terminated && (next.IsZero() || nextSchedule.Before(next)) {
		next = nextSchedule
	}
	if next.IsZero() {
		return ctrl.Result{}, nil
	}
	return ctrl.Result{RequeueAfter: max(next.Sub(now), 0) + 10*time.Millisecond}, nil
}

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
	walletBalances.set(client.ObjectKeyFromObject(w), *b)
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: billingv1alpha1.ConditionLedgerSynced, Status: metav1.ConditionTrue,
		Reason: "Synced", Message: fmt.Sprintf("status reflects ledger sequence %d", b.Sequence), ObservedGeneration: gen})
	ready := metav1.Condition{Type: billingv1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Active",
		Message: "the wallet accepts top-ups and debits", ObservedGeneration: gen}
	if b.Terminated {
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, string(st.Phase), "the wallet accepts no more top-ups or debits; its history stays readable"
	}
	meta.SetStatusCondition(&st.Conditions, ready)
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

// coalesceChanges turns the ledger's change feed into reconcile requests,
// at most one per wallet per StatusInterval.
func (r *WalletReconciler) coalesceChanges(ctx context.Context, out chan<- event.GenericEvent) error {
	feed := r.Ledger.Changes()
	tick := time.NewTicker(r.StatusInterval)
	defer tick.Stop()
	pending := map[string]struct{}{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case names, ok := <-feed:
			if !ok {
				return nil
			}
			for _, n := range names {
				pending[n] = struct{}{}
			}
		case <-tick.C:
			for n := range pending {
				ns, name, ok := strings.Cut(n, "/")
				if !ok {
					continue
				}
				select {
				case out <- event.GenericEvent{Object: &billingv1alpha1.Wallet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}}:
				case <-ctx.Done():
					return nil
				}
			}
			clear(pending)
		}
	}
}
