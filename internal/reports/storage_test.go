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
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metainternalversion "k8s.io/apimachinery/pkg/apis/meta/internalversion"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"

	reportsv1alpha1 "github.com/walletop/wallet-operator/api/reports/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/money"
)

// Unit tests of the REST storage, without an API server: options decoding,
// validation, tables, CSV and history paging over a real SQLite ledger.

func openLedger(t *testing.T) ledger.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func nsCtx(ns string) context.Context {
	return genericapirequest.WithNamespace(context.Background(), ns)
}

func TestDecodeOptions(t *testing.T) {
	var c reportsv1alpha1.ConsumptionReportOptions
	v, _ := url.ParseQuery("from=2026-01-01&to=2026-02-01T12:30:00%2B01:00&groupBy=week&origin=api&format=csv&pretty=true")
	if err := ParameterCodec.DecodeParameters(v, reportsv1alpha1.SchemeGroupVersion, &c); err != nil {
		t.Fatal(err)
	}
	if c.From.Time != time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) || c.To.Time != time.Date(2026, 2, 1, 11, 30, 0, 0, time.UTC) ||
		c.GroupBy != "week" || c.Origin != "api" || c.Format != "csv" {
		t.Fatalf("decoded %+v", c)
	}
	for q, want := range map[string]string{
		"from=01/02/2026":                 "write RFC 3339",
		"groupby=day":                     "unknown query parameter(s) groupby",
		"from=2026-01-01&from=2026-01-02": "given 2 times",
	} {
		v, _ := url.ParseQuery(q)
		err := ParameterCodec.DecodeParameters(v, reportsv1alpha1.SchemeGroupVersion, &reportsv1alpha1.ConsumptionReportOptions{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", q, err, want)
		}
	}
	var b reportsv1alpha1.BalanceOptions
	v, _ = url.ParseQuery("at=2026-03-01T10:00:00Z&includeGrants=true&includeLedger=1")
	if err := ParameterCodec.DecodeParameters(v, reportsv1alpha1.SchemeGroupVersion, &b); err != nil || !b.IncludeGrants || !b.IncludeLedger || b.At == nil {
		t.Fatalf("balance options %+v %v", b, err)
	}
	v, _ = url.ParseQuery("includeGrants=yes")
	if err := ParameterCodec.DecodeParameters(v, reportsv1alpha1.SchemeGroupVersion, &b); err == nil || !strings.Contains(err.Error(), "true or false") {
		t.Fatalf("includeGrants=yes: %v", err)
	}
}

func TestConsumptionQueryValidation(t *testing.T) {
	now := time.Date(2026, 11, 23, 15, 42, 0, 0, time.UTC)
	r := newConsumptionREST(nil, func() time.Time { return now })
	q, err := r.query("ns/w", &reportsv1alpha1.ConsumptionReportOptions{})
	if err != nil || q.GroupBy != ledger.Day || !q.To.Equal(now) || !q.From.Equal(now.Add(-DefaultReportWindow).Truncate(time.Hour)) {
		t.Fatalf("defaults: %+v %v", q, err)
	}
	tm := func(s string) *metav1.Time { return mustTime(t, s) }
	for name, c := range map[string]struct {
		o    reportsv1alpha1.ConsumptionReportOptions
		want string
	}{
		"367 days": {reportsv1alpha1.ConsumptionReportOptions{From: tm("2025-01-01"), To: tm("2026-01-03")}, "at most 366 days"},
		"reversed": {reportsv1alpha1.ConsumptionReportOptions{From: tm("2026-02-01"), To: tm("2026-01-01")}, "must be after from"},
		"empty":    {reportsv1alpha1.ConsumptionReportOptions{From: tm("2026-02-01"), To: tm("2026-02-01")}, "must be after from"},
		"groupBy":  {reportsv1alpha1.ConsumptionReportOptions{GroupBy: "year"}, "use hour, day, week or month"},
		"format":   {reportsv1alpha1.ConsumptionReportOptions{Format: "pdf"}, "use json or csv"},
	} {
		if _, err := r.query("ns/w", &c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
	// 366 days exactly is allowed
	if _, err := r.query("ns/w", &reportsv1alpha1.ConsumptionReportOptions{From: tm("2025-01-01"), To: tm("2026-01-02")}); err != nil {
		t.Fatal(err)
	}
}

func TestSafeCell(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+SUM(A1)": "'+SUM(A1)", "-2+3": "'-2+3", "@cmd": "'@cmd", "\tx": "'\tx", "\rx": "'\rx",
		"api": "api", "": "", "/v1/x": "/v1/x", "a=b": "a=b",
		// behind blanks, line breaks and invisible characters, and in full-width or other forms
		" =1+2": "' =1+2", "\n=1": "'\n=1", "\u00a0=1": "'\u00a0=1", "\u200b=1": "'\u200b=1", "\ufeff+1": "'\ufeff+1",
		"\uff1dSUM(A1)": "'\uff1dSUM(A1)", "\uff0b1": "'\uff0b1", "\uff0d1": "'\uff0d1", "\uff20x": "'\uff20x", "\u22121": "'\u22121",
		";=1": "';=1", "|cmd": "'|cmd", "  \t @x": "'  \t @x", "\v-1": "'\v-1",
		"  api": "  api", "\u00a0api": "\u00a0api", "x;y": "x;y", "1-2": "1-2",
	} {
		if got := SafeCell(in); got != want {
			t.Errorf("SafeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCSVPagesThroughEveryEntry(t *testing.T) {
	s := openLedger(t)
	ctx := context.Background()
	if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "ns/w", Currency: "EUR", Rate: money.MustParse("0.5")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "ns/w", Key: "g", Paid: money.MustParse("10000"), Priority: 50}); err != nil {
		t.Fatal(err)
	}
	n := 2*csvPageSize + 17
	var reqs []ledger.DebitRequest
	for i := range n {
		reqs = append(reqs, ledger.DebitRequest{Wallet: "ns/w", Key: fmt.Sprint("d", i), Credits: money.MustParse("0.5"), Origin: "@import", Endpoint: "/e"})
	}
	if _, errs := s.DebitBatch(ctx, reqs); errs[0] != nil {
		t.Fatal(errs[0])
	}
	now := time.Now()
	c := &csvReport{store: s, query: ledger.ConsumptionQuery{Wallet: "ns/w", From: now.Add(-time.Hour), To: now.Add(time.Hour)}, currency: "EUR", rate: money.MustParse("0.5")}
	var buf bytes.Buffer
	if err := c.write(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1+1+n {
		t.Fatalf("%d rows, want %d", len(rows), 2+n)
	}
	last := rows[len(rows)-1]
	if last[1] != fmt.Sprint(n+1) || last[6] != "-0.5" || last[10] != "-0.25" || last[12] != "'@import" || last[15] != fmt.Sprint("d", n-1) {
		t.Fatalf("last row %v", last)
	}
	c.query.Origin = "other"
	buf.Reset()
	if err := c.write(ctx, &buf); err != nil || strings.Count(buf.String(), "\n") != 1 {
		t.Fatalf("origin filter: %q %v", buf.String(), err)
	}
}

func TestHistoryListing(t *testing.T) {
	s := openLedger(t)
	ctx := context.Background()
	if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "ns/w", Currency: "EUR", Rate: money.MustParse("1")}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "ns/w", Key: fmt.Sprint("g", i), Paid: money.MustParse("1"), Priority: 50}); err != nil {
			t.Fatal(err)
		}
	}
	r := newTransactionREST(s)
	list := func(sel string, limit int64, cont string) (*reportsv1alpha1.TransactionList, error) {
		o := &metainternalversion.ListOptions{Limit: limit, Continue: cont}
		if sel != "" {
			o.FieldSelector = fields.ParseSelectorOrDie(sel)
		}
		obj, err := r.List(nsCtx("ns"), o)
		if err != nil {
			return nil, err
		}
		return obj.(*reportsv1alpha1.TransactionList), nil
	}
	l, err := list("wallet=w", 2, "")
	if err != nil || len(l.Items) != 2 || l.Continue == "" || l.Items[0].IdempotencyKey != "g4" {
		t.Fatalf("page 1: %+v %v", l, err)
	}
	var keys []string
	for cont := ""; ; {
		l, err := list("wallet=w", 2, cont)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range l.Items {
			keys = append(keys, it.IdempotencyKey)
		}
		if cont = l.Continue; cont == "" {
			break
		}
	}
	if strings.Join(keys, ",") != "g4,g3,g2,g1,g0" {
		t.Fatalf("all pages: %v", keys)
	}
	if _, err := list("wallet=w,type=grant", 2, l.Continue); !apierrors.IsBadRequest(err) {
		t.Fatalf("continue with other filters: %v", err)
	}
	if _, err := list("wallet=w", 101, ""); !apierrors.IsBadRequest(err) {
		t.Fatalf("limit 101: %v", err)
	}
	if _, err := list("wallet=nope", 0, ""); !apierrors.IsNotFound(err) {
		t.Fatalf("unknown wallet: %v", err)
	}
	if _, err := list("type=grant", 0, ""); !apierrors.IsBadRequest(err) {
		t.Fatalf("no wallet: %v", err)
	}
	if _, err := r.List(context.Background(), &metainternalversion.ListOptions{FieldSelector: fields.ParseSelectorOrDie("wallet=w")}); !apierrors.IsBadRequest(err) {
		t.Fatalf("no namespace: %v", err)
	}
	table, err := r.ConvertToTable(ctx, l, nil)
	if err != nil || len(table.Rows) != len(l.Items) || len(table.ColumnDefinitions) != len(table.Rows[0].Cells) {
		t.Fatalf("table %+v %v", table, err)
	}
}

func TestBalanceGetAndList(t *testing.T) {
	s := openLedger(t)
	ctx := context.Background()
	for _, w := range []string{"a/x", "a/y", "b/x"} {
		if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: w, Currency: "USD", Rate: money.MustParse("0.01")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "a/x", Key: "g", Paid: money.MustParse("12.5"), Priority: 50}); err != nil {
		t.Fatal(err)
	}
	r := newBalanceREST(s, nil, time.Now)
	obj, err := r.Get(nsCtx("a"), "x", &reportsv1alpha1.BalanceOptions{IncludeGrants: true, IncludeLedger: true})
	if err != nil {
		t.Fatal(err)
	}
	b := obj.(*reportsv1alpha1.Balance)
	if b.Balance != "12.5" || b.MoneyBalance != "0.125" || len(b.Grants) != 1 || len(b.Ledger) != 1 || b.Namespace != "a" {
		t.Fatalf("balance %+v", b)
	}
	future := mustTime(t, "2999-01-01")
	if _, err := r.Get(nsCtx("a"), "x", &reportsv1alpha1.BalanceOptions{At: future}); !apierrors.IsBadRequest(err) {
		t.Fatalf("future at: %v", err)
	}
	if _, err := r.Get(nsCtx("b"), "y", &reportsv1alpha1.BalanceOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("another namespace's wallet: %v", err)
	}
	lobj, err := r.List(nsCtx("a"), nil)
	if err != nil || len(lobj.(*reportsv1alpha1.BalanceList).Items) != 2 {
		t.Fatalf("list a: %+v %v", lobj, err)
	}
	lobj, err = r.List(context.Background(), nil)
	if err != nil || len(lobj.(*reportsv1alpha1.BalanceList).Items) != 3 {
		t.Fatalf("list all: %+v %v", lobj, err)
	}
	table, err := r.ConvertToTable(ctx, b, nil)
	if err != nil || table.Rows[0].Cells[2] != "12.5" || table.ColumnDefinitions[6].Name != "Next Expiration" || table.ColumnDefinitions[9].Priority != 1 {
		t.Fatalf("table %+v %v", table, err)
	}
}

func mustTime(t *testing.T, s string) *metav1.Time {
	t.Helper()
	v, err := parseTime("t", s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestUsageValidation(t *testing.T) {
	ok := reportsv1alpha1.UsageSpec{Wallet: "main", Credits: "1.5", Origin: "api", IdempotencyKey: "k"}
	if r, err := debitRequest("ns", "spec", "", ok); err != nil || r.Wallet != "ns/main" || r.Key != "usage:k" || r.Credits != money.MustParse("1.5") {
		t.Fatalf("%+v %v", r, err)
	}
	if r, err := debitRequest("ns", "spec", "from-name", reportsv1alpha1.UsageSpec{Wallet: "main", Credits: "1", Origin: "api"}); err != nil || r.Key != "usage:from-name" {
		t.Fatalf("key from metadata.name: %+v %v", r, err)
	}
	for name, c := range map[string]struct {
		u    reportsv1alpha1.UsageSpec
		want string
	}{
		"missing":      {reportsv1alpha1.UsageSpec{}, "spec.wallet, spec.credits, spec.origin, spec.idempotencyKey: required"},
		"zero":         {reportsv1alpha1.UsageSpec{Wallet: "main", Credits: "0", Origin: "api", IdempotencyKey: "k"}, "must be more than zero"},
		"7 digits":     {reportsv1alpha1.UsageSpec{Wallet: "main", Credits: "0.0000001", Origin: "api", IdempotencyKey: "k"}, "spec.credits"},
		"slash":        {reportsv1alpha1.UsageSpec{Wallet: "../team-b/main", Credits: "1", Origin: "api", IdempotencyKey: "k"}, "is not a Wallet name"},
		"float syntax": {reportsv1alpha1.UsageSpec{Wallet: "main", Credits: "1e3", Origin: "api", IdempotencyKey: "k"}, "spec.credits"},
	} {
		if _, err := debitRequest("ns", "spec", "", c.u); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
	}
}

// failingEntries fails every Entries call after the first.
type failingEntries struct {
	ledger.Store
	calls int
}

func (f *failingEntries) Entries(ctx context.Context, q ledger.EntryQuery) (ledger.EntryPage, error) {
	if f.calls++; f.calls > 1 {
		return ledger.EntryPage{}, errors.New("disk on fire")
	}
	return f.Store.Entries(ctx, q)
}

func TestCSVAbortsWhenTheExportFailsPartWay(t *testing.T) {
	s := openLedger(t)
	ctx := context.Background()
	if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: "ns/w", Currency: "EUR", Rate: money.MustParse("1")}); err != nil {
		t.Fatal(err)
	}
	for i := range csvPageSize + 1 {
		if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: "ns/w", Key: fmt.Sprint("g", i), Paid: money.MustParse("1"), Priority: 50}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	c := &csvReport{store: &failingEntries{Store: s}, query: ledger.ConsumptionQuery{Wallet: "ns/w", From: now.Add(-time.Hour), To: now.Add(time.Hour)}}
	r, _, contentType, err := c.InputStream(ctx, "", "")
	if err != nil || contentType != "text/csv; charset=utf-8" {
		t.Fatal(contentType, err)
	}
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	_, _ = io.Copy(io.Discard, r)
	t.Fatal("the copy ended normally")
}

func TestMoneyValue(t *testing.T) {
	if got := moneyValue(money.MustParse("1240"), money.MustParse("0.01")); got != "12.4" {
		t.Fatalf("1240 x 0.01 = %q", got)
	}
	if got := moneyValue(money.MustParse("999999999999"), money.MustParse("100")); got != "" {
		t.Fatalf("an overflowing product must be left empty, got %q", got)
	}
}
