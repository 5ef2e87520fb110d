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

// Amounts in this API are exact decimals written as strings, with up to six
// fractional digits and no trailing zeros ("12.5", "-3", "0.000001"), as in
// the Wallet status.

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Balance is the live balance of one wallet, read from the ledger. Its name
// is the Wallet's name.
type Balance struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Currency of the wallet's money value (ISO 4217).
	Currency string `json:"currency"`
	// Rate is the money value of one credit.
	Rate string `json:"rate"`
	// Balance is the credits available: paid + granted - debt.
	Balance string `json:"balance"`
	// Paid credits remaining.
	Paid string `json:"paid"`
	// Granted (promotional) credits remaining.
	Granted string `json:"granted"`
	// Pending credits: top-ups waiting for their payment.
	Pending string `json:"pending"`
	// Debt is usage drawn on the overdraft, repaid by the next credits.
	Debt string `json:"debt"`
	// MoneyBalance is Balance times Rate, in Currency; empty if the product
	// exceeds the largest amount (about 9.2 trillion).
	MoneyBalance string `json:"moneyBalance"`
	// NextExpiration is the next time credits expire and how many.
	// +optional
	NextExpiration *Expiration `json:"nextExpiration,omitempty"`
	// Terminated is true once the wallet is closed; it stays readable.
	Terminated bool `json:"terminated"`
	// LedgerSequence is the sequence number of the wallet's last ledger entry.
	LedgerSequence int64 `json:"ledgerSequence"`
	// ComputedAt is when this balance was computed (the time asked for with ?at=).
	ComputedAt metav1.Time `json:"computedAt"`
	// RunsOutAt is when the wallet is forecast to run out (the Wallet's
	// status.runsOutAt; the forecasts resource has the whole projection).
	// +optional
	RunsOutAt *metav1.Time `json:"runsOutAt,omitempty"`
	// ForecastTime is when RunsOutAt was computed; unset before the
	// operator's first forecast of the wallet.
	// +optional
	ForecastTime *metav1.Time `json:"forecastTime,omitempty"`
	// Grants lists the wallet's credit grants (with ?includeGrants=true).
	// +optional
	// +listType=atomic
	Grants []Grant `json:"grants,omitempty"`
	// Ledger lists the most recent ledger entries, newest first, up to 100
	// (with ?includeLedger=true); page further with the transactions resource.
	// +optional
	// +listType=atomic
	Ledger []TransactionEntry `json:"ledger,omitempty"`
}

// Expiration is an amount of credits that expires at a time.
type Expiration struct {
	At      metav1.Time `json:"at"`
	Credits string      `json:"credits"`
}

// Grant is one block of credits and what is left of it.
type Grant struct {
	// TransactionKey is the idempotency key of the entry that granted it.
	TransactionKey string `json:"transactionKey"`
	// Category is paid or granted.
	Category  string `json:"category"`
	Original  string `json:"original"`
	Remaining string `json:"remaining"`
	// Priority: lower is drawn first.
	Priority    int32       `json:"priority"`
	EffectiveAt metav1.Time `json:"effectiveAt"`
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// +optional
	// +listType=atomic
	Origins []string `json:"origins,omitempty"`
	// +optional
	// +listType=atomic
	Endpoints []string `json:"endpoints,omitempty"`
	// Status is pending (payment not settled), settled, failed or expired.
	Status string `json:"status"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BalanceList lists the balances of a namespace's wallets.
type BalanceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Balance `json:"items"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// BalanceOptions are the query parameters of a balance get.
type BalanceOptions struct {
	metav1.TypeMeta `json:",inline"`
	// At asks for the balance as of a past time (RFC 3339).
	// +optional
	At *metav1.Time `json:"at,omitempty"`
	// IncludeGrants adds the wallet's grants.
	// +optional
	IncludeGrants bool `json:"includeGrants,omitempty"`
	// IncludeLedger adds the most recent ledger entries.
	// +optional
	IncludeLedger bool `json:"includeLedger,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ConsumptionReport is what a wallet consumed and received over a window,
// per period. Its name is the Wallet's name.
type ConsumptionReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Currency string `json:"currency"`
	// From and To bound the window [from, to); from is rounded down to the
	// hour. Periods are whole hours, days, weeks or months (UTC); the first
	// and the last count only what falls inside the window.
	From metav1.Time `json:"from"`
	To   metav1.Time `json:"to"`
	// GroupBy is hour, day, week (ISO, from Monday) or month.
	GroupBy string `json:"groupBy"`
	// Origin and Endpoint repeat the filters asked for, if any.
	// +optional
	Origin string `json:"origin,omitempty"`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Totals over the whole window.
	Totals ConsumptionTotals `json:"totals"`
	// Periods in time order; periods with no activity are included.
	// +listType=atomic
	Periods []ConsumptionPeriod `json:"periods"`
}

// ConsumptionTotals sums a window or a period.
type ConsumptionTotals struct {
	// Debited is the usage debited.
	Debited string `json:"debited"`
	// Credited is grants, positive adjustments and refunds restored.
	Credited string `json:"credited"`
	// Removed is voids, refunds, expiries and negative adjustments.
	Removed string `json:"removed"`
	// Debits is the number of usage debits.
	Debits int64 `json:"debits"`
}

// ConsumptionPeriod is one period of a report.
type ConsumptionPeriod struct {
	Start             metav1.Time `json:"start"`
	End               metav1.Time `json:"end"`
	ConsumptionTotals `json:",inline"`
	// Usage breaks the debits out by origin and endpoint.
	// +optional
	// +listType=atomic
	Usage []UsageBreakdown `json:"usage,omitempty"`
}

// UsageBreakdown is the usage of one origin and endpoint in a period.
type UsageBreakdown struct {
	Origin   string `json:"origin"`
	Endpoint string `json:"endpoint"`
	Debited  string `json:"debited"`
	Debits   int64  `json:"debits"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// ConsumptionReportOptions are the query parameters of a consumption report.
type ConsumptionReportOptions struct {
	metav1.TypeMeta `json:",inline"`
	// From is the start of the window (RFC 3339); default: 30 days before To.
	// +optional
	From *metav1.Time `json:"from,omitempty"`
	// To is the end of the window, exclusive (RFC 3339); default: now.
	// The window is at most 366 days.
	// +optional
	To *metav1.Time `json:"to,omitempty"`
	// GroupBy is hour, day (default), week or month.
	// +optional
	GroupBy string `json:"groupBy,omitempty"`
	// Origin keeps only usage from this origin.
	// +optional
	Origin string `json:"origin,omitempty"`
	// Endpoint keeps only usage of this endpoint.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Format is json (default) or csv: a text/csv attachment with one row
	// per ledger entry in the window, streamed.
	// +optional
	Format string `json:"format,omitempty"`
}

// TransactionEntry is one ledger entry.
type TransactionEntry struct {
	// ID is the entry's stable identifier (wtx_...).
	ID string `json:"id"`
	// Sequence is the entry's position in the wallet's ledger.
	Sequence int64 `json:"sequence"`
	// Type is grant, debit, void, refund, expiry, adjustment or settlement.
	Type string `json:"type"`
	// Status is pending, settled or failed.
	Status string `json:"status"`
	// Credits is the signed effect on the balance (a grant: its credits).
	Credits string `json:"credits"`
	// +optional
	Paid string `json:"paid,omitempty"`
	// +optional
	Granted string `json:"granted,omitempty"`
	// BalanceAfter is the wallet's balance right after this entry.
	BalanceAfter string `json:"balanceAfter"`
	// +optional
	Origin string `json:"origin,omitempty"`
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// Reference is the idempotency key of the entry this one refers to.
	// +optional
	Reference string `json:"reference,omitempty"`
	// IdempotencyKey is the key the entry was written with.
	IdempotencyKey string `json:"idempotencyKey"`
	// +optional
	Description string `json:"description,omitempty"`
	// Timestamp is the event time (for usage: when it was used).
	Timestamp metav1.Time `json:"timestamp"`
	// AppliedAt is when the ledger recorded it.
	AppliedAt metav1.Time `json:"appliedAt"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Transaction is one entry of a wallet's ledger history. Its name is the
// entry's ID.
type Transaction struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Wallet is the Wallet's name.
	Wallet           string `json:"wallet"`
	TransactionEntry `json:",inline"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// TransactionList is a page of a wallet's history, newest first. List with
// fieldSelector wallet=<name> (required), and optionally type=<type> and
// status=<status>; limit at most 100, continue from metadata.continue.
type TransactionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Transaction `json:"items"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Payment is a top-up paid by a payment, a refund or a failed refund. Its
// name is the entry's ID.
type Payment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// Wallet is the Wallet's name.
	Wallet string `json:"wallet"`
	// Type is TopUp or Refund.
	Type string `json:"type"`
	// Status is pending, paid or failed.
	Status string `json:"status"`
	// Credits bought (a top-up) or given back (a refund, negative).
	Credits string `json:"credits"`
	// Amount is Credits times the wallet's rate, in Currency.
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	// TransactionID is the ledger entry's ID.
	TransactionID string `json:"transactionID"`
	// IdempotencyKey is the key the entry was written with.
	IdempotencyKey string `json:"idempotencyKey"`
	// Reference is, for a refund, the idempotency key of the top-up refunded.
	// +optional
	Reference string `json:"reference,omitempty"`
	// +optional
	Description string      `json:"description,omitempty"`
	CreatedAt   metav1.Time `json:"createdAt"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// PaymentList is a page of a wallet's payments, newest first. List with
// fieldSelector wallet=<name> (required) and optionally
// status=pending|paid|failed; limit at most 100.
type PaymentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Payment `json:"items"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Usage records one debit for metered usage, without a WalletTransaction.
// Creating the same idempotency key again returns the first result.
type Usage struct {
	metav1.TypeMeta `json:",inline"`
	// Name, if set and spec.idempotencyKey is not, is the idempotency key.
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              UsageSpec   `json:"spec"`
	Status            UsageStatus `json:"status,omitempty"`
}

// UsageSpec is one usage event.
type UsageSpec struct {
	// Wallet is the name of the Wallet in the same namespace.
	Wallet string `json:"wallet"`
	// Credits used: a positive decimal, at most 6 fractional digits.
	Credits billingv1alpha1.Amount `json:"credits"`
	// Origin of the usage, e.g. api_request (required).
	Origin string `json:"origin"`
	// Endpoint used, e.g. /v1/search.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
	// IdempotencyKey is unique per wallet; a repeat is a no-op. Defaults
	// to metadata.name.
	// +optional
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
	// Timestamp is when the usage happened (default: now); at most 366 days
	// ago and never in the future.
	// +optional
	Timestamp *metav1.Time `json:"timestamp,omitempty"`
	// +optional
	Description string `json:"description,omitempty"`
}

// UsageStatus is the ledger's answer.
type UsageStatus struct {
	// TransactionID is the ledger entry's stable ID.
	TransactionID string `json:"transactionID,omitempty"`
	// BalanceAfter is the wallet's balance right after the debit.
	BalanceAfter string `json:"balanceAfter,omitempty"`
	// +optional
	AppliedAt *metav1.Time `json:"appliedAt,omitempty"`
	// Replayed is true when the key had already been recorded: nothing new
	// was written and the first result is returned.
	Replayed bool `json:"replayed,omitempty"`
}

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// UsageBatch records many usage events in one request. Each event is
// applied on its own (its own idempotency key, its own refusal); events of
// one wallet are applied in the order given.
type UsageBatch struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              UsageBatchSpec   `json:"spec"`
	Status            UsageBatchStatus `json:"status,omitempty"`
}

// UsageBatchSpec carries the events.
type UsageBatchSpec struct {
	// Events to record, at most 10000; each needs an idempotencyKey.
	// +listType=atomic
	Events []UsageSpec `json:"events"`
}

// UsageBatchStatus counts the outcomes and gives one result per event, in
// the order of the events.
type UsageBatchStatus struct {
	Applied  int32 `json:"applied"`
	Replayed int32 `json:"replayed"`
	Refused  int32 `json:"refused"`
	// +listType=atomic
	Results []UsageResult `json:"results,omitempty"`
}

// UsageResult is the outcome of one event of a batch.
type UsageResult struct {
	IdempotencyKey string `json:"idempotencyKey"`
	// +optional
	TransactionID string `json:"transactionID,omitempty"`
	// +optional
	BalanceAfter string `json:"balanceAfter,omitempty"`
	// +optional
	Replayed bool `json:"replayed,omitempty"`
	// Reason is set when the event was refused: InsufficientBalance,
	// WalletTerminated, NotFound, NotApplicable, Conflict or Invalid.
	// +optional
	Reason string `json:"reason,omitempty"`
	// +optional
	Message string `json:"message,omitempty"`
}
