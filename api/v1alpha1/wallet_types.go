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

// WalletPhase is the life-cycle phase of a Wallet.
// +kubebuilder:validation:Enum=Active;Terminated;Expired
type WalletPhase string

// Wallet phases.
const (
	WalletActive     WalletPhase = "Active"
	WalletTerminated WalletPhase = "Terminated"
	WalletExpired    WalletPhase = "Expired"
)

// AutoTopUpTrigger says when an auto top-up rule fires.
// +kubebuilder:validation:Enum=Threshold;Schedule
type AutoTopUpTrigger string

// Auto top-up triggers.
const (
	// TriggerThreshold fires once each time the available balance falls to
	// or below thresholdCredits.
	TriggerThreshold AutoTopUpTrigger = "Threshold"
	// TriggerSchedule fires on a cron schedule.
	TriggerSchedule AutoTopUpTrigger = "Schedule"
)

// AutoTopUpMethod says how much an auto top-up rule adds.
// +kubebuilder:validation:Enum=Fixed;Target
type AutoTopUpMethod string

// Auto top-up methods.
const (
	// MethodFixed adds paidCredits and/or grantedCredits.
	MethodFixed AutoTopUpMethod = "Fixed"
	// MethodTarget adds what brings the available balance up to targetBalance.
	MethodTarget AutoTopUpMethod = "Target"
)

// CreditCategory is paid or granted credit.
// +kubebuilder:validation:Enum=Paid;Granted
type CreditCategory string

// Credit categories.
const (
	CategoryPaid    CreditCategory = "Paid"
	CategoryGranted CreditCategory = "Granted"
)

// AutoTopUpRule tops a wallet up automatically. A fired rule creates a
// WalletTransaction of type TopUp owned by the Wallet.
// +kubebuilder:validation:XValidation:rule="self.trigger != 'Threshold' || has(self.thresholdCredits)",message="thresholdCredits is required when trigger is Threshold",fieldPath=".thresholdCredits"
// +kubebuilder:validation:XValidation:rule="self.trigger == 'Threshold' || !has(self.thresholdCredits)",message="thresholdCredits is allowed only when trigger is Threshold",fieldPath=".thresholdCredits"
// +kubebuilder:validation:XValidation:rule="self.trigger != 'Schedule' || has(self.schedule)",message="schedule is required when trigger is Schedule",fieldPath=".schedule"
// +kubebuilder:validation:XValidation:rule="self.trigger == 'Schedule' || (!has(self.schedule) && !has(self.timeZone))",message="schedule and timeZone are allowed only when trigger is Schedule",fieldPath=".schedule"
// +kubebuilder:validation:XValidation:rule="self.method != 'Fixed' || (has(self.paidCredits) && (type(self.paidCredits) == int ? self.paidCredits > 0 : !self.paidCredits.matches('^[0.]+$'))) || (has(self.grantedCredits) && (type(self.grantedCredits) == int ? self.grantedCredits > 0 : !self.grantedCredits.matches('^[0.]+$')))",message="method Fixed needs paidCredits or grantedCredits greater than zero"
// +kubebuilder:validation:XValidation:rule="self.method == 'Fixed' || (!has(self.paidCredits) && !has(self.grantedCredits))",message="paidCredits and grantedCredits are allowed only when method is Fixed; use targetBalance with method Target"
// +kubebuilder:validation:XValidation:rule="self.method != 'Target' || has(self.targetBalance)",message="targetBalance is required when method is Target",fieldPath=".targetBalance"
// +kubebuilder:validation:XValidation:rule="self.method == 'Target' || (!has(self.targetBalance) && !has(self.targetCategory))",message="targetBalance and targetCategory are allowed only when method is Target",fieldPath=".targetBalance"
// +kubebuilder:validation:XValidation:rule="!(self.trigger == 'Threshold' && self.method == 'Target' && has(self.thresholdCredits) && has(self.targetBalance)) || !isQuantity(string(self.targetBalance)) || !isQuantity(string(self.thresholdCredits)) || quantity(string(self.targetBalance)).compareTo(quantity(string(self.thresholdCredits))) > 0",message="targetBalance must be greater than thresholdCredits: the rule fires at or below thresholdCredits and tops the balance up to targetBalance",fieldPath=".targetBalance"
type AutoTopUpRule struct {
	// Name identifies the rule; it labels the transactions the rule creates.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=40
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Trigger is Threshold (available balance at or below thresholdCredits)
	// or Schedule (a cron schedule).
	Trigger AutoTopUpTrigger `json:"trigger"`

	// ThresholdCredits: the rule fires once each time the available balance
	// falls to or below this. Required for trigger Threshold.
	// +optional
	ThresholdCredits Amount `json:"thresholdCredits,omitempty"`

	// Schedule in cron format, as for a CronJob ("0 6 1 * *" or "@monthly").
	// Required for trigger Schedule.
	// +optional
	// +kubebuilder:validation:MaxLength=100
	// +kubebuilder:validation:XValidation:rule="!self.matches('^\\\\s*(CRON_)?TZ=')",message="do not put a time zone in schedule; use timeZone"
	// +kubebuilder:validation:XValidation:rule="self.matches('^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([*?]|([0-5]?[0-9])(-([0-5]?[0-9]))?)(/[1-9][0-9]?)?(,([*?]|([0-5]?[0-9])(-([0-5]?[0-9]))?)(/[1-9][0-9]?)?)* ([*?]|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3]))?)(/[1-9][0-9]?)?(,([*?]|([01]?[0-9]|2[0-3])(-([01]?[0-9]|2[0-3]))?)(/[1-9][0-9]?)?)* ([*?]|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01]))?)(/[1-9][0-9]?)?(,([*?]|(0?[1-9]|[12][0-9]|3[01])(-(0?[1-9]|[12][0-9]|3[01]))?)(/[1-9][0-9]?)?)* ([*?]|(0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(-(0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(/[1-9][0-9]?)?(,([*?]|(0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))(-(0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)))?)(/[1-9][0-9]?)?)* ([*?]|(0?[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(-(0?[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(/[1-9][0-9]?)?(,([*?]|(0?[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat))(-(0?[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)))?)(/[1-9][0-9]?)?)*)$')",message="schedule must be five cron fields separated by single spaces (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT; each a list of *, N or N-M with an optional /step of 1-99), e.g. \"0 6 1 * *\", or one of @yearly, @monthly, @weekly, @daily, @hourly"
	// +kubebuilder:validation:XValidation:rule="[{'jan':1,'feb':2,'mar':3,'apr':4,'may':5,'jun':6,'jul':7,'aug':8,'sep':9,'oct':10,'nov':11,'dec':12,'sun':0,'mon':1,'tue':2,'wed':3,'thu':4,'fri':5,'sat':6}].all(n, self.findAll('[0-9A-Za-z]+-[0-9A-Za-z]+').all(r, [(r.split('-')[0].matches('^[0-9]{1,2}$') ? int(r.split('-')[0]) : (r.split('-')[0].lowerAscii() in n ? n[r.split('-')[0].lowerAscii()] : -1))].all(a, [(r.split('-')[1].matches('^[0-9]{1,2}$') ? int(r.split('-')[1]) : (r.split('-')[1].lowerAscii() in n ? n[r.split('-')[1].lowerAscii()] : -1))].all(b, a < 0 || b < 0 || a <= b))))",message="schedule has a range whose start is after its end (e.g. 30-10): write the smaller value first"
	// +kubebuilder:validation:XValidation:rule="[{'jan':1,'feb':2,'mar':3,'apr':4,'may':5,'jun':6,'jul':7,'aug':8,'sep':9,'oct':10,'nov':11,'dec':12,'sun':0,'mon':1,'tue':2,'wed':3,'thu':4,'fri':5,'sat':6}].all(n, self.split(' ').size() != 5 || !(self.split(' ')[4].split(',').exists(i, i.matches('^[*?](/1)?$')) && self.split(' ')[2].matches('^3[01](-3[01])?(/[0-9]{1,2})?(,3[01](-3[01])?(/[0-9]{1,2})?)*$') && [self.split(' ')[2].matches('^31(-31)?(/[0-9]{1,2})?(,31(-31)?(/[0-9]{1,2})?)*$')].all(d31, self.split(' ')[3].split(',').all(i, [i.split('/').size() > 1 && i.split('/')[1].matches('^[0-9]{1,2}$') ? int(i.split('/')[1]) : 1].all(st, [i.split('/')[0].matches('^[*?]$') ? 1 : (i.split('/')[0].split('-')[0].matches('^[0-9]{1,2}$') ? int(i.split('/')[0].split('-')[0]) : (i.split('/')[0].split('-')[0].lowerAscii() in n ? n[i.split('/')[0].split('-')[0].lowerAscii()] : -1))].all(lo, [i.split('/')[0].matches('^[*?]$') ? 12 : (i.split('/')[0].contains('-') ? (i.split('/')[0].split('-')[1].matches('^[0-9]{1,2}$') ? int(i.split('/')[0].split('-')[1]) : (i.split('/')[0].split('-')[1].lowerAscii() in n ? n[i.split('/')[0].split('-')[1].lowerAscii()] : -1)) : (i.contains('/') ? 12 : lo))].all(hi, lo >= 1 && st >= 1 && [0,1,2,3,4,5,6,7,8,9,10,11].all(k, lo + k * st > hi || (lo + k * st) in (d31 ? [2,4,6,9,11] : [2])))))))))",message="schedule never fires: no month it allows has the day of month it asks for (e.g. 31 February); pick a day that exists or use the day of week"
	Schedule string `json:"schedule,omitempty"`

	// TimeZone of the schedule, an IANA name such as "Europe/Paris"; UTC if unset.
	// +optional
	TimeZone *TimeZone `json:"timeZone,omitempty"`

	// Method is Fixed (add paidCredits and/or grantedCredits) or Target (add
	// what brings the available balance up to targetBalance).
	Method AutoTopUpMethod `json:"method"`

	// PaidCredits added by a Fixed rule.
	// +optional
	PaidCredits Amount `json:"paidCredits,omitempty"`

	// GrantedCredits added by a Fixed rule.
	// +optional
	GrantedCredits Amount `json:"grantedCredits,omitempty"`

	// TargetBalance a Target rule tops the available balance up to.
	// +optional
	TargetBalance Amount `json:"targetBalance,omitempty"`

	// TargetCategory is the category of the credits a Target rule adds:
	// Paid (default) or Granted.
	// +optional
	TargetCategory CreditCategory `json:"targetCategory,omitempty"`

	// GrantExpiresAfter makes the credits this rule adds expire this long
	// after they are granted, e.g. "720h".
	// +optional
	GrantExpiresAfter *Duration `json:"grantExpiresAfter,omitempty"`

	// Priority of the credits this rule adds, 0-100, lower drawn first.
	// Default 50.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Priority *int32 `json:"priority,omitempty"`
}

// WalletSpec is what a platform team declares about a wallet.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.terminated) || !oldSelf.terminated || (has(self.terminated) && self.terminated)",message="terminated cannot be set back to false: termination is one way; create a new Wallet instead"
type WalletSpec struct {
	// Currency of the wallet's money, an ISO 4217 code such as "USD". Immutable.
	// +kubebuilder:validation:Pattern=`^[A-Z]{3}$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="currency is immutable"
	Currency string `json:"currency"`

	// Rate is the money one credit is worth (default "1"). Immutable.
	// +optional
	// +kubebuilder:default="1"
	// +kubebuilder:validation:XValidation:rule="type(self) == int ? self > 0 : !self.matches('^[0.]+$')",message="rate must be greater than zero"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="rate is immutable"
	Rate Amount `json:"rate,omitempty"`

	// ExpiresAt terminates the wallet at this time; remaining credits expire.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('1970-01-01T00:00:00Z')",message="must be an RFC 3339 time after 1970, e.g. \"2026-12-01T00:00:00Z\""
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`

	// Terminated ends the wallet: no further top-up or debit is accepted and
	// remaining credits expire; history stays readable. One way: once true it
	// can never become false.
	// +optional
	Terminated bool `json:"terminated,omitempty"`

	// OverdraftLimit is how far below zero debits may take the available
	// balance (default "0").
	// +optional
	// +kubebuilder:default="0"
	OverdraftLimit Amount `json:"overdraftLimit,omitempty"`

	// LowBalanceThreshold sets condition LowBalance (and emits an Event) when
	// the available balance is at or below it.
	// +optional
	LowBalanceThreshold Amount `json:"lowBalanceThreshold,omitempty"`

	// AppliesTo restricts which usage this wallet may pay for at all (empty:
	// everything). A grant's own appliesTo narrows it further.
	// +optional
	AppliesTo *AppliesTo `json:"appliesTo,omitempty"`

	// AutoTopUp rules, at most 5.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=5
	AutoTopUp []AutoTopUpRule `json:"autoTopUp,omitempty"`
}

// Expiration is the next batch of credits due to expire.
type Expiration struct {
	// At is when they expire.
	At metav1.Time `json:"at"`
	// Credits that expire then.
	Credits string `json:"credits"`
}

// Money is an exact amount of a currency.
type Money struct {
	// Amount, an exact decimal.
	Amount string `json:"amount"`
	// Currency, ISO 4217.
	Currency string `json:"currency"`
}

// AutoTopUpRuleStatus is the observed state of one auto top-up rule.
type AutoTopUpRuleStatus struct {
	// Name of the rule.
	Name string `json:"name"`
	// LastTriggeredAt is when the rule last fired.
	// +optional
	LastTriggeredAt *metav1.Time `json:"lastTriggeredAt,omitempty"`
	// NextScheduleTime is when a Schedule rule fires next.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// LastTransaction is the name of the WalletTransaction the rule last created.
	// +optional
	LastTransaction string `json:"lastTransaction,omitempty"`
	// Count is how many times the rule has fired; it numbers the
	// transactions it creates (<wallet>-<rule>-<count>).
	// +optional
	Count int64 `json:"count,omitempty"`
	// Armed is true when a Threshold rule may fire at the next crossing; it
	// disarms when it fires and re-arms once the balance is above the
	// threshold again.
	// +optional
	Armed bool `json:"armed,omitempty"`
}

// WalletStatus is the wallet as the ledger last saw it.
type WalletStatus struct {
	// Phase is Active, Terminated or Expired.
	// +optional
	Phase WalletPhase `json:"phase,omitempty"`
	// Balance is the available balance: settled, effective, unexpired credit
	// minus debt. It may be negative within the overdraft limit.
	// +optional
	Balance string `json:"balance,omitempty"`
	// PaidBalance is the available paid credit.
	// +optional
	PaidBalance string `json:"paidBalance,omitempty"`
	// GrantedBalance is the available granted (promotional) credit.
	// +optional
	GrantedBalance string `json:"grantedBalance,omitempty"`
	// PendingCredits are paid top-ups awaiting payment.
	// +optional
	PendingCredits string `json:"pendingCredits,omitempty"`
	// MoneyBalance is balance x rate in the wallet's currency.
	// +optional
	MoneyBalance *Money `json:"moneyBalance,omitempty"`
	// NextExpiration is the next batch of credits due to expire.
	// +optional
	NextExpiration *Expiration `json:"nextExpiration,omitempty"`
	// LastComputedAt is when the ledger computed this balance.
	// +optional
	LastComputedAt *metav1.Time `json:"lastComputedAt,omitempty"`
	// LedgerSequence is the ledger's sequence number for this wallet at
	// LastComputedAt; it grows with every entry.
	// +optional
	LedgerSequence int64 `json:"ledgerSequence,omitempty"`
	// RunsOutAt is when the wallet's usage is forecast to be first refused,
	// at its recent rate (trailing 7 days), with its expiries and auto
	// top-up rules; unset when that is not within 90 days.
	// +optional
	RunsOutAt *metav1.Time `json:"runsOutAt,omitempty"`
	// ForecastTime is when RunsOutAt was computed (at most once a minute).
	// +optional
	ForecastTime *metav1.Time `json:"forecastTime,omitempty"`
	// AutoTopUp is the state of each auto top-up rule.
	// +optional
	// +listType=map
	// +listMapKey=name
	AutoTopUp []AutoTopUpRuleStatus `json:"autoTopUp,omitempty"`
	// Conditions: Ready, LowBalance, LedgerSynced.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
}

// Wallet holds prepaid credits for a team or customer.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=wal,categories=billing
// +kubebuilder:printcolumn:name="Currency",type=string,JSONPath=`.spec.currency`
// +kubebuilder:printcolumn:name="Balance",type=string,JSONPath=`.status.balance`
// +kubebuilder:printcolumn:name="Paid",type=string,JSONPath=`.status.paidBalance`
// +kubebuilder:printcolumn:name="Granted",type=string,JSONPath=`.status.grantedBalance`
// +kubebuilder:printcolumn:name="Runs Out",type=string,JSONPath=`.status.runsOutAt`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Wallet struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   WalletSpec   `json:"spec"`
	Status WalletStatus `json:"status,omitempty"`

	// DecodeError names the spec fields whose stored values could not be
	// decoded (left out of Spec); never serialized.
	DecodeError string `json:"-"`
}

// WalletList is a list of Wallets.
// +kubebuilder:object:root=true
type WalletList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Wallet `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Wallet{}, &WalletList{})
}
