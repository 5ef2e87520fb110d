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

package controllers

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/walletop/wallet-operator/internal/ledger"
)

// Every operation of ledger.Store has its own timed method on instrumented
// (a method only promoted from the embedded Store would go untimed).
func TestEveryLedgerOperationIsTimed(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "metrics.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	timed := map[string]bool{}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
			continue
		}
		if id, ok := fn.Recv.List[0].Type.(*ast.Ident); ok && id.Name == "instrumented" {
			timed[fn.Name.Name] = true
		}
	}
	store := reflect.TypeOf((*ledger.Store)(nil)).Elem()
	for i := range store.NumMethod() {
		name := store.Method(i).Name
		if name == "Changes" || name == "Close" {
			continue // not operations
		}
		if !timed[name] {
			t.Errorf("ledger.Store.%s is not timed: add it to instrumented in metrics.go", name)
		}
	}
}

// TestDebitSeriesAreBounded: tenants choose origin and endpoint, so past
// maxUsageSeries label sets debits count under _other.
func TestDebitSeriesAreBounded(t *testing.T) {
	t.Cleanup(func() { // the envtest suite in this binary counts afresh
		usageSeries.Lock()
		usageSeries.seen = map[[3]string]bool{}
		usageSeries.Unlock()
		creditsDebited.Reset()
	})
	before := testutil.CollectAndCount(creditsDebited)
	reqs := make([]ledger.DebitRequest, maxUsageSeries+50)
	for i := range reqs {
		reqs[i] = ledger.DebitRequest{Wallet: "bounded/main", Credits: 1_000_000, Origin: "api", Endpoint: fmt.Sprintf("/v1/e%d", i)}
	}
	countDebits(reqs, func(int) bool { return true })
	if n := testutil.CollectAndCount(creditsDebited); n > maxUsageSeries+1 {
		t.Fatalf("%d series (%d before), want at most %d", n, before, maxUsageSeries+1)
	}
	if v := testutil.ToFloat64(creditsDebited.WithLabelValues("bounded", otherLabel, otherLabel)); v < 50 {
		t.Fatalf("_other counted %v credits, want at least 50", v)
	}
}
