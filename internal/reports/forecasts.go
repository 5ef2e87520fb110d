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

package reports

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
)

// Plans is what the reports server reads of the Wallet objects: what a
// wallet does by itself (its auto top-up rules and its end) for forecasts,
// and the operator's last forecast (status.runsOutAt) for the balances'
// RUNS OUT column. The operator serves it from its cache.
type Plans interface {
	Plan(ctx context.Context, namespace, name string, now time.Time) (ledger.ForecastPlan, error)
	// Runway returns status.runsOutAt and status.forecastTime (zero: unset).
	Runway(ctx context.Context, namespace, name string) (runsOutAt, forecastTime time.Time, err error)
}

// forecastREST serves forecasts: a get with options, JSON or CSV.
type forecastREST struct {
	store ledger.Reader
	plans Plans
	now   func() time.Time
	tabler
}

var (
	_ rest.GetterWithOptions    = &forecastREST{}
	_ rest.Scoper               = &forecastREST{}
	_ rest.SingularNameProvider = &forecastREST{}
)

func newForecastREST(store ledger.Reader, plans Plans, now func() time.Time) *forecastREST {
	return &forecastREST{store: store, plans: plans, now: now, tabler: tabler{
		columns: columns("Wallet", "Currency", "Available", "Rate Per Day", "Runs Out", "Days", "Window"),
		cells: func(o runtime.Object) []any {
			f, ok := o.(*reportsv1alpha1.Forecast)
			if !ok {
				return []any{"", "", "", "", "", "", ""}
			}
			return []any{f.Name, f.Currency, f.Available, f.RatePerDay, runsOutCell(f.RunsOutAt, &f.At), len(f.Days), f.Window}
		},
	}}
}

func (r *forecastREST) New() runtime.Object     { return &reportsv1alpha1.Forecast{} }
func (r *forecastREST) Destroy()                {}
func (r *forecastREST) NamespaceScoped() bool   { return true }
func (r *forecastREST) GetSingularName() string { return "forecast" }
func (r *forecastREST) NewGetOptions() (runtime.Object, bool, string) {
	return &reportsv1alpha1.ForecastOptions{}, false, ""
}

// runsOutCell is a date, "none" once a forecast found none, or "unknown"
// before any forecast.
func runsOutCell(runsOut, forecastTime *metav1.Time) string {
	switch {
	case runsOut != nil:
		return timeCell(runsOut)
	case forecastTime != nil:
		return "none"
	}
	return "unknown"
}

// forecastRequest checks the options; the 400 names the parameter.
func forecastRequest(wallet string, o *reportsv1alpha1.ForecastOptions) (ledger.ForecastRequest, error) {
	req := ledger.ForecastRequest{Wallet: wallet, Days: int(o.Days)}
	if o.Days < 0 || o.Days > ledger.MaxForecastDays {
		return req, fmt.Errorf("days=%d: a forecast covers 1 to %d days", o.Days, ledger.MaxForecastDays)
	}
	if o.Window != "" {
		d, err := time.ParseDuration(o.Window)
		if err != nil || d < time.Hour || d > ledger.MaxForecastWindow || d%time.Hour != 0 {
			return req, fmt.Errorf("window=%q: give whole hours from 1h to %dh (default 168h, the last 7 days)", o.Window, int(ledger.MaxForecastWindow.Hours()))
		}
		req.Window = d
	}
	switch o.Format {
	case "", "json", "csv":
	default:
		return req, fmt.Errorf("format=%q is not known: use json or csv", o.Format)
	}
	return req, nil
}

// Get forecasts the wallet with the plan its Wallet object gives.
func (r *forecastREST) Get(ctx context.Context, name string, options runtime.Object) (runtime.Object, error) {
	opts, ok := options.(*reportsv1alpha1.ForecastOptions)
	if !ok {
		return nil, fmt.Errorf("unexpected options %T", options)
	}
	ns := genericapirequest.NamespaceValue(ctx)
	req, err := forecastRequest(billingv1alpha1.LedgerWalletName(ns, name), opts)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	if r.plans != nil {
		if req.Plan, err = r.plans.Plan(ctx, ns, name, r.now()); err != nil {
			return nil, apierrors.NewInternalError(fmt.Errorf("reading Wallet %s/%s: %w", ns, name, err))
		}
	}
	fc, err := r.store.Forecast(ctx, req)
	if err != nil {
		return nil, apiError(err, name)
	}
	out := forecastObject(ns, name, fc)
	if opts.Format == "csv" {
		return forecastCSV(out)
	}
	return out, nil
}

func forecastObject(ns, name string, fc ledger.Forecast) *reportsv1alpha1.Forecast {
	out := &reportsv1alpha1.Forecast{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Currency:   fc.Currency, At: mt(fc.At), Window: fmt.Sprintf("%dh", int(fc.Window.Hours())), RatePerDay: fc.PerDay.String(),
		Available: fc.Available.String(), Debt: fc.Debt.String(), Floor: fc.Floor.String(), WalletEnds: fc.Ends,
	}
	if !fc.RunsOutAt.IsZero() {
		t := mt(fc.RunsOutAt)
		out.RunsOutAt = &t
	}
	for _, r := range fc.Rates {
		out.Rates = append(out.Rates, reportsv1alpha1.ForecastRate{Origin: r.Origin, Endpoint: r.Endpoint, PerDay: r.PerDay.String()})
	}
	for _, d := range fc.Days {
		out.Days = append(out.Days, reportsv1alpha1.ForecastDay{Start: mt(d.Start), End: mt(d.End), Consumed: d.Consumed.String(), Unserved: d.Unserved.String(),
			ToppedUp: d.ToppedUp.String(), Expired: d.Expired.String(), Available: d.Available.String(), Debt: d.Debt.String()})
	}
	return out
}

// ForecastCSVHeader is the first row of a forecast's CSV: one row per day.
var ForecastCSVHeader = []string{"start", "end", "consumed", "unserved", "topped_up", "expired", "available", "debt", "currency"}

// forecastCSV renders the days (at most 90 rows: built in memory).
func forecastCSV(f *reportsv1alpha1.Forecast) (runtime.Object, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(ForecastCSVHeader)
	for _, d := range f.Days {
		_ = w.Write([]string{timeCell(&d.Start), timeCell(&d.End), d.Consumed, d.Unserved, d.ToppedUp, d.Expired, d.Available, d.Debt, f.Currency})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	return &csvBytes{data: buf.Bytes()}, nil
}

// csvBytes is a small CSV answer the API server streams as it is.
type csvBytes struct {
	metav1.TypeMeta
	data []byte
}

var _ rest.ResourceStreamer = &csvBytes{}

func (c *csvBytes) GetObjectKind() schema.ObjectKind { return &c.TypeMeta }
func (c *csvBytes) DeepCopyObject() runtime.Object   { cp := *c; return &cp }

func (c *csvBytes) InputStream(context.Context, string, string) (io.ReadCloser, bool, string, error) {
	return io.NopCloser(bytes.NewReader(c.data)), false, "text/csv; charset=utf-8", nil
}

func forecastOptions(v url.Values, o *reportsv1alpha1.ForecastOptions) error {
	if err := params(v, "days", "window", "format"); err != nil {
		return err
	}
	if s := v.Get("days"); s != "" {
		n, err := strconv.ParseInt(s, 10, 32)
		if err != nil || n < 1 {
			return fmt.Errorf("days=%q: give a whole number of days from 1 to %d", s, ledger.MaxForecastDays)
		}
		o.Days = int32(n)
	}
	o.Window, o.Format = v.Get("window"), v.Get("format")
	return nil
}
