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

// Command wallet-operator runs the wallet-operator manager.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
	"github.com/walletop/wallet-operator/internal/eventsink"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/dsn"
	"github.com/walletop/wallet-operator/internal/ledgercmd"
	"github.com/walletop/wallet-operator/internal/reports"
	"github.com/walletop/wallet-operator/internal/servingcert"
)

var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(billingv1alpha1.AddToScheme(scheme))
}

// options are the manager's command-line flags.
type options struct {
	metricsAddr   string
	secureMetrics bool
	enableHTTP2   bool
	probeAddr     string
	leaderElect   bool
	leaderElectNS string
	ledger        string
	ledgerLock    time.Duration
	autoTopUpTTL  time.Duration
	statusEvery   time.Duration
	reports       bool
	reportsOpts   *reports.Options
	servingCert   servingcert.Options
	pprofAddr     string
}

func (o *options) bind(fs *flag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", ":8443",
		"Address the metrics endpoint binds to (HTTPS by default; \"0\" turns it off).")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true,
		"Serve metrics over HTTPS, authenticated and authorized by the kube-apiserver.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false,
		"Allow HTTP/2 on the metrics server (off by default: HTTP/2 Rapid Reset, CVE-2023-44487).")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081",
		"Address the /healthz and /readyz probes bind to.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false,
		"Elect a leader so that only one replica reconciles at a time.")
	fs.StringVar(&o.leaderElectNS, "leader-election-namespace", "",
		"Namespace of the leader election Lease (default: the pod's namespace).")
	fs.DurationVar(&o.autoTopUpTTL, "auto-topup-ttl", time.Hour,
		"Delete settled auto top-up WalletTransactions this long after they applied (their ledger entries stay); 0 keeps them.")
	fs.DurationVar(&o.statusEvery, "status-interval", time.Second,
		"Refresh a Wallet's status at most this often for ledger writes without a WalletTransaction (usage ingestion).")
	fs.StringVar(&o.ledger, "ledger", dsn.Default,
		"Ledger DSN: sqlite:///path/to/ledger.db (embedded, one writer) or postgres://user@host/db; default $"+dsn.Env+" when set.")
	fs.DurationVar(&o.ledgerLock, "ledger-lock-wait", 30*time.Second,
		"How long to wait for another process's lock on a SQLite ledger before exiting (one process writes it at a time).")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0",
		"Address of Go's pprof endpoints (/debug/pprof/), for profiling; \"0\" (default) turns them off. Bind it to loopback only.")
	fs.StringVar(&o.servingCert.Secret, "reports-cert-secret", "",
		"Manage the reports API's serving certificate in this Secret (a CA and a certificate, renewed before expiry, the CA injected into the APIService); empty: use --tls-cert-file as given.")
	fs.StringVar(&o.servingCert.Namespace, "reports-cert-namespace", "",
		"Namespace of --reports-cert-secret and --reports-service (default: the pod's).")
	fs.StringVar(&o.servingCert.Service, "reports-service", "wallet-operator-reports", "The reports API's Service; the certificate is for <service>.<namespace>.svc.")
	fs.StringVar(&o.servingCert.APIService, "reports-apiservice", "v1alpha1.reports.walletop.io", "The APIService whose caBundle gets the CA.")
	fs.StringVar(&o.servingCert.CertDir, "reports-cert-dir", "/etc/wallet-operator/reports-tls",
		"Where --reports-cert-secret is mounted (tls.crt, tls.key); the server starts once they are there and reloads them when they change.")
	fs.BoolVar(&o.reports, "reports-server", true,
		"Serve the reports API (reports.walletop.io) in this process; see --secure-port, --tls-cert-file, --authentication-kubeconfig.")
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "ledger" {
		os.Exit(ledgercmd.Run(os.Args[2:], os.Stdout, os.Stderr))
	}
	memoryDefaults()
	o := options{reportsOpts: reports.NewOptions()}
	o.bind(flag.CommandLine)
	zapOpts := zap.Options{}
	zapOpts.BindFlags(flag.CommandLine)
	// The reports server's flags (secure serving, delegated authn/authz)
	// are pflags, as in every aggregated API server.
	o.reportsOpts.AddFlags(pflag.CommandLine)
	pflag.CommandLine.AddGoFlagSet(flag.CommandLine)
	pflag.Parse()
	o.ledger = dsn.FromEnv(o.ledger, pflag.CommandLine.Changed("ledger"))
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	log := ctrl.Log.WithName("setup")

	if err := run(o); err != nil {
		log.Error(err, "wallet-operator stopped")
		os.Exit(1)
	}
}

// defaultGOGC is the garbage collector's target when GOGC is not set: most
// of the heap is the informer cache of WalletTransactions, so a lower target
// buys a smaller resident set with some CPU (figures in docs/benchmarks.md).
const defaultGOGC = 20

// memoryDefaults applies defaultGOGC unless the environment sets GOGC.
func memoryDefaults() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGOGC)
	}
}

func run(o options) error {
	log := ctrl.Log.WithName("setup")
	ledgerDSN, err := dsn.Parse(o.ledger)
	if err != nil {
		return fmt.Errorf("--ledger: %w", err)
	}
	log.Info("opening the ledger", "ledger", ledgerDSN.Redacted())
	store, err := dsn.Open(context.Background(), ledgerDSN, ledger.Options{LockWait: o.ledgerLock})
	if err != nil {
		return fmt.Errorf("opening the ledger %s: %w", ledgerDSN.Redacted(), err)
	}
	defer store.Close()

	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if o.secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	restConfig := ctrl.GetConfigOrDie()
	stop := ctrl.SetupSignalHandler()
	mgr, err := ctrl.NewManager(restConfig, ctrl.Options{
		Logger:                        quietStop(ctrl.Log, stop),
		Scheme:                        scheme,
		Metrics:                       metricsOpts,
		HealthProbeBindAddress:        o.probeAddr,
		PprofBindAddress:              o.pprofAddr,
		LeaderElection:                o.leaderElect,
		LeaderElectionID:              "wallet-operator.billing.walletop.io",
		LeaderElectionNamespace:       o.leaderElectNS,
		LeaderElectionReleaseOnCancel: true,
		Cache:                         controllers.CacheOptions(),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	instrumented := controllers.Instrument(store)
	metrics.Registry.MustRegister(reports.Collectors()...)
	// Events go through a recorder with bounded memory rather than
	// mgr.GetEventRecorder's (see internal/eventsink).
	recorder, err := eventsink.ForManager(mgr, "wallet-operator", eventsink.Options{})
	if err != nil {
		return fmt.Errorf("events: %w", err)
	}
	if err := (&controllers.WalletReconciler{
		Client: mgr.GetClient(), Ledger: instrumented, Forecasts: instrumented, Recorder: recorder, StatusInterval: o.statusEvery,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("wallet controller: %w", err)
	}
	if err := (&controllers.WalletTransactionReconciler{
		Client: mgr.GetClient(), Ledger: instrumented, Recorder: recorder, AutoTopUpTTL: o.autoTopUpTTL,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("wallettransaction controller: %w", err)
	}
	if o.reports {
		dir, err := os.MkdirTemp("", "wallet-operator-reports-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if err := o.reportsOpts.UseKubeconfig(restConfig, dir); err != nil {
			return fmt.Errorf("reports server: %w", err)
		}
		// the reports server reads the Wallets' rules and runways from the manager's cache
		o.reportsOpts.Plans = controllers.WalletPlans{Reader: mgr.GetClient()}
		lazy := &lazyReports{opts: o.reportsOpts, store: instrumented}
		if o.servingCert.Secret == "" {
			// the certificate is given: a bad one stops the start here
			server, err := reports.New(o.reportsOpts, instrumented)
			if err != nil {
				return fmt.Errorf("reports server: %w", err)
			}
			lazy.server.Store(server)
		} else {
			if o.servingCert.Namespace == "" {
				b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
				if err != nil {
					return fmt.Errorf("--reports-cert-namespace is not set and the pod's namespace is unknown: %w", err)
				}
				o.servingCert.Namespace = strings.TrimSpace(string(b))
			}
			if err := servingcert.Add(mgr, o.servingCert); err != nil {
				return fmt.Errorf("reports serving certificate: %w", err)
			}
			cert := o.servingCert
			lazy.waitFor = &cert
		}
		if err := mgr.Add(lazy); err != nil {
			return fmt.Errorf("reports server: %w", err)
		}
		if err := mgr.AddReadyzCheck("reports", func(*http.Request) error { return lazy.Ready() }); err != nil {
			return fmt.Errorf("ready check: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("ledger", func(r *http.Request) error { return store.Ping(r.Context()) }); err != nil {
		return fmt.Errorf("ready check: %w", err)
	}

	log.Info("starting manager")
	return mgr.Start(stop)
}

// lazyReports runs the reports server on every replica. When the operator
// manages its serving certificate, the server is built once the files are
// mounted from the Secret the elected replica fills.
type lazyReports struct {
	opts    *reports.Options
	store   ledger.Store
	waitFor *servingcert.Options
	server  atomic.Pointer[reports.Server]
}

func (l *lazyReports) NeedLeaderElection() bool { return false }

func (l *lazyReports) Start(ctx context.Context) error {
	if server := l.server.Load(); server != nil {
		return server.Start(ctx)
	}
	say := func(m string) { ctrl.Log.WithName("reports").Info(m) }
	if err := servingcert.WaitForFiles(ctx, *l.waitFor, say); err != nil {
		return nil // stopped while waiting
	}
	l.opts.SecureServing.ServerCert.CertKey.CertFile, l.opts.SecureServing.ServerCert.CertKey.KeyFile = l.waitFor.Files()
	server, err := reports.New(l.opts, l.store)
	if err != nil {
		return fmt.Errorf("reports server: %w", err)
	}
	l.server.Store(server)
	return server.Start(ctx)
}

// Ready is the server's readiness, false until it is built.
func (l *lazyReports) Ready() error {
	s := l.server.Load()
	if s == nil {
		return errors.New("reports server: waiting for its serving certificate")
	}
	return s.Ready()
}
