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
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
	"unicode"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/money"
)

// DefaultReportWindow is the window of a report that gives no from.
const DefaultReportWindow = 30 * 24 * time.Hour

// csvPageSize is how many entries the CSV export reads per query: memory
// stays bounded by it whatever the number of rows.
const csvPageSize = 1000

// consumptionREST serves consumption reports: a get with options, JSON or CSV.
type consumptionREST struct {
	store ledger.Reader
	now   func() time.Time
	tabler
}

func newConsumptionREST(store ledger.Reader, now func() time.Time) *consumptionREST {
	return &consumptionREST{store: store, now: now, tabler: tabler{
		columns: columns("Wallet", "From", "To", "Group By", "Debited", "Debits", "Credited", "Removed"),
		cells: func(o runtime.Object) []any {
			r, ok := o.(*reportsv1alpha1.ConsumptionReport)
			if !ok {
				return []any{"", "", "", "", "", "", "", ""}
			}
			return []any{r.Name, timeCell(&r.From), timeCell(&r.To), r.GroupBy, r.Totals.Debited, r.Totals.Debits, r.Totals.Credited, r.Totals.Removed}
		},
	}}
}

var (
	_ rest.GetterWithOptions    = &consumptionREST{}
	_ rest.Scoper               = &consumptionREST{}
	_ rest.SingularNameProvider = &consumptionREST{}
)

func (r *consumptionREST) New() runtime.Object     { return &reportsv1alpha1.ConsumptionReport{} }
func (r *consumptionREST) Destroy()                {}
func (r *consumptionREST) NamespaceScoped() bool   { return true }
func (r *consumptionREST) GetSingularName() string { return "consumptionreport" }
func (r *consumptionREST) NewGetOptions() (runtime.Object, bool, string) {
	return &reportsv1alpha1.ConsumptionReportOptions{}, false, ""
}

// query checks the options and fills in the defaults.
func (r *consumptionREST) query(wallet string, o *reportsv1alpha1.ConsumptionReportOptions) (ledger.ConsumptionQuery, error) {
	q := ledger.ConsumptionQuery{Wallet: wallet, GroupBy: ledger.Day, Origin: o.Origin, Endpoint: o.Endpoint, To: r.now()}
	switch o.GroupBy {
	case "":
	case string(ledger.Hour), string(ledger.Day), string(ledger.Week), string(ledger.Month):
		q.GroupBy = ledger.GroupBy(o.GroupBy)
	default:
		return q, fmt.Errorf("groupBy=%q is not known: use hour, day, week or month", o.GroupBy)
	}
	switch o.Format {
	case "", "json", "csv":
	default:
		return q, fmt.Errorf("format=%q is not known: use json or csv", o.Format)
	}
	if o.To != nil {
		q.To = o.To.Time
	}
	q.From = q.To.Add(-DefaultReportWindow)
	if o.From != nil {
		q.From = o.From.Time
	}
	q.From = q.From.UTC().Truncate(time.Hour) // the rollups' unit; the CSV uses the same window
	if !q.To.After(q.From) {
		return q, fmt.Errorf("to (%s) must be after from (%s)", q.To.UTC().Format(time.RFC3339), q.From.UTC().Format(time.RFC3339))
	}
	if q.To.Sub(q.From) > ledger.MaxReportWindow {
		return q, fmt.Errorf("the window from %s (from, rounded down to the hour) to %s is %.1f days long: a report covers at most 366 days; ask for several windows",
			q.From.UTC().Format(time.RFC3339), q.To.UTC().Format(time.RFC3339), q.To.Sub(q.From).Hours()/24)
	}
	return q, nil
}

// Get builds the report from the ledger's rollups (JSON) or streams the
// window's entries (CSV).
func (r *consumptionREST) Get(ctx context.Context, name string, options runtime.Object) (runtime.Object, error) {
	opts, ok := options.(*reportsv1alpha1.ConsumptionReportOptions)
	if !ok {
		return nil, fmt.Errorf("unexpected options %T", options)
	}
	ns := genericapirequest.NamespaceValue(ctx)
	q, err := r.query(billingv1alpha1.LedgerWalletName(ns, name), opts)
	if err != nil {
		return nil, apierrors.NewBadRequest(err.Error())
	}
	b, err := r.store.Balance(ctx, q.Wallet)
	if err != nil {
		return nil, apiError(err, name)
	}
	if opts.Format == "csv" {
		return &csvReport{store: r.store, query: q, currency: b.Currency, rate: b.Rate}, nil
	}
	periods, err := r.store.Consumption(ctx, q)
	if err != nil {
		return nil, apiError(err, name)
	}
	out := &reportsv1alpha1.ConsumptionReport{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Currency:   b.Currency, GroupBy: string(q.GroupBy), Origin: q.Origin, Endpoint: q.Endpoint,
		Periods: make([]reportsv1alpha1.ConsumptionPeriod, 0, len(periods)),
	}
	var debited, credited, removed money.Micros
	var debits int64
	out.From, out.To = mt(q.From), mt(q.To)
	for _, p := range periods {
		cp := reportsv1alpha1.ConsumptionPeriod{Start: mt(p.Start), End: mt(p.End), ConsumptionTotals: reportsv1alpha1.ConsumptionTotals{
			Debited: p.Debited.String(), Credited: p.Credited.String(), Removed: p.Removed.String(),
		}}
		for _, u := range p.Usage {
			cp.Usage = append(cp.Usage, reportsv1alpha1.UsageBreakdown{Origin: u.Origin, Endpoint: u.Endpoint, Debited: u.Debited.String(), Debits: u.Count})
			cp.Debits += u.Count
		}
		out.Periods = append(out.Periods, cp)
		if debited, err = money.Add(debited, p.Debited); err == nil {
			if credited, err = money.Add(credited, p.Credited); err == nil {
				removed, err = money.Add(removed, p.Removed)
			}
		}
		if err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		debits += cp.Debits
	}
	out.Totals = reportsv1alpha1.ConsumptionTotals{Debited: debited.String(), Credited: credited.String(), Removed: removed.String(), Debits: debits}
	return out, nil
}

// csvReport is a report answered as CSV: the API server streams it
// (rest.ResourceStreamer) instead of serialising it.
type csvReport struct {
	metav1.TypeMeta
	store    ledger.Reader
	query    ledger.ConsumptionQuery
	currency string
	rate     money.Micros
}

var _ rest.ResourceStreamer = &csvReport{}

func (c *csvReport) GetObjectKind() schema.ObjectKind { return &c.TypeMeta }
func (c *csvReport) DeepCopyObject() runtime.Object   { cp := *c; return &cp }

// CSVHeader is the first row of a CSV report.
var CSVHeader = []string{"transaction_id", "sequence", "timestamp", "applied_at", "type", "status", "credits", "paid", "granted",
	"balance_after", "amount", "currency", "origin", "endpoint", "reference", "idempotency_key", "description"}

// InputStream writes the rows through a pipe as they are read, one page of
// entries at a time.
func (c *csvReport) InputStream(ctx context.Context, _, _ string) (io.ReadCloser, bool, string, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(c.write(ctx, pw))
	}()
	return abortOnError{pr}, false, "text/csv; charset=utf-8", nil
}

// abortOnError aborts the HTTP response when the export fails part way:
// the status line is long sent, so ending the body normally would hand
// the client a truncated file that looks complete. Aborting makes the
// client see an incomplete transfer instead.
type abortOnError struct{ io.ReadCloser }

func (a abortOnError) Read(p []byte) (int, error) {
	n, err := a.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		utilruntime.HandleError(fmt.Errorf("consumption report CSV export failed part way, aborting the response: %w", err))
		panic(http.ErrAbortHandler)
	}
	return n, err
}

func (c *csvReport) write(ctx context.Context, w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	q := ledger.EntryQuery{Wallet: c.query.Wallet, Limit: csvPageSize, Oldest: true,
		From: c.query.From, To: c.query.To, Origin: c.query.Origin, Endpoint: c.query.Endpoint}
	row := make([]string, len(CSVHeader))
	for {
		page, err := c.store.Entries(ctx, q)
		if err != nil {
			return err
		}
		for _, e := range page.Entries {
			row = append(row[:0], e.ID, strconv.FormatInt(e.Seq, 10), e.Timestamp.UTC().Format(time.RFC3339Nano), e.AppliedAt.UTC().Format(time.RFC3339Nano),
				string(e.Type), string(e.Status), e.Credits.String(), e.Paid.String(), e.Granted.String(), e.BalanceAfter.String(), moneyValue(e.Credits, c.rate), c.currency,
				SafeCell(e.Origin), SafeCell(e.Endpoint), SafeCell(e.Ref), SafeCell(e.Key), SafeCell(e.Description))
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			return err
		}
		if page.Next == "" {
			return nil
		}
		q.Cursor = page.Next
	}
}

// SafeCell defuses a text cell that a spreadsheet could run as a formula
// by prefixing a single quote (OWASP's advice on CSV injection): a cell
// whose first character is a tab or a carriage return, or whose first
// visible character, after any blanks, line breaks or invisible format
// characters, is a formula sign (=, +, -, @, ; or |, or their full-width
// forms). The numbers and times this server formats itself are written as
// they are.
func SafeCell(s string) string {
	if s == "" {
		return s
	}
	if s[0] == '\t' || s[0] == '\r' {
		return "'" + s
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) || unicode.IsControl(r) {
			continue
		}
		switch r {
		case '=', '+', '-', '@', ';', '|', '\uff1d', '\uff0b', '\uff0d', '\uff20', '\uff1b', '\uff5c', '\u2212', '\ufe62', '\ufe63', '\ufe66':
			return "'" + s
		}
		return s
	}
	return s
}
