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

// Command reports-load measures the reports API through a real
// kube-apiserver on a local control plane with the aggregation layer on:
// bin/wallet-operator runs as its own process, as its ServiceAccount, with
// config/local's RBAC and API Priority and Fairness; requests are made as a
// ServiceAccount bound to the shipped roles. It measures
//
//   - balance gets at a fixed rate (default 500/s): latency percentiles and
//     how many were refused with 429;
//
//   - a 366-day consumption report grouped by day over a wallet with
//     -entries ledger entries (default 1,000,000): latency percentiles;
//
//   - the CSV export of that wallet: rows/s, and the operator's resident
//     memory and Go heap while exporting a tenth of the rows and then all
//     of them (memory must not grow with rows);
//
//   - usage ingestion: single Usage creates and UsageBatches (events/s).
//
//     make build && go run ./hack/reports-load
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/loadtest"
	"github.com/walletop/wallet-operator/internal/localcluster"
	"github.com/walletop/wallet-operator/internal/money"
	"github.com/walletop/wallet-operator/internal/testenv"
)

const (
	ns       = "load"
	bigName  = "big"
	wallets  = 100
	origins  = 4
	ends     = 5
	basePath = "/apis/reports.walletop.io/v1alpha1/namespaces/" + ns
)

func say(format string, args ...any) { fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...) }

func main() {
	entries := flag.Int("entries", 1_000_000, "ledger entries of the big wallet (reports and CSV)")
	rate := flag.Int("rate", 500, "balance gets per second")
	seconds := flag.Int("seconds", 20, "how long to send balance gets")
	reportRuns := flag.Int("reports", 50, "366-day reports to time")
	single := flag.Int("usages", 5000, "single Usage creates")
	batches := flag.Int("batches", 20, "UsageBatches of -batch events")
	batchSize := flag.Int("batch", 1000, "events per UsageBatch")
	flag.Parse()
	if err := run(*entries, *rate, *seconds, *reportRuns, *single, *batches, *batchSize); err != nil {
		fmt.Fprintln(os.Stderr, "reports-load:", err)
		os.Exit(1)
	}
}

// seed writes the ledger the operator will serve: wallets w0..w99 with
// credits, and the big wallet with n debits spread over the last 365 days.
func seed(ctx context.Context, path string, n int) error {
	s, err := sqlite.Open(ctx, path, ledger.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	for i := range wallets {
		w := fmt.Sprintf("%s/w%d", ns, i)
		if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: w, Currency: "USD", Rate: money.MustParse("0.01")}); err != nil {
			return err
		}
		if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: w, Key: "g", Paid: money.MustParse("1000000"), Priority: 50}); err != nil {
			return err
		}
	}
	big := billingv1alpha1.LedgerWalletName(ns, bigName)
	if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: big, Currency: "USD", Rate: money.MustParse("0.01")}); err != nil {
		return err
	}
	if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: big, Key: "g", Paid: money.MustParse("100000000"), Priority: 50}); err != nil {
		return err
	}
	start := time.Now().Add(-365 * 24 * time.Hour)
	step := 365 * 24 * time.Hour / time.Duration(n)
	const chunk = 20000
	t0 := time.Now()
	for done := 0; done < n; done += chunk {
		reqs := make([]ledger.DebitRequest, 0, chunk)
		for i := done; i < min(n, done+chunk); i++ {
			reqs = append(reqs, ledger.DebitRequest{Wallet: big, Key: "d" + strconv.Itoa(i), Credits: money.MustParse("0.25"),
				Origin: fmt.Sprint("origin-", i%origins), Endpoint: fmt.Sprint("/v1/endpoint-", i%ends), Timestamp: start.Add(time.Duration(i) * step)})
		}
		_, errs := s.DebitBatch(ctx, reqs)
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		if done%200000 == 0 {
			say("  %d/%d entries (%.0f/s)", done+len(reqs), n, float64(done+len(reqs))/time.Since(t0).Seconds())
		}
	}
	return nil
}

func run(entries, rate, seconds, reportRuns, single, batches, batchSize int) error {
	ctx := context.Background()
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "reports-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ledgerPath := filepath.Join(dir, "ledger.db")
	say("seeding the ledger: %d wallets and one with %d entries over 365 days", wallets, entries)
	if err := seed(ctx, ledgerPath, entries); err != nil {
		return err
	}

	say("starting a local control plane with the aggregation layer")
	cluster, err := localcluster.Start(localcluster.Options{Dir: dir, Assets: assets,
		Root: root, LocalConfig: true, Aggregation: true})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	op, err := cluster.StartOperator(ctx, localcluster.OperatorOptions{
		Binary: filepath.Join(root, "bin", "wallet-operator"), Ledger: "sqlite://" + ledgerPath, Output: os.Stderr,
		Args: []string{"--zap-log-level=error", "--metrics-secure=false"},
	})
	if err != nil {
		return fmt.Errorf("%w (run make build first)", err)
	}
	defer op.Stop()
	metricsPort := op.MetricsPort
	admin, err := client.New(cluster.Config, client.Options{})
	if err != nil {
		return err
	}
	cfg, err := financeIdentity(ctx, admin, cluster.Config)
	if err != nil {
		return err
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return err
	}
	host := strings.TrimSuffix(cfg.Host, "/")
	do := func(method, path string, body []byte) (int, []byte, error) {
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, _ := http.NewRequest(method, host+path, rd)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	if code, b, err := do("GET", basePath+"/balances/w0", nil); err != nil || code != 200 {
		return fmt.Errorf("first balance get: %d %s %v", code, b, err)
	}
	pid := op.PID()
	fmt.Printf("operator at start: RSS %d MiB\n\n", loadtest.RSS(pid)>>20)

	// 1. Balance gets at a fixed rate.
	say("balance gets: %d/s for %ds", rate, seconds)
	{
		total := rate * seconds
		lat := make([]time.Duration, total)
		codes := make([]int, total)
		var wg sync.WaitGroup
		tick := time.NewTicker(time.Second / time.Duration(rate))
		t0 := time.Now()
		for i := range total {
			<-tick.C
			wg.Go(func() {
				s := time.Now()
				code, _, err := do("GET", fmt.Sprintf("%s/balances/w%d", basePath, i%wallets), nil)
				lat[i] = time.Since(s)
				if err != nil {
					code = -1
				}
				codes[i] = code
			})
		}
		wg.Wait()
		tick.Stop()
		elapsed := time.Since(t0)
		count := map[int]int{}
		for _, c := range codes {
			count[c]++
		}
		fmt.Printf("| balance get | %d requests in %.1f s (%.0f/s) | p50 %s | p99 %s | max %s | 200: %d, 429: %d, other: %d |\n",
			total, elapsed.Seconds(), float64(total)/elapsed.Seconds(), loadtest.Percentile(lat, 50).Round(10*time.Microsecond),
			loadtest.Percentile(lat, 99).Round(10*time.Microsecond), loadtest.Percentile(lat, 100).Round(10*time.Microsecond),
			count[200], count[429], total-count[200]-count[429])
	}

	// 2. 366-day report by day.
	say("366-day consumption reports grouped by day over %d entries", entries)
	{
		to := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
		q := url.Values{"from": {to.Add(-366 * 24 * time.Hour).Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "groupBy": {"day"}}
		path := basePath + "/consumptionreports/" + bigName + "?" + q.Encode()
		var lat []time.Duration
		var size int
		for range reportRuns {
			s := time.Now()
			code, b, err := do("GET", path, nil)
			if err != nil || code != 200 {
				return fmt.Errorf("report: %d %s %v", code, b[:min(len(b), 300)], err)
			}
			lat = append(lat, time.Since(s))
			size = len(b)
			var r struct {
				Totals struct{ Debits int64 } `json:"totals"`
			}
			if err := json.Unmarshal(b, &r); err != nil || r.Totals.Debits != int64(entries) {
				return fmt.Errorf("report counts %d debits, want %d (%v)", r.Totals.Debits, entries, err)
			}
		}
		fmt.Printf("| 366-day report by day, %d entries | %d runs | p50 %s | p95 %s | %d KiB of JSON |\n", entries, reportRuns,
			loadtest.Percentile(lat, 50).Round(100*time.Microsecond), loadtest.Percentile(lat, 95).Round(100*time.Microsecond), size>>10)
	}

	// 3. CSV export: a tenth of the rows, then all of them; memory sampled meanwhile.
	{
		to := time.Now().UTC().Truncate(time.Hour).Add(time.Hour)
		for _, part := range []int{10, 1} {
			from := to.Add(-366 * 24 * time.Hour)
			if part > 1 {
				from = to.Add(-366 * 24 * time.Hour / time.Duration(part))
			}
			q := url.Values{"from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}, "format": {"csv"}}
			say("CSV export from %s", from.Format(time.DateOnly))
			stop := make(chan struct{})
			var peakRSS, peakHeap atomic.Int64
			var sampler sync.WaitGroup
			sampler.Go(func() {
				t := time.NewTicker(50 * time.Millisecond)
				defer t.Stop()
				for {
					if r := loadtest.RSS(pid); r > peakRSS.Load() {
						peakRSS.Store(r)
					}
					if h := heapInuse(metricsPort); h > peakHeap.Load() {
						peakHeap.Store(h)
					}
					select {
					case <-stop:
						return
					case <-t.C:
					}
				}
			})
			rssBefore, heapBefore := loadtest.RSS(pid), heapInuse(metricsPort)
			s := time.Now()
			req, _ := http.NewRequest("GET", host+basePath+"/consumptionreports/"+bigName+"?"+q.Encode(), nil)
			resp, err := hc.Do(req)
			if err != nil {
				return err
			}
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				return fmt.Errorf("CSV export: %d %s", resp.StatusCode, b)
			}
			rows := 0
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				rows++
			}
			resp.Body.Close()
			elapsed := time.Since(s)
			close(stop)
			sampler.Wait()
			if err := sc.Err(); err != nil {
				return err
			}
			fmt.Printf("| CSV export | %d rows in %.1f s | %.0f rows/s | operator RSS %d -> peak %d MiB | Go heap in use %d -> peak %d MiB |\n",
				rows-1, elapsed.Seconds(), float64(rows-1)/elapsed.Seconds(), rssBefore>>20, peakRSS.Load()>>20, heapBefore>>20, peakHeap.Load()>>20)
		}
	}

	// 4. Usage ingestion.
	say("usage ingestion: %d single events, then %d batches of %d", single, batches, batchSize)
	{
		var n atomic.Int64
		t0 := time.Now()
		err := loadtest.Parallel(single, 32, func(i int) error {
			body, _ := json.Marshal(map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "Usage",
				"spec": map[string]any{"wallet": fmt.Sprint("w", i%wallets), "credits": "1", "origin": "meter", "idempotencyKey": fmt.Sprint("single-", i)}})
			code, b, err := do("POST", basePath+"/usages", body)
			if err != nil || code != 201 {
				return fmt.Errorf("usage: %d %s %v", code, b, err)
			}
			n.Add(1)
			return nil
		})
		if err != nil {
			return err
		}
		el := time.Since(t0)
		fmt.Printf("| usage, single events | %d events, 32 clients | %.1f s | %.0f events/s |\n", n.Load(), el.Seconds(), float64(n.Load())/el.Seconds())

		t0 = time.Now()
		err = loadtest.Parallel(batches, 4, func(b int) error {
			events := make([]map[string]any, batchSize)
			for i := range events {
				events[i] = map[string]any{"wallet": fmt.Sprint("w", (b*batchSize+i)%wallets), "credits": "0.5", "origin": "meter",
					"endpoint": "/v1/x", "idempotencyKey": fmt.Sprintf("batch-%d-%d", b, i)}
			}
			body, _ := json.Marshal(map[string]any{"apiVersion": "reports.walletop.io/v1alpha1", "kind": "UsageBatch", "spec": map[string]any{"events": events}})
			code, out, err := do("POST", basePath+"/usagebatches", body)
			if err != nil || code != 201 {
				return fmt.Errorf("batch: %d %s %v", code, out[:min(len(out), 300)], err)
			}
			var res struct {
				Status struct{ Applied int } `json:"status"`
			}
			if err := json.Unmarshal(out, &res); err != nil || res.Status.Applied != batchSize {
				return fmt.Errorf("batch applied %d of %d (%v)", res.Status.Applied, batchSize, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
		el = time.Since(t0)
		fmt.Printf("| usage, batches | %d batches of %d, 4 clients | %.1f s | %.0f events/s |\n", batches, batchSize, el.Seconds(), float64(batches*batchSize)/el.Seconds())
	}
	fmt.Printf("\noperator peak RSS over the run: %d MiB\n", loadtest.PeakRSS(pid)>>20)
	return nil
}

// financeIdentity makes a ServiceAccount load/finance bound to every reports
// role in the namespace and returns a client configuration with its token:
// requests then go through RBAC and APF as a real caller's would.
func financeIdentity(ctx context.Context, admin client.Client, adminCfg *rest.Config) (*rest.Config, error) {
	for _, obj := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "finance"}},
	} {
		if err := admin.Create(ctx, obj); err != nil {
			return nil, err
		}
	}
	for _, role := range []string{"wallet-balance-viewer", "wallet-consumption-report-viewer", "wallet-transactions-viewer", "wallet-usage-writer"} {
		if err := admin.Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: role},
			RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: role},
			Subjects: []rbacv1.Subject{{Kind: "ServiceAccount", Name: "finance", Namespace: ns}}}); err != nil {
			return nil, err
		}
	}
	cs, err := kubernetes.NewForConfig(adminCfg)
	if err != nil {
		return nil, err
	}
	exp := int64(3600)
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, "finance", &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &exp}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	cfg := &rest.Config{Host: adminCfg.Host, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAData: adminCfg.CAData}}
	if cfg.CAData == nil {
		cfg.Insecure = true
	}
	return cfg, nil
}

// heapInuse reads go_memstats_heap_inuse_bytes from the operator's metrics.
func heapInuse(port int) int64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return int64(f)
		}
	}
	return 0
}
