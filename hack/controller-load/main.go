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

// Command controller-load measures the operator end to end on a local
// control plane: it creates W wallets and N WalletTransactions (top-ups
// spread over them) and measures the time until every transaction is
// Settled and every Wallet's status shows its balance, the API writes the
// operator made per transaction (from the kube-apiserver's
// apiserver_request_total), and the operator's peak RSS (VmHWM of the
// bin/wallet-operator process). Before that, with no operator running, it
// measures the raw rate at which a client alone creates and status-updates
// the same number of WalletTransactions, and reports our rate against it.
//
//	make build && go run ./hack/controller-load -transactions 10000 -wallets 1000
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/internal/loadtest"
	"github.com/walletop/wallet-operator/internal/localcluster"
	"github.com/walletop/wallet-operator/internal/testenv"
)

func main() {
	n := flag.Int("transactions", 10000, "WalletTransactions to create")
	wallets := flag.Int("wallets", 1000, "wallets they are spread over")
	workers := flag.Int("workers", 32, "concurrent client requests")
	heapProfile := flag.String("heap-profile", "", "if set: write the operator's heap profile here at the end, or after -idle (go tool pprof -top FILE)")
	cpuProfile := flag.String("cpu-profile", "", "if set: write a 30 s CPU profile of the operator, from the first transaction on, here")
	apiserverProfile := flag.String("apiserver-cpu-profile", "", "if set: write a 30 s CPU profile of the kube-apiserver, from the first transaction on, here")
	backend := flag.String("ledger", "sqlite", "the operator's ledger: sqlite (a file in a temp dir) or postgres (a throwaway server, as the tests start)")
	rounds := flag.Int("rounds", 2, "rounds of -transactions each: the first from a fresh operator, the next ones on top of the objects cached already (the growth per round past the first is the cost of each further 10,000 cached objects, without the one-time costs: code paths first run, bounded caches filling, queues growing to their depth)")
	idle := flag.Duration("idle", 0, "if set: after the run, leave the operator idle this long (client-go forgets the Events it sent after 6 minutes), collect its garbage and report its resident set then")
	flag.Parse()
	if *backend != "sqlite" && *backend != "postgres" {
		fmt.Fprintf(os.Stderr, "controller-load: -ledger %q: want sqlite or postgres\n", *backend)
		os.Exit(2)
	}
	if err := run(*n, *rounds, *wallets, *workers, *backend, *heapProfile, *cpuProfile, *apiserverProfile, *idle); err != nil {
		fmt.Fprintln(os.Stderr, "controller-load:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) { fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...) }

func run(n, rounds, wallets, workers int, backend, heapProfile, cpuProfile, apiserverProfile string, idle time.Duration) error {
	ctx := context.Background()
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "controller-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	say("starting a local control plane")
	cluster, err := localcluster.Start(localcluster.Options{Dir: dir, Assets: assets, Root: root})
	if err != nil {
		return err
	}
	defer cluster.Stop()
	cfg := rest.CopyConfig(cluster.Config)
	cfg.QPS, cfg.Burst = 5000, 5000
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = billingv1alpha1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	for _, ns := range []string{"raw", "load"} {
		if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
	}

	// 1. The raw rate: a client alone creates and status-updates N objects.
	say("baseline: a client creates and status-updates %d WalletTransactions (no operator)", n)
	t0 := time.Now()
	err = loadtest.Parallel(n, workers, func(i int) error {
		t := &billingv1alpha1.WalletTransaction{ObjectMeta: metav1.ObjectMeta{Namespace: "raw", Name: fmt.Sprint("raw-", i)},
			Spec: billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: "none"}, Type: billingv1alpha1.TypeTopUp, GrantedCredits: "1"}}
		if err := c.Create(ctx, t); err != nil {
			return err
		}
		t.Status.Phase = billingv1alpha1.PhaseSettled
		return c.Status().Update(ctx, t)
	})
	if err != nil {
		return err
	}
	raw := time.Since(t0)
	if err := c.DeleteAllOf(ctx, &billingv1alpha1.WalletTransaction{}, client.InNamespace("raw")); err != nil {
		return err
	}

	// 2. The operator, as its own process.
	pprofAddr := "0"
	if heapProfile != "" || cpuProfile != "" || idle > 0 {
		pprofAddr = "127.0.0.1:16060"
	}
	binary := filepath.Join(root, "bin", "wallet-operator")
	ledgerDSN := "sqlite://" + filepath.Join(dir, "ledger.db")
	if backend == "postgres" {
		pg, err := testenv.StartPostgres()
		if err != nil {
			return err
		}
		defer pg.Stop()
		if ledgerDSN, err = pg.NewDatabase(ctx); err != nil {
			return err
		}
	}
	op := exec.Command(binary, "--kubeconfig", cluster.Kubeconfig, "--ledger", ledgerDSN,
		"--metrics-bind-address=0", "--health-probe-bind-address=127.0.0.1:0", "--auto-topup-ttl=0", "--zap-log-level=error",
		"--pprof-bind-address="+pprofAddr)
	op.Stdout, op.Stderr = os.Stderr, os.Stderr
	if v := os.Getenv("OPERATOR_GOGC"); v != "" {
		op.Env = append(os.Environ(), "GOGC="+v) // the operator only, not the control plane
	}
	if err := op.Start(); err != nil {
		return fmt.Errorf("%s: %w (run make build first)", binary, err)
	}
	defer func() { _ = op.Process.Signal(syscall.SIGTERM); _ = op.Wait() }()

	say("creating %d wallets", wallets)
	if err := loadtest.Parallel(wallets, workers, func(i int) error {
		return c.Create(ctx, &billingv1alpha1.Wallet{ObjectMeta: metav1.ObjectMeta{Namespace: "load", Name: fmt.Sprint("w", i)},
			Spec: billingv1alpha1.WalletSpec{Currency: "USD", Rate: "0.01"}})
	}); err != nil {
		return err
	}
	if err := waitFor(ctx, c, wallets, func(w *billingv1alpha1.Wallet) bool { return w.Status.Balance == "0" }); err != nil {
		return err
	}
	rssNowBefore := loadtest.RSS(op.Process.Pid)
	rawRate := float64(n) / raw.Seconds()
	for r := range max(rounds, 1) {
		var profiled, apiserverProfiled <-chan error
		if r == 0 {
			profiled = inBackground(cpuProfile != "", func() error {
				return saveProfile("http://"+pprofAddr+"/debug/pprof/profile?seconds=30", cpuProfile)
			})
			apiserverProfiled = inBackground(apiserverProfile != "", func() error { return saveAPIServerProfile(ctx, cfg, apiserverProfile) })
		}
		res, err := round(ctx, c, cfg, op.Process.Pid, r, n, wallets, workers)
		if err != nil {
			return err
		}
		if r == 0 {
			if err := <-profiled; err != nil {
				return err
			}
			if err := <-apiserverProfiled; err != nil {
				return err
			}
		}
		rate := float64(n) / res.current.Seconds()
		fmt.Printf("| round %d: %d transactions / %d wallets (%d cached) | created in %s | all Settled after %s | every Wallet current after %s | %.0f tx/s | raw client create+status-update: %.0f obj/s | ratio %.2f | operator API writes/tx %.2f | operator peak RSS %d MiB (at the round's start %d MiB): growth %d MiB | operator CPU %s (%.0f%% of one core) |\n",
			r+1, n, wallets, (r+1)*n, res.created.Round(100*time.Millisecond), res.settled.Round(100*time.Millisecond), res.current.Round(100*time.Millisecond),
			rate, rawRate, rate/rawRate, res.writes/float64(n), res.peakAfter>>20, res.peakBefore>>20, (res.peakAfter-res.peakBefore)>>20,
			res.cpu.Round(100*time.Millisecond), 100*res.cpu.Seconds()/res.current.Seconds())
	}
	if heapProfile != "" && idle == 0 {
		if err := saveProfile("http://"+pprofAddr+"/debug/pprof/heap", heapProfile); err != nil {
			return err
		}
	}
	if idle > 0 {
		say("leaving the operator idle for %s", idle)
		time.Sleep(idle)
		// a heap profile with gc=1 runs the operator's garbage collector first
		profile := os.DevNull
		if heapProfile != "" {
			profile = heapProfile
		}
		if err := saveProfile("http://"+pprofAddr+"/debug/pprof/heap?gc=1", profile); err != nil {
			return err
		}
		time.Sleep(10 * time.Second) // the runtime returns freed pages to the OS in the background
		rss := loadtest.RSS(op.Process.Pid)
		fmt.Printf("| after %s idle | operator RSS %d MiB, %d MiB before the transactions: %d MiB for %d cached objects |\n",
			idle, rss>>20, rssNowBefore>>20, (rss-rssNowBefore)>>20, max(rounds, 1)*n)
	}
	return nil
}

// roundResult is what one round of transactions measured.
type roundResult struct {
	created, settled, current time.Duration
	writes                    float64       // the operator's API writes
	peakBefore, peakAfter     int64         // its peak RSS before and after the round
	cpu                       time.Duration // the CPU time it used in the round
}

// round creates the r-th batch of n TopUp WalletTransactions (spread over
// the wallets) and waits until all are Settled and every Wallet's status
// shows the balance they add up to.
func round(ctx context.Context, c client.Client, cfg *rest.Config, pid, r, n, wallets, workers int) (roundResult, error) {
	var res roundResult
	before, err := operatorWrites(ctx, cfg)
	if err != nil {
		return res, err
	}
	res.peakBefore = loadtest.PeakRSS(pid)
	cpuBefore := loadtest.CPUTime(pid)
	say("round %d: creating %d WalletTransactions over %d wallets", r+1, n, wallets)
	t1 := time.Now()
	if err := loadtest.Parallel(n, workers, func(i int) error {
		return c.Create(ctx, &billingv1alpha1.WalletTransaction{ObjectMeta: metav1.ObjectMeta{Namespace: "load", Name: fmt.Sprint("t", r*n+i)},
			Spec: billingv1alpha1.WalletTransactionSpec{WalletRef: billingv1alpha1.LocalObjectReference{Name: fmt.Sprint("w", i%wallets)},
				Type: billingv1alpha1.TypeTopUp, GrantedCredits: "1"}})
	}); err != nil {
		return res, err
	}
	res.created = time.Since(t1)
	if err := waitForTx(ctx, c, (r+1)*n); err != nil {
		return res, err
	}
	res.settled = time.Since(t1)
	perWallet := (r + 1) * n / wallets
	if err := waitFor(ctx, c, wallets, func(w *billingv1alpha1.Wallet) bool { return w.Status.Balance == strconv.Itoa(perWallet) }); err != nil {
		return res, err
	}
	res.current = time.Since(t1)
	after, err := operatorWrites(ctx, cfg)
	if err != nil {
		return res, err
	}
	res.writes = after - before - float64(n) // minus this client's own creates
	res.peakAfter = loadtest.PeakRSS(pid)
	res.cpu = loadtest.CPUTime(pid) - cpuBefore
	return res, nil
}

func waitFor(ctx context.Context, c client.Client, want int, ok func(*billingv1alpha1.Wallet) bool) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var list billingv1alpha1.WalletList
		if err := c.List(ctx, &list, client.InNamespace("load")); err != nil {
			return err
		}
		good := 0
		for i := range list.Items {
			if ok(&list.Items[i]) {
				good++
			}
		}
		if good == want {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("wallets not current after 10 minutes")
}

func waitForTx(ctx context.Context, c client.Client, want int) error {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		var list billingv1alpha1.WalletTransactionList
		if err := c.List(ctx, &list, client.InNamespace("load")); err != nil {
			return err
		}
		settled := 0
		for _, t := range list.Items {
			if t.Status.Phase == billingv1alpha1.PhaseSettled {
				settled++
			}
		}
		if settled == want {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("transactions not settled after 10 minutes")
}

// operatorWrites sums the kube-apiserver's write requests (POST, PUT,
// PATCH, DELETE) on wallets and wallettransactions, status included.
func operatorWrites(ctx context.Context, cfg *rest.Config) (float64, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return 0, err
	}
	body, err := cs.Discovery().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return 0, err
	}
	var sum float64
	sc := bufio.NewScanner(strings.NewReader(string(body)))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, "apiserver_request_total{") || !(strings.Contains(l, `resource="wallettransactions"`) || strings.Contains(l, `resource="wallets"`)) {
			continue
		}
		if !(strings.Contains(l, `verb="POST"`) || strings.Contains(l, `verb="PUT"`) || strings.Contains(l, `verb="PATCH"`) || strings.Contains(l, `verb="DELETE"`)) {
			continue
		}
		v, err := strconv.ParseFloat(l[strings.LastIndex(l, " ")+1:], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, nil
}

// inBackground runs f in a goroutine when on, and returns where its error
// (nil when off) arrives.
func inBackground(on bool, f func() error) <-chan error {
	done := make(chan error, 1)
	if on {
		go func() { done <- f() }()
	} else {
		done <- nil
	}
	return done
}

// saveAPIServerProfile fetches a CPU profile of the kube-apiserver (its
// /debug/pprof, which needs the admin credentials this tool has) into a file.
func saveAPIServerProfile(ctx context.Context, cfg *rest.Config, path string) error {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	data, err := cs.Discovery().RESTClient().Get().AbsPath("/debug/pprof/profile").Param("seconds", "30").Timeout(time.Minute).DoRaw(ctx)
	if err != nil {
		return fmt.Errorf("kube-apiserver CPU profile: %w", err)
	}
	return os.WriteFile(path, data, 0o600)
}

// saveProfile fetches a pprof profile from the operator into a file.
func saveProfile(url, path string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o600)
}
