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

// Package reports is the aggregated API server of reports.walletop.io: it
// reads balances, history, payments and consumption from the ledger and
// records usage debits in it. It knows the ledger; the ledger and the
// controllers know nothing of it.
package reports

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
)

var (
	// Scheme holds the reports API's types.
	Scheme = runtime.NewScheme()
	// Codecs serialises them.
	Codecs = serializer.NewCodecFactory(Scheme)
	// ParameterCodec decodes query parameters into the options types.
	ParameterCodec = runtime.NewParameterCodec(Scheme)
)

func init() {
	utilruntime.Must(reportsv1alpha1.AddToScheme(Scheme))
	utilruntime.Must(Scheme.SetVersionPriority(reportsv1alpha1.SchemeGroupVersion))
	metav1.AddToGroupVersion(Scheme, schema.GroupVersion{Version: "v1"})
	utilruntime.Must(Scheme.AddConversionFunc((*url.Values)(nil), (*reportsv1alpha1.BalanceOptions)(nil), func(a, b any, _ conversion.Scope) error {
		return balanceOptions(*a.(*url.Values), b.(*reportsv1alpha1.BalanceOptions))
	}))
	utilruntime.Must(Scheme.AddConversionFunc((*url.Values)(nil), (*reportsv1alpha1.ConsumptionReportOptions)(nil), func(a, b any, _ conversion.Scope) error {
		return consumptionOptions(*a.(*url.Values), b.(*reportsv1alpha1.ConsumptionReportOptions))
	}))
	utilruntime.Must(Scheme.AddConversionFunc((*url.Values)(nil), (*reportsv1alpha1.ForecastOptions)(nil), func(a, b any, _ conversion.Scope) error {
		return forecastOptions(*a.(*url.Values), b.(*reportsv1alpha1.ForecastOptions))
	}))
	for _, kind := range []string{"Transaction", "Payment"} {
		utilruntime.Must(Scheme.AddFieldLabelConversionFunc(reportsv1alpha1.SchemeGroupVersion.WithKind(kind), historyFieldLabel))
	}
}

// historyFieldLabel accepts the field selectors of transactions and payments.
func historyFieldLabel(label, value string) (string, string, error) {
	switch label {
	case "wallet", "type", "status", "metadata.namespace":
		return label, value, nil
	}
	return "", "", fmt.Errorf("field selector %q is not supported: use wallet=<name> (required), type=<type> and status=<status>", label)
}

// params checks that only known query parameters are present (a misspelt
// one would otherwise be ignored silently) and that none is repeated.
func params(v url.Values, known ...string) error {
	var unknown []string
	for k, vals := range v {
		if k == "pretty" {
			continue
		}
		found := false
		for _, x := range known {
			found = found || k == x
		}
		if !found {
			unknown = append(unknown, k)
		} else if len(vals) > 1 {
			return fmt.Errorf("query parameter %q is given %d times; give it once", k, len(vals))
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown query parameter(s) %s; known: %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
	}
	return nil
}

// parseTime accepts RFC 3339 (2026-03-01T00:00:00Z, fractions and offsets
// allowed) or a date (2026-03-01, midnight UTC).
func parseTime(name, s string) (*metav1.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return &metav1.Time{Time: t.UTC()}, nil
		}
	}
	return nil, fmt.Errorf("%s=%q is not a time: write RFC 3339 (2026-03-01T00:00:00Z) or a date (2026-03-01)", name, s)
}

func parseBool(name, s string) (bool, error) {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean: write true or false", name, s)
	}
	return b, nil
}

func balanceOptions(v url.Values, o *reportsv1alpha1.BalanceOptions) error {
	if err := params(v, "at", "includeGrants", "includeLedger"); err != nil {
		return err
	}
	var err error
	if s := v.Get("at"); s != "" {
		if o.At, err = parseTime("at", s); err != nil {
			return err
		}
	}
	if s := v.Get("includeGrants"); s != "" {
		if o.IncludeGrants, err = parseBool("includeGrants", s); err != nil {
			return err
		}
	}
	if s := v.Get("includeLedger"); s != "" {
		if o.IncludeLedger, err = parseBool("includeLedger", s); err != nil {
			return err
		}
	}
	return nil
}

func consumptionOptions(v url.Values, o *reportsv1alpha1.ConsumptionReportOptions) error {
	if err := params(v, "from", "to", "groupBy", "origin", "endpoint", "format"); err != nil {
		return err
	}
	var err error
	if s := v.Get("from"); s != "" {
		if o.From, err = parseTime("from", s); err != nil {
			return err
		}
	}
	if s := v.Get("to"); s != "" {
		if o.To, err = parseTime("to", s); err != nil {
			return err
		}
	}
	o.GroupBy, o.Origin, o.Endpoint, o.Format = v.Get("groupBy"), v.Get("origin"), v.Get("endpoint"), v.Get("format")
	return nil
}
