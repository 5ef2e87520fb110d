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
	"fmt"
	"regexp"
	"strings"
	"time"
	// TimeZone names load on machines and images without a tz database.
	_ "time/tzdata"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/walletop/wallet-operator/internal/money"
)

// The operator parses what admission let through with the grammar below, the
// same one the CRDs' rules state (TestRulesMatchTheGoGrammar checks the
// generated CRDs carry these very patterns). Whatever the API server accepts,
// these functions accept; a value stored before a rule existed fails here,
// for its own object only.

// UsageKeyPrefix starts the ledger's idempotency key of every usage event
// recorded through the reports API; no WalletTransaction key may start with
// it, so the two key spaces never meet.
const UsageKeyPrefix = "usage:"

// Bounds of the free-text fields, the same in the CRDs (checked by
// TestRulesMatchTheGoGrammar) and in the reports API's usage events.
const (
	MaxOriginLength      = 128
	MaxEndpointLength    = 256
	MaxDescriptionLength = 1024
	MaxKeyLength         = 253
)

// DurationPattern: hours, minutes and seconds in this order, each optional,
// decimals allowed ("720h", "1h30m", "1.5h", "720h0m0s"). The digit bounds
// keep the sum within Go's time.Duration.
const DurationPattern = `^([0-9]{1,6}([.][0-9]{1,9})?h)?([0-9]{1,7}([.][0-9]{1,9})?m)?([0-9]{1,9}([.][0-9]{1,9})?s)?$`

var durationRE = regexp.MustCompile(DurationPattern)

// DurationRule says in words what DurationPattern and the CRD rule accept.
const DurationRule = `must be a positive duration in hours, minutes and seconds, e.g. "720h" or "1h30m" (at most 999999h)`

// Duration is a length of time such as "720h" or "1h30m". It is kept as
// the string written, so that no stored value can fail to decode.
// +kubebuilder:validation:Type=string
// +kubebuilder:validation:MaxLength=32
// +kubebuilder:validation:XValidation:rule="self.size() > 0 && self.matches('^([0-9]{1,6}([.][0-9]{1,9})?h)?([0-9]{1,7}([.][0-9]{1,9})?m)?([0-9]{1,9}([.][0-9]{1,9})?s)?$') && duration(self) > duration('0s')",message="must be a positive duration in hours, minutes and seconds, e.g. \"720h\" or \"1h30m\" (at most 999999h)"
type Duration string

// Parse returns the duration, or an error saying what is accepted.
func (d Duration) Parse() (time.Duration, error) {
	s := string(d)
	if s == "" || !durationRE.MatchString(s) {
		return 0, fmt.Errorf("%q %s", s, DurationRule)
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q %s", s, DurationRule)
	}
	return v, nil
}

// Cron fields as robfig/cron reads them, bounded per field so that a value
// out of range is refused by the pattern itself.
const (
	cronMinute = `[0-5]?[0-9]`
	cronHour   = `[01]?[0-9]|2[0-3]`
	cronDom    = `0?[1-9]|[12][0-9]|3[01]`
	cronMonth  = `0?[1-9]|1[0-2]|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)`
	cronDow    = `0?[0-6]|(?i:sun|mon|tue|wed|thu|fri|sat)`
)

func cronField(v string) string {
	item := `([*?]|(` + v + `)(-(` + v + `))?)(/[1-9][0-9]?)?`
	return item + `(,` + item + `)*`
}

// SchedulePattern is the schedule grammar: one of the descriptors, or five
// fields (minute hour day-of-month month day-of-week) separated by single
// spaces, each a list of *, ?, N or N-M, each with an optional /step of 1
// to 99. The operator reads a schedule with its blanks folded first, as it
// always has; admission asks for single spaces.
var SchedulePattern = `^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|` +
	cronField(cronMinute) + ` ` + cronField(cronHour) + ` ` + cronField(cronDom) + ` ` +
	cronField(cronMonth) + ` ` + cronField(cronDow) + `)$`

var scheduleRE = regexp.MustCompile(SchedulePattern)

// Messages of the schedule's three rules (the CRD states the same words).
const (
	ScheduleSyntaxRule = `schedule must be five cron fields separated by single spaces (minute 0-59, hour 0-23, day of month 1-31, month 1-12 or JAN-DEC, day of week 0-6 or SUN-SAT; each a list of *, N or N-M with an optional /step of 1-99), e.g. "0 6 1 * *", or one of @yearly, @monthly, @weekly, @daily, @hourly`
	ScheduleRangeRule  = `schedule has a range whose start is after its end (e.g. 30-10): write the smaller value first`
	ScheduleNeverRule  = `schedule never fires: no month it allows has the day of month it asks for (e.g. 31 February); pick a day that exists or use the day of week`
)

var cronRange = regexp.MustCompile(`([0-9A-Za-z]+)-([0-9A-Za-z]+)`)

var cronNames = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6,
}

func cronValue(s string) int {
	if v, ok := cronNames[strings.ToLower(s)]; ok {
		return v
	}
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

// ParseSchedule checks a rule's schedule and time zone as admission does
// and returns the schedule. A schedule with no next time is an error: it
// would otherwise be due at once, every time.
func ParseSchedule(schedule string, tz *TimeZone, now time.Time) (cron.Schedule, error) {
	spec := strings.Join(strings.Fields(schedule), " ")
	if !scheduleRE.MatchString(spec) {
		return nil, fmt.Errorf("%q: %s", schedule, ScheduleSyntaxRule)
	}
	for _, m := range cronRange.FindAllStringSubmatch(schedule, -1) {
		if cronValue(m[1]) > cronValue(m[2]) {
			return nil, fmt.Errorf("%q: %s", schedule, ScheduleRangeRule)
		}
	}
	loc := time.UTC
	if tz != nil && *tz != "" {
		var err error
		if loc, err = tz.Location(); err != nil {
			return nil, err
		}
	}
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", schedule, err)
	}
	if ss, ok := s.(*cron.SpecSchedule); ok {
		ss.Location = loc
	}
	if s.Next(now).IsZero() {
		return nil, fmt.Errorf("%q: %s", schedule, ScheduleNeverRule)
	}
	return s, nil
}

// Location returns the time zone, if the name is one admission accepts.
func (z TimeZone) Location() (*time.Location, error) {
	if _, ok := timeZoneNames[string(z)]; !ok {
		return nil, fmt.Errorf("timeZone %q is not an IANA time zone name such as \"Europe/Paris\" or \"UTC\"", string(z))
	}
	loc, err := time.LoadLocation(string(z))
	if err != nil {
		return nil, fmt.Errorf("timeZone %q: %w", string(z), err)
	}
	return loc, nil
}

func amountErr(errs field.ErrorList, p *field.Path, v string) (money.Micros, field.ErrorList) {
	if v == "" {
		return 0, errs
	}
	m, err := money.Parse(v)
	if err != nil {
		return 0, append(errs, field.Invalid(p, v, err.Error()))
	}
	return m, errs
}

// Validate checks the parts of a rule the operator parses: its amounts,
// schedule, time zone and duration, and that a Target rule's numbers do
// not contradict each other.
func (r *AutoTopUpRule) Validate(p *field.Path, now time.Time) field.ErrorList {
	var errs field.ErrorList
	threshold, errs := amountErr(errs, p.Child("thresholdCredits"), string(r.ThresholdCredits))
	_, errs = amountErr(errs, p.Child("paidCredits"), string(r.PaidCredits))
	_, errs = amountErr(errs, p.Child("grantedCredits"), string(r.GrantedCredits))
	target, errs := amountErr(errs, p.Child("targetBalance"), string(r.TargetBalance))
	if len(errs) == 0 && r.Trigger == TriggerThreshold && r.Method == MethodTarget &&
		r.ThresholdCredits != "" && r.TargetBalance != "" && target <= threshold {
		errs = append(errs, field.Invalid(p.Child("targetBalance"), string(r.TargetBalance), TargetRule))
	}
	switch r.Trigger {
	case TriggerThreshold:
		if r.ThresholdCredits == "" {
			errs = append(errs, field.Required(p.Child("thresholdCredits"), "thresholdCredits is required when trigger is Threshold"))
		}
	case TriggerSchedule:
		if _, err := ParseSchedule(r.Schedule, r.TimeZone, now); err != nil {
			errs = append(errs, field.Invalid(p.Child("schedule"), r.Schedule, err.Error()))
		}
	default:
		errs = append(errs, field.NotSupported(p.Child("trigger"), r.Trigger, []string{string(TriggerThreshold), string(TriggerSchedule)}))
	}
	switch r.Method {
	case MethodFixed, MethodTarget:
	default:
		errs = append(errs, field.NotSupported(p.Child("method"), r.Method, []string{string(MethodFixed), string(MethodTarget)}))
	}
	if r.GrantExpiresAfter != nil {
		if _, err := r.GrantExpiresAfter.Parse(); err != nil {
			errs = append(errs, field.Invalid(p.Child("grantExpiresAfter"), string(*r.GrantExpiresAfter), err.Error()))
		}
	}
	if r.Priority != nil && (*r.Priority < 0 || *r.Priority > 100) {
		errs = append(errs, field.Invalid(p.Child("priority"), *r.Priority, "must be between 0 and 100"))
	}
	return errs
}

// TargetRule is the message for a Threshold rule of method Target whose
// target is not above its threshold: it could never fire usefully.
const TargetRule = "targetBalance must be greater than thresholdCredits: the rule fires at or below thresholdCredits and tops the balance up to targetBalance"

// ValidateSpec checks what the operator parses of a Wallet, apart from its
// auto top-up rules (each checked on its own, so that one broken rule
// disables only itself).
func (w *Wallet) ValidateSpec() field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if w.DecodeError != "" {
		return append(errs, field.Invalid(p, field.OmitValueType{}, w.DecodeError))
	}
	rate, errs := amountErr(errs, p.Child("rate"), string(w.Spec.Rate))
	if w.Spec.Rate != "" && len(errs) == 0 && rate == 0 {
		errs = append(errs, field.Invalid(p.Child("rate"), string(w.Spec.Rate), "rate must be greater than zero"))
	}
	_, errs = amountErr(errs, p.Child("overdraftLimit"), string(w.Spec.OverdraftLimit))
	_, errs = amountErr(errs, p.Child("lowBalanceThreshold"), string(w.Spec.LowBalanceThreshold))
	return errs
}

// Validate checks everything the operator parses of a Wallet.
func (w *Wallet) Validate(now time.Time) field.ErrorList {
	errs := w.ValidateSpec()
	for i := range w.Spec.AutoTopUp {
		errs = append(errs, w.Spec.AutoTopUp[i].Validate(field.NewPath("spec", "autoTopUp").Index(i), now)...)
	}
	return errs
}

// Validate checks what the operator parses of a WalletTransaction.
func (t *WalletTransaction) Validate() field.ErrorList {
	var errs field.ErrorList
	p := field.NewPath("spec")
	if t.DecodeError != "" {
		return append(errs, field.Invalid(p, field.OmitValueType{}, t.DecodeError))
	}
	s := &t.Spec
	if ReservedKey(s.IdempotencyKey) {
		errs = append(errs, field.Invalid(p.Child("idempotencyKey"), s.IdempotencyKey, KeyRule))
	}
	_, errs = amountErr(errs, p.Child("paidCredits"), string(s.PaidCredits))
	_, errs = amountErr(errs, p.Child("grantedCredits"), string(s.GrantedCredits))
	_, errs = amountErr(errs, p.Child("credits"), string(s.Credits))
	if s.ExpiresAfter != nil {
		if _, err := s.ExpiresAfter.Parse(); err != nil {
			errs = append(errs, field.Invalid(p.Child("expiresAfter"), string(*s.ExpiresAfter), err.Error()))
		}
	}
	if s.Priority != nil && (*s.Priority < 0 || *s.Priority > 100) {
		errs = append(errs, field.Invalid(p.Child("priority"), *s.Priority, "must be between 0 and 100"))
	}
	switch s.Type {
	case TypeTopUp, TypeVoid, TypeRefund, TypeDebit, TypeAdjustment:
	default:
		errs = append(errs, field.NotSupported(p.Child("type"), s.Type, []string{"TopUp", "Void", "Refund", "Debit", "Adjustment"}))
	}
	return errs
}

// KeyRule is the message for an idempotency key in a reserved key space.
const KeyRule = `idempotencyKey must not start with usage:, expire:, repay: or settle: (reserved for usage recorded through the reports API and for the ledger's own entries)`

// reservedKey matches the key spaces no WalletTransaction may use: usage
// events' and the ledger's own entries' (expiries, repayments, settlements).
var reservedKey = regexp.MustCompile(ReservedKeyPattern)

// ReservedKeyPattern is the CRD rule's pattern (see reservedKey).
const ReservedKeyPattern = `^(usage|expire|repay|settle):`

// ReservedKey reports whether key lies in a reserved key space.
func ReservedKey(key string) bool { return reservedKey.MatchString(key) }
