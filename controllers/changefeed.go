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
	"sigs.k8s.io/controller-runtime/pkg/event"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

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
				ns, name, ok := billingv1alpha1.ParseLedgerWalletName(n)
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
