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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Preview asks what a Debit, Void, Refund or Adjustment would do to a wallet
// now, by the ledger's own rules, without doing it. Create it (nothing is
// stored) and read the answer in status.
type Preview struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              PreviewSpec `json:"spec"`
	// +optional
	Status PreviewStatus `json:"status,omitempty"`
}

// PreviewSpec is the hypothetical operation.
type PreviewSpec struct {
	// Wallet is the name of the Wallet in the same namespace.
	Wallet string `json:"wallet"`
	// Type is Debit, Void, Refund or Adjustment.
	Type string `json:"type"`
	// Credits: positive for a Debit, Void or Refund; signed and non-zero for
	// an Adjustment.
	Credits billingv1alpha1.SignedAmount `json:"credits"`
	// Origin of a Debit's usage (required for a Debit).
	// +optional
	Origin string `json:"origin,omitempty"`
	// Endpoint of a Debit's usage.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// At is when a Debit's usage happened (default: now).
	// +optional
	At *metav1.Time `json:"at,omitempty"`
	// GrantRef names the TopUp WalletTransaction a Void takes credits from
	// (default: drawdown order) or a Refund returns (required). A TopUp with
	// its own spec.idempotencyKey is named by that key.
	// +optional
	GrantRef string `json:"grantRef,omitempty"`
}

// PreviewStatus is the ledger's answer.
type PreviewStatus struct {
	// Allowed is true when the operation would be applied now.
	Allowed bool `json:"allowed"`
	// Reason of a refusal: InsufficientBalance, NotApplicable,
	// WalletTerminated or GrantNotFound.
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
	// Shortfall is how many credits were missing (InsufficientBalance).
	// +optional
	Shortfall string `json:"shortfall,omitempty"`
	// Draws are the grants the operation would take from (or add to), in
	// drawdown order.
	// +optional
	// +listType=atomic
	Draws []PreviewDraw `json:"draws,omitempty"`
	// BalanceAfter is the available balance after the operation.
	// +optional
	BalanceAfter string `json:"balanceAfter,omitempty"`
	// DebtAfter is the debt after the operation.
	// +optional
	DebtAfter string `json:"debtAfter,omitempty"`
}

// PreviewDraw is what the operation would take from one grant.
type PreviewDraw struct {
	// TopUp names the TopUp WalletTransaction (or the idempotency key of the
	// entry) that opened the grant.
	TopUp string `json:"topUp"`
	// Category is paid or granted.
	Category string `json:"category"`
	// Credits is the signed change of the grant's remaining credits.
	Credits string `json:"credits"`
}
