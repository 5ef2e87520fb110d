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
)

// TransactionType is the kind of ledger operation a WalletTransaction asks for.
// +kubebuilder:validation:Enum=TopUp;Void;Refund;Debit;Adjustment
type TransactionType string

// Transaction types.
const (
	// TypeTopUp adds paid and/or granted credits (a grant).
	TypeTopUp TransactionType = "TopUp"
	// TypeVoid removes credits, from one grant or in drawdown order.
	TypeVoid TransactionType = "Void"
	// TypeRefund returns paid credits of one TopUp to the payer.
	TypeRefund TransactionType = "Refund"
	// TypeDebit consumes credits for usage.
	TypeDebit TransactionType = "Debit"
	// TypeAdjustment corrects the balance by a signed amount, with a reason.
	TypeAdjustment TransactionType = "Adjustment"
)

// TopUpSource says where a TopUp's credits come from.
// +kubebuilder:validation:Enum=Purchase;SubscriptionRefill;OneTimeGrant;Promotion;AutoTopUp
type TopUpSource string

// Top-up sources.
const (
	SourcePurchase           TopUpSource = "Purchase"
	SourceSubscriptionRefill TopUpSource = "SubscriptionRefill"
	SourceOneTimeGrant       TopUpSource = "OneTimeGrant"
	SourcePromotion          TopUpSource = "Promotion"
	SourceAutoTopUp          TopUpSource = "AutoTopUp"
)

// PaymentStatus is the state of a payment.
// +kubebuilder:validation:Enum=Pending;Paid;Failed
type PaymentStatus string

// Payment states.
const (
	PaymentPending PaymentStatus = "Pending"
	PaymentPaid    PaymentStatus = "Paid"
	PaymentFailed  PaymentStatus = "Failed"
)

// TransactionPhase is where a WalletTransaction stands.
// +kubebuilder:validation:Enum=Pending;Settled;Failed;Rejected
type TransactionPhase string

// Transaction phases.
const (
	// PhasePending: not applied yet (wallet missing, payment pending, ...).
	PhasePending TransactionPhase = "Pending"
	// PhaseSettled: applied to the ledger exactly once.
	PhaseSettled TransactionPhase = "Settled"
	// PhaseFailed: refused by the ledger (e.g. insufficient balance) or its
	// payment failed; nothing was written.
	PhaseFailed TransactionPhase = "Failed"
	// PhaseRejected: conflicts with what the ledger already holds under the
	// same idempotency key.
	PhaseRejected TransactionPhase = "Rejected"
)

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the object.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	Name string `json:"name"`
}

// Payment is a payment that backs a TopUp, or the refund payment of a Refund.
// +kubebuilder:validation:XValidation:rule="has(self.reference) == has(oldSelf.reference)",message="payment is immutable except payment.status",fieldPath=".reference"
// +kubebuilder:validation:XValidation:rule="has(self.amount) == has(oldSelf.amount)",message="payment is immutable except payment.status",fieldPath=".amount"
// +kubebuilder:validation:XValidation:rule="has(self.method) == has(oldSelf.method)",message="payment is immutable except payment.status",fieldPath=".method"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.status) || oldSelf.status == self.status || (oldSelf.status == 'Pending' && self.status in ['Paid', 'Failed'])",message="payment.status may only change from Pending to Paid or from Pending to Failed",fieldPath=".status"
type Payment struct {
	// Reference in the payment system, e.g. an invoice or charge id.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="payment is immutable except payment.status"
	Reference string `json:"reference,omitempty"`
	// Amount of money paid (or refunded), in the wallet's currency.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="payment is immutable except payment.status"
	Amount Amount `json:"amount,omitempty"`
	// Method of payment, e.g. Card, BankTransfer, Invoice.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="payment is immutable except payment.status"
	Method string `json:"method,omitempty"`
	// Status of the payment. Paid credits settle only once it is Paid; it may
	// change only from Pending to Paid or from Pending to Failed.
	// +optional
	// +kubebuilder:default=Pending
	Status PaymentStatus `json:"status,omitempty"`
}

// The kube-apiserver evaluates every rule below on every write of a
// WalletTransaction, status patches included, and each field access on the
// spec costs it a copy of the spec's whole schema. So the rules on what a
// type allows run only on create (optionalOldSelf: oldSelf.hasValue() on
// every update), which is enough because the spec cannot change after it,
// and the rule that no field may be added or removed is one rule that
// compares the spec as a whole first and names the field only when it fails.

// WalletTransactionSpec asks for one ledger operation on one wallet. It is
// immutable once created, except payment.status.
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || !has(self.paidCredits))",message="paidCredits is allowed only for type TopUp",fieldPath=".paidCredits",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || !has(self.grantedCredits))",message="grantedCredits is allowed only for type TopUp",fieldPath=".grantedCredits",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || !has(self.priority))",message="priority is allowed only for type TopUp",fieldPath=".priority",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || !has(self.effectiveAt))",message="effectiveAt is allowed only for type TopUp",fieldPath=".effectiveAt",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || !has(self.expiresAt))",message="expiresAt is allowed only for type TopUp",fieldPath=".expiresAt",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || !has(self.expiresAfter))",message="expiresAfter is allowed only for type TopUp",fieldPath=".expiresAfter",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || !has(self.appliesTo))",message="appliesTo is allowed only for type TopUp",fieldPath=".appliesTo",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || !has(self.source))",message="source is allowed only for type TopUp",fieldPath=".source",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type != 'TopUp' || (has(self.paidCredits) && (type(self.paidCredits) == int ? self.paidCredits > 0 : !self.paidCredits.matches('^-') && !self.paidCredits.matches('^-?[0.]+$'))) || (has(self.grantedCredits) && (type(self.grantedCredits) == int ? self.grantedCredits > 0 : !self.grantedCredits.matches('^-') && !self.grantedCredits.matches('^-?[0.]+$'))))",message="a TopUp needs paidCredits or grantedCredits greater than zero",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'TopUp' || has(self.credits))",message="credits is required for type Void, Refund, Debit and Adjustment",fieldPath=".credits",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type != 'TopUp' || !has(self.credits))",message="credits is not allowed for type TopUp; use paidCredits or grantedCredits",fieldPath=".credits",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'Adjustment' || !has(self.credits) || (type(self.credits) == int ? self.credits > 0 : !self.credits.matches('^-') && !self.credits.matches('^-?[0.]+$')))",message="credits must be greater than zero for type Void, Refund and Debit; only an Adjustment may be negative",fieldPath=".credits",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type != 'Adjustment' || !has(self.credits) || (type(self.credits) == int ? self.credits != 0 : !self.credits.matches('^-?[0.]+$')))",message="an Adjustment's credits must not be zero",fieldPath=".credits",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type != 'Refund' || has(self.grantRef))",message="grantRef is required for type Refund: name the TopUp to refund",fieldPath=".grantRef",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type in ['Void', 'Refund'] || !has(self.grantRef))",message="grantRef is allowed only for type Void and Refund",fieldPath=".grantRef",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type in ['TopUp', 'Refund'] || !has(self.payment))",message="payment is allowed only for type TopUp and Refund",fieldPath=".payment",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type != 'Debit' || has(self.origin))",message="origin is required for type Debit",fieldPath=".origin",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'Debit' || (!has(self.origin) && !has(self.endpoint)))",message="origin and endpoint are allowed only for type Debit",fieldPath=".origin",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type != 'Adjustment' || has(self.reason))",message="reason is required for type Adjustment",fieldPath=".reason",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (self.type == 'Adjustment' || !has(self.reason))",message="reason is allowed only for type Adjustment",fieldPath=".reason",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (!has(self.expiresAt) || !has(self.expiresAfter))",message="set expiresAt or expiresAfter, not both",fieldPath=".expiresAt",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || (!has(self.expiresAt) || !has(self.effectiveAt) || self.expiresAt > self.effectiveAt)",message="expiresAt must be after effectiveAt",fieldPath=".expiresAt",optionalOldSelf=true
// +kubebuilder:validation:XValidation:rule="self == oldSelf || (has(self.description) == has(oldSelf.description) && has(self.attributes) == has(oldSelf.attributes) && has(self.idempotencyKey) == has(oldSelf.idempotencyKey) && has(self.paidCredits) == has(oldSelf.paidCredits) && has(self.grantedCredits) == has(oldSelf.grantedCredits) && has(self.priority) == has(oldSelf.priority) && has(self.effectiveAt) == has(oldSelf.effectiveAt) && has(self.expiresAt) == has(oldSelf.expiresAt) && has(self.expiresAfter) == has(oldSelf.expiresAfter) && has(self.appliesTo) == has(oldSelf.appliesTo) && has(self.source) == has(oldSelf.source) && has(self.credits) == has(oldSelf.credits) && has(self.grantRef) == has(oldSelf.grantRef) && has(self.origin) == has(oldSelf.origin) && has(self.endpoint) == has(oldSelf.endpoint) && has(self.reason) == has(oldSelf.reason) && has(self.payment) == has(oldSelf.payment))",messageExpression="(has(self.description) != has(oldSelf.description) ? 'description is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.attributes) != has(oldSelf.attributes) ? 'attributes is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.idempotencyKey) != has(oldSelf.idempotencyKey) ? 'idempotencyKey is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.paidCredits) != has(oldSelf.paidCredits) ? 'paidCredits is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.grantedCredits) != has(oldSelf.grantedCredits) ? 'grantedCredits is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.priority) != has(oldSelf.priority) ? 'priority is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.effectiveAt) != has(oldSelf.effectiveAt) ? 'effectiveAt is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.expiresAt) != has(oldSelf.expiresAt) ? 'expiresAt is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.expiresAfter) != has(oldSelf.expiresAfter) ? 'expiresAfter is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.appliesTo) != has(oldSelf.appliesTo) ? 'appliesTo is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.source) != has(oldSelf.source) ? 'source is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.credits) != has(oldSelf.credits) ? 'credits is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.grantRef) != has(oldSelf.grantRef) ? 'grantRef is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.origin) != has(oldSelf.origin) ? 'origin is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.endpoint) != has(oldSelf.endpoint) ? 'endpoint is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : has(self.reason) != has(oldSelf.reason) ? 'reason is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead' : 'payment is immutable except payment.status: it cannot be added or removed once created')"
type WalletTransactionSpec struct {
	// WalletRef names the Wallet, in the same namespace.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="walletRef is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	WalletRef LocalObjectReference `json:"walletRef"`

	// Type of the operation: TopUp, Void, Refund, Debit or Adjustment.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="type is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Type TransactionType `json:"type"`

	// Description, free text shown in history.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="description is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Description string `json:"description,omitempty"`

	// Attributes are free key/value pairs kept with the ledger entry.
	// +optional
	// +kubebuilder:validation:MaxProperties=32
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="attributes is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Attributes map[string]string `json:"attributes,omitempty"`

	// IdempotencyKey identifies the operation in the ledger; default
	// "<namespace>/<name>". A second transaction with the same key and the
	// same payload is recognised as already applied; with another payload it
	// is Rejected.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(usage|expire|repay|settle):')",message="idempotencyKey must not start with usage:, expire:, repay: or settle: (reserved for usage recorded through the reports API and for the ledger's own entries)"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="idempotencyKey is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	IdempotencyKey string `json:"idempotencyKey,omitempty"`

	// PaidCredits a TopUp adds (paid for; settle once payment is Paid).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="paidCredits is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	PaidCredits Amount `json:"paidCredits,omitempty"`

	// GrantedCredits a TopUp adds (free, promotional).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="grantedCredits is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	GrantedCredits Amount `json:"grantedCredits,omitempty"`

	// Priority of a TopUp's credits, 0-100, lower drawn first. Default 50.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="priority is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Priority *int32 `json:"priority,omitempty"`

	// EffectiveAt: a TopUp's credits count only from this time on.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="effectiveAt is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || self >= timestamp('1970-01-01T00:00:00Z')",message="must be an RFC 3339 time after 1970, e.g. \"2026-12-01T00:00:00Z\"",optionalOldSelf=true
	EffectiveAt *metav1.Time `json:"effectiveAt,omitempty"`

	// ExpiresAt: a TopUp's remaining credits expire at this time.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="expiresAt is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	// +kubebuilder:validation:XValidation:rule="oldSelf.hasValue() || self >= timestamp('1970-01-01T00:00:00Z')",message="must be an RFC 3339 time after 1970, e.g. \"2026-12-01T00:00:00Z\"",optionalOldSelf=true
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// ExpiresAfter: a TopUp's remaining credits expire this long after they
	// become effective, e.g. "720h".
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="expiresAfter is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	ExpiresAfter *Duration `json:"expiresAfter,omitempty"`

	// AppliesTo narrows which usage a TopUp's credits may pay for.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="appliesTo is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	AppliesTo *AppliesTo `json:"appliesTo,omitempty"`

	// Source of a TopUp's credits.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="source is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Source TopUpSource `json:"source,omitempty"`

	// Payment backing a TopUp's paid credits, or a Refund's own payment.
	// +optional
	Payment *Payment `json:"payment,omitempty"`

	// Credits of a Void, Refund or Debit (positive), or of an Adjustment
	// (signed, non-zero).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="credits is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Credits SignedAmount `json:"credits,omitempty"`

	// GrantRef names the TopUp WalletTransaction a Void takes credits from
	// (optional: without it, drawdown order) or a Refund returns (required).
	// +optional
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="grantRef is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	GrantRef *LocalObjectReference `json:"grantRef,omitempty"`

	// Origin of a Debit's usage, e.g. "api". Required for Debit.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="origin is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Origin string `json:"origin,omitempty"`

	// Endpoint of a Debit's usage, e.g. "/v1/chat".
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="endpoint is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Endpoint string `json:"endpoint,omitempty"`

	// Reason of an Adjustment. Required for Adjustment.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="reason is immutable: a WalletTransaction cannot be changed once created; create a Void, Refund or Adjustment instead"
	Reason string `json:"reason,omitempty"`
}

// WalletTransactionStatus is what the ledger did with the transaction.
type WalletTransactionStatus struct {
	// Phase: Pending, Settled, Failed or Rejected.
	// +optional
	Phase TransactionPhase `json:"phase,omitempty"`
	// TransactionID is the ledger's stable id ("wtx_...").
	// +optional
	TransactionID string `json:"transactionID,omitempty"`
	// Credits is the signed effect on the wallet, e.g. "100" or "-2.5".
	// +optional
	Credits string `json:"credits,omitempty"`
	// AppliedAt is when the ledger applied it.
	// +optional
	AppliedAt *metav1.Time `json:"appliedAt,omitempty"`
	// BalanceAfter is the wallet's available balance right after it applied.
	// +optional
	BalanceAfter string `json:"balanceAfter,omitempty"`
	// Reason is a CamelCase word for Failed or Rejected, e.g. InsufficientBalance.
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message explains the phase to a person.
	// +optional
	Message string `json:"message,omitempty"`
	// Conditions: Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// WalletTransaction asks the operator to apply one operation (a top-up,
// void, refund, debit or adjustment) to a Wallet's ledger, exactly once.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=wtx,categories=billing
// +kubebuilder:printcolumn:name="Wallet",type=string,JSONPath=`.spec.walletRef.name`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Credits",type=string,JSONPath=`.status.credits`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type WalletTransaction struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WalletTransactionSpec   `json:"spec"`
	Status WalletTransactionStatus `json:"status,omitempty"`

	// DecodeError names the spec fields whose stored values could not be
	// decoded (left out of Spec); never serialized.
	DecodeError string `json:"-"`
}

// WalletTransactionList is a list of WalletTransactions.
// +kubebuilder:object:root=true
type WalletTransactionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WalletTransaction `json:"items"`
}

func init() {
	SchemeBuilder.Register(&WalletTransaction{}, &WalletTransactionList{})
}
