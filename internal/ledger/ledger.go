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

// Package ledger is the credit ledger: append-only entries, credit blocks
// ("grants") and per-wallet balance snapshots, kept exact (int64
// micro-credits), atomic (one database transaction per operation) and
// idempotent (one key per operation and wallet). It knows nothing of
// Kubernetes.
//
// Rules (docs/design.md, "The ledger"):
//   - available balance = remaining credits of settled grants that are
//     effective and unexpired, minus debt;
//   - debits, voids without a grant and negative adjustments draw grants in
//     drawdown order: priority ascending, then soonest expiry (never last),
//     then granted before paid, then oldest;
//   - a debit beyond the eligible grants becomes debt, allowed up to the
//     wallet's overdraft limit; the next grant to become available repays
//     debt first;
//   - a repeat of an idempotency key returns the first result; the same key
//     with another payload is ErrConflict; a refused operation writes nothing.
package ledger

import (
	"context"
	"errors"
	"time"

	"github.com/walletop/wallet-operator/internal/money"
)

// Errors. Refusals write nothing.
var (
	ErrInsufficientBalance = errors.New("insufficient balance")
	ErrConflict            = errors.New("idempotency key already used with a different payload")
	ErrWalletNotFound      = errors.New("wallet not found")
	ErrWalletTerminated    = errors.New("wallet is terminated")
	ErrNotFound            = errors.New("not found")
	ErrInvalid             = errors.New("invalid request")
	ErrNotApplicable       = errors.New("wallet does not pay for this usage")
)

// Clock gives the current time; tests inject their own.
type Clock interface{ Now() time.Time }

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// Category of credit.
type Category string

// Categories.
const (
	Paid    Category = "paid"
	Granted Category = "granted"
)

// Status of an entry, a grant or a payment.
type Status string

// Statuses.
const (
	StatusPending Status = "pending"
	StatusSettled Status = "settled"
	StatusFailed  Status = "failed"
	StatusExpired Status = "expired" // grants only
)

// EntryType is the kind of a ledger entry.
type EntryType string

// Entry types.
const (
	EntryTopUp      EntryType = "grant" // a top-up's entry: it opens grants (the name stored and served)
	EntryDebit      EntryType = "debit"
	EntryVoid       EntryType = "void"
	EntryRefund     EntryType = "refund"
	EntryExpiry     EntryType = "expiry"
	EntryAdjustment EntryType = "adjustment"
	// EntrySettlement records a pending payment becoming paid (credits
	// become available) or failed (a grant's credits never count; a
	// refund's credits come back).
	EntrySettlement EntryType = "settlement"
)

// AppliesTo restricts usage by origin and endpoint; empty means any.
type AppliesTo struct {
	Origins   []string `json:"origins,omitempty"`
	Endpoints []string `json:"endpoints,omitempty"`
}

// Matches reports whether usage from origin/endpoint is allowed.
func (a AppliesTo) Matches(origin, endpoint string) bool {
	return inOrEmpty(a.Origins, origin) && inOrEmpty(a.Endpoints, endpoint)
}

func inOrEmpty(list []string, v string) bool {
	if len(list) == 0 {
		return true
	}
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// WalletSpec opens (or updates the mutable settings of) a wallet.
type WalletSpec struct {
	Wallet         string       // unique name, e.g. "team-a/main"
	Currency       string       // immutable
	Rate           money.Micros // money per credit, immutable
	OverdraftLimit money.Micros // mutable
	AppliesTo      AppliesTo    // mutable
}

// TopUpRequest adds paid and/or granted credits: a grant of each category
// that has credits.
type TopUpRequest struct {
	Wallet      string
	Key         string
	Paid        money.Micros
	Granted     money.Micros
	Priority    int        // 0-100, lower drawn first; use DefaultPriority
	EffectiveAt time.Time  // zero: now
	ExpiresAt   *time.Time // nil: never
	AppliesTo   AppliesTo
	// Payment backing the grant: none, pending (the credits count only in
	// pending until SettlePayment marks them paid) or paid.
	Payment     Payment
	Source      string
	Description string
}

// Payment is the payment state of a grant request.
type Payment string

// Payment states of a grant request.
const (
	PaymentNone    Payment = ""
	PaymentPending Payment = "pending"
	PaymentPaid    Payment = "paid"
)

// DefaultPriority of a grant.
const DefaultPriority = 50

// DebitRequest consumes credits for usage.
type DebitRequest struct {
	Wallet    string
	Key       string
	Credits   money.Micros
	Origin    string
	Endpoint  string
	Timestamp time.Time // zero: now; at most 366 days old, never in the future
	// Description is kept with the entry.
	Description string
}

// VoidRequest removes credits, from one grant (GrantKey) or in drawdown order.
type VoidRequest struct {
	Wallet      string
	Key         string
	Credits     money.Micros
	GrantKey    string // key of the grant entry; empty: drawdown order
	Description string
}

// RefundRequest returns paid credits of one grant to the payer.
type RefundRequest struct {
	Wallet      string
	Key         string
	Credits     money.Micros
	GrantKey    string // key of the grant entry (required)
	Payment     Status // pending, settled (paid) or failed
	Description string
}

// AdjustRequest corrects the balance by a signed amount.
type AdjustRequest struct {
	Wallet  string
	Key     string
	Credits money.Micros // non-zero; positive adds granted credits
	Reason  string
}

// Result is what a write did (or, on a repeat, what it first did).
type Result struct {
	EntryID      string // "wtx_..." stable for (wallet, key)
	Seq          int64
	Status       Status
	BalanceAfter money.Micros
	AppliedAt    time.Time
	// Replayed is true when the key had been applied before and nothing
	// was written now.
	Replayed bool
}

// Balance of a wallet.
type Balance struct {
	Wallet         string
	Currency       string
	Rate           money.Micros
	Available      money.Micros // paid + granted - debt
	Paid           money.Micros
	Granted        money.Micros
	Debt           money.Micros
	Pending        money.Micros
	NextExpiration *Expiration
	// NextChange is when the available balance next changes by itself (a
	// grant becomes effective or expires); zero if never.
	NextChange time.Time
	// Due is true when an expiry or an activation has come due since the
	// last write and is not written yet: ExpireDue writes it.
	Due        bool
	Sequence   int64
	Terminated bool
	ComputedAt time.Time
}

// Expiration is the next batch of credits due to expire.
type Expiration struct {
	At      time.Time
	Credits money.Micros
}

// Grant is a credit block.
type Grant struct {
	ID          int64
	Key         string // key of the entry that created it
	Category    Category
	Original    money.Micros
	Remaining   money.Micros
	Priority    int
	EffectiveAt time.Time
	ExpiresAt   *time.Time
	AppliesTo   AppliesTo
	Status      Status
	CreatedAt   time.Time
}

// Entry is one line of a wallet's history.
type Entry struct {
	ID           string
	Wallet       string
	Seq          int64
	Key          string
	Type         EntryType
	Status       Status
	Credits      money.Micros // signed effect on available (a grant: its credits)
	Paid         money.Micros // grant entries: paid part
	Granted      money.Micros // grant entries: granted part
	Origin       string
	Endpoint     string
	Ref          string // key of the entry this one refers to (void/refund grant, settlement target)
	Payment      bool   // a grant backed by a payment, or a refund
	Description  string
	Timestamp    time.Time // event time (debits: usage time)
	AppliedAt    time.Time
	BalanceAfter money.Micros
}

// EntryQuery pages through history newest first.
type EntryQuery struct {
	Wallet   string
	Types    []EntryType
	Statuses []Status
	Limit    int    // 1-1000, default 100
	Cursor   string // from the previous page's Next
	// From and To bound the entries' event time to [From, To); zero: unbounded.
	From, To time.Time
	Origin   string // optional filter
	Endpoint string // optional filter
	// Oldest pages oldest first (seq ascending) instead of newest first.
	Oldest bool
}

// EntryPage is one page of history.
type EntryPage struct {
	Entries []Entry
	Next    string // empty on the last page
}

// GroupBy is the period of a consumption report.
type GroupBy string

// Periods.
const (
	Hour  GroupBy = "hour"
	Day   GroupBy = "day"
	Week  GroupBy = "week" // ISO weeks, Monday 00:00 UTC
	Month GroupBy = "month"
)

// MaxReportWindow is the longest consumption report window.
const MaxReportWindow = 366 * 24 * time.Hour

// ConsumptionQuery asks for debits and credits between From and To.
type ConsumptionQuery struct {
	Wallet   string
	From, To time.Time // [From, To), truncated to the hour
	GroupBy  GroupBy
	Origin   string // optional filter
	Endpoint string // optional filter
}

// Usage is a total for one origin/endpoint pair in one period.
type Usage struct {
	Origin   string
	Endpoint string
	Debited  money.Micros
	Count    int64
}

// Period of a consumption report.
type Period struct {
	Start, End time.Time
	Debited    money.Micros // usage debits
	Credited   money.Micros // grants, positive adjustments, restored refunds
	Removed    money.Micros // voids, refunds, expiries, negative adjustments
	Usage      []Usage      // debits broken out by origin and endpoint
}

// VerifyReport says what Verify checked.
type VerifyReport struct {
	Wallets  int
	Entries  int64
	Grants   int64
	Rollups  int64
	Problems []string
}

// Store is the ledger. Every write is one atomic, idempotent transaction.
// Callers take the narrower interfaces below, each what one of them uses.
type Store interface {
	Writer
	Reader
	UsageRecorder
	Admin
}

// Writer is what the controllers use: a wallet's lifecycle, the writes
// WalletTransactions make, and the reads that decide them.
type Writer interface {
	OpenWallet(ctx context.Context, spec WalletSpec) error
	Terminate(ctx context.Context, wallet string) (Result, error)

	// TopUp adds credits: one grant per category with credits.
	TopUp(ctx context.Context, req TopUpRequest) (Result, error)
	// SettlePayment marks the pending payment of a top-up or refund entry
	// (by its key) paid (StatusSettled) or failed.
	SettlePayment(ctx context.Context, wallet, key string, status Status) (Result, error)
	Debit(ctx context.Context, req DebitRequest) (Result, error)
	Void(ctx context.Context, req VoidRequest) (Result, error)
	Refund(ctx context.Context, req RefundRequest) (Result, error)
	Adjust(ctx context.Context, req AdjustRequest) (Result, error)
	// ExpireDue writes an expiry entry for every grant of the wallet whose
	// expiry is due, and makes due grants effective (repaying debt).
	ExpireDue(ctx context.Context, wallet string) (int, error)

	Balance(ctx context.Context, wallet string) (Balance, error)
	// Entry returns the entry with this idempotency key, or ErrNotFound.
	Entry(ctx context.Context, wallet, key string) (Entry, error)

	// Changes receives, after each commit of this process, the names of
	// the wallets it wrote (coalesced while nobody reads; never blocking).
	Changes() <-chan []string
}

// Reader is what the reports API reads.
type Reader interface {
	Balance(ctx context.Context, wallet string) (Balance, error)
	BalanceAt(ctx context.Context, wallet string, at time.Time) (Balance, error)
	Grants(ctx context.Context, wallet string) ([]Grant, error)
	Entries(ctx context.Context, q EntryQuery) (EntryPage, error)
	Payments(ctx context.Context, q EntryQuery) (EntryPage, error)
	Consumption(ctx context.Context, q ConsumptionQuery) ([]Period, error)
	// Wallets lists the names of the wallets that start with prefix
	// (terminated ones included), in name order.
	Wallets(ctx context.Context, prefix string) ([]string, error)
	// Preview judges a debit, void, refund or adjustment by the ledger's own
	// rules on a copy of the wallet: what it would draw, or its refusal.
	Preview(ctx context.Context, req PreviewRequest) (Preview, error)
	// Forecast plays a copy of the wallet forward at its recent usage rate
	// (ForecastRequest): its runway, day by day.
	Forecaster
}

// UsageRecorder records metered usage (the reports API's usages).
type UsageRecorder interface {
	Debit(ctx context.Context, req DebitRequest) (Result, error)
	// DebitBatch applies many debits, each on its own as Debit would, in
	// order per wallet, sharing commits; results and errors follow reqs.
	DebitBatch(ctx context.Context, reqs []DebitRequest) ([]Result, []error)
	// DryRunDebits answers what DebitBatch would (a replay, a result, a
	// refusal) on a copy of each wallet: nothing is written.
	DryRunDebits(ctx context.Context, reqs []DebitRequest) ([]Result, []error)
}

// Admin is what the process that owns the ledger and `ledger verify` use.
type Admin interface {
	Verify(ctx context.Context) (VerifyReport, error)
	Close() error
}
