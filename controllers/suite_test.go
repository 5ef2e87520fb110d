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

package controllers_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
	"github.com/walletop/wallet-operator/internal/eventsink"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/ledgertest"
	"github.com/walletop/wallet-operator/internal/ledger/postgres"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/testenv"
)

var (
	env       *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	store     *ledger.SQLStore
	// openLedger opens the ledger of the backend under test (the same
	// database each time, so a restarted manager finds what it wrote)
	openLedger func() *ledger.SQLStore
	pgServer   *testenv.Postgres
	stopMgr    context.CancelFunc
	// settled auto top-ups are cleaned up this long after they applied
	autoTopUpTTL = 3 * time.Second
	mgrDone      chan struct{}
)

func TestControllers(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(20 * time.Second)
	SetDefaultEventuallyPollingInterval(50 * time.Millisecond)
	RunSpecs(t, "Controllers suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		testenv.Missing(err, func(m string) { Skip(m) }, func(m string) { Fail(m) })
	}
	root, err := testenv.ModuleRoot()
	Expect(err).NotTo(HaveOccurred())
	env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: assets,
	}
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred())
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(billingv1alpha1.AddToScheme(scheme)).To(Succeed())
	k8sClient, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	if pg, err := testenv.StartPostgres(); err == nil {
		pgServer = pg
	} else if testenv.InCI() {
		Fail("CI=true and PostgreSQL cannot start: " + err.Error())
	}
})

// Every spec runs twice: on the embedded SQLite ledger and on PostgreSQL.
var _ = Describe("on SQLite", Ordered, func() {
	BeforeAll(func() {
		dir := GinkgoT().TempDir()
		openLedger = func() *ledger.SQLStore {
			s, err := sqlite.Open(context.Background(), filepath.Join(dir, "ledger.db"), ledger.Options{})
			Expect(err).NotTo(HaveOccurred())
			return s
		}
		startManager()
	})
	AfterAll(stopManager)
	transactionSpecs()
	autoTopUpSpecs()
	walletStatusSpecs()
	hostileSpecs()
	healthSpecs() // reads objects only: one backend is enough
	gatingSpecs() // the API server's admission, reading status only
})

var _ = Describe("on PostgreSQL", Ordered, func() {
	BeforeAll(func() {
		if pgServer == nil {
			testenv.Missing(testenv.ErrNoPostgres, func(m string) { Skip(m) }, func(m string) { Fail(m) })
		}
		url, err := pgServer.NewDatabase(context.Background())
		Expect(err).NotTo(HaveOccurred())
		openLedger = func() *ledger.SQLStore {
			s, err := postgres.Open(context.Background(), url, ledger.Options{})
			Expect(err).NotTo(HaveOccurred())
			return s
		}
		startManager()
	})
	AfterAll(stopManager)
	transactionSpecs()
	autoTopUpSpecs()
	walletStatusSpecs()
	hostileSpecs()
})

var _ = AfterSuite(func() {
	stopManager()
	if pgServer != nil {
		pgServer.Stop()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// startManager runs the operator's controllers in-process on a SQLite ledger
// that survives stopManager/startManager (a crash and restart).
func startManager() {
	store = openLedger()
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   controllers.CacheOptions(),
		// each manager start registers the controllers anew
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	instrumented := controllers.Instrument(store) // as main.go wires it
	recorder, err := eventsink.ForManager(mgr, "wallet-operator", eventsink.Options{})
	Expect(err).NotTo(HaveOccurred())
	Expect((&controllers.WalletReconciler{Client: mgr.GetClient(), Ledger: instrumented, Forecasts: instrumented, Recorder: recorder}).SetupWithManager(mgr)).To(Succeed())
	Expect((&controllers.WalletTransactionReconciler{Client: mgr.GetClient(), Ledger: instrumented, Recorder: recorder,
		AutoTopUpTTL: autoTopUpTTL}).SetupWithManager(mgr)).To(Succeed())
	ctx, cancel := context.WithCancel(context.Background())
	stopMgr = cancel
	mgrDone = make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(mgrDone)
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
}

// startLedgerOnly opens the ledger without a manager (the operator is down).
func startLedgerOnly() {
	store = openLedger()
}

func stopManager() {
	if stopMgr == nil {
		return
	}
	stopMgr()
	<-mgrDone
	Expect(store.Close()).To(Succeed())
	stopMgr = nil
}

func ptr[T any](v T) *T { return &v }

var _ = Describe("two operators with leader election on one PostgreSQL ledger", func() {
	It("never double-apply, across a change of leader", func() {
		if pgServer == nil {
			testenv.Missing(testenv.ErrNoPostgres, func(m string) { Skip(m) }, func(m string) { Fail(m) })
		}
		url, err := pgServer.NewDatabase(context.Background())
		Expect(err).NotTo(HaveOccurred())
		type operator struct {
			elected <-chan struct{}
			stop    context.CancelFunc
			done    chan struct{}
			store   *ledger.SQLStore
		}
		start := func() *operator {
			s, err := postgres.Open(context.Background(), url, ledger.Options{})
			Expect(err).NotTo(HaveOccurred())
			lease, renew, retry := 5*time.Second, 4*time.Second, 250*time.Millisecond // room for a loaded machine
			mgr, err := ctrl.NewManager(cfg, ctrl.Options{
				Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
				LeaderElection: true, LeaderElectionID: "wallet-operator-test", LeaderElectionNamespace: "default",
				LeaseDuration: &lease, RenewDeadline: &renew, RetryPeriod: &retry,
				Controller: ctrlconfig.Controller{SkipNameValidation: ptr(true)},
			})
			Expect(err).NotTo(HaveOccurred())
			Expect((&controllers.WalletReconciler{Client: mgr.GetClient(), Ledger: s}).SetupWithManager(mgr)).To(Succeed())
			Expect((&controllers.WalletTransactionReconciler{Client: mgr.GetClient(), Ledger: s}).SetupWithManager(mgr)).To(Succeed())
			ctx, cancel := context.WithCancel(context.Background())
			op := &operator{elected: mgr.Elected(), stop: cancel, done: make(chan struct{}), store: s}
			go func() {
				defer GinkgoRecover()
				defer close(op.done)
				// A renewal missed on a loaded machine ends this manager
				// with "leader election lost": one more change of leader,
				// which is what the spec is about.
				if err := mgr.Start(ctx); err != nil {
					Expect(err).To(MatchError("leader election lost"))
				}
			}()
			return op
		}
		a, b := start(), start()
		defer func() {
			for _, op := range []*operator{a, b} {
				op.stop()
				<-op.done
				_ = op.store.Close()
			}
		}()

		ns := newNamespace()
		newWallet(ns, "shared")
		for i := range 20 {
			newTx(ns, fmt.Sprint("t", i), topUp("shared", "1.5", ""))
		}
		// the leader dies mid-run; the other takes over
		var leader *operator
		Eventually(func() bool {
			for _, op := range []*operator{a, b} {
				select {
				case <-op.elected:
					leader = op
					return true
				default:
				}
			}
			return false
		}).Should(BeTrue())
		phaseOf(ns, "t0", billingv1alpha1.PhaseSettled)
		leader.stop()
		for i := 20; i < 40; i++ {
			newTx(ns, fmt.Sprint("t", i), topUp("shared", "1.5", ""))
		}
		for i := range 40 {
			phaseOf(ns, fmt.Sprint("t", i), billingv1alpha1.PhaseSettled)
		}
		balanceOf(ns, "shared", "60")
		other := a
		if leader == a {
			other = b
		}
		bal, err := other.store.Balance(context.Background(), billingv1alpha1.LedgerWalletName(ns, "shared"))
		Expect(err).NotTo(HaveOccurred())
		Expect(bal.Sequence).To(Equal(int64(40)))
		rep, err := other.store.Verify(context.Background())
		Expect(err).NotTo(HaveOccurred())
		Expect(rep.Problems).To(BeEmpty())
	})
})

var _ = Describe("time, with an injected clock", func() {
	It("draws by priority, expires on the clock's time and asks to be woken exactly then", func() {
		clock := ledgertest.NewClock()
		s, err := sqlite.Open(context.Background(), filepath.Join(GinkgoT().TempDir(), "ledger.db"), ledger.Options{Clock: clock})
		Expect(err).NotTo(HaveOccurred())
		defer s.Close()
		wr := &controllers.WalletReconciler{Client: k8sClient, Ledger: s, Now: clock.Now}
		tr := &controllers.WalletTransactionReconciler{Client: k8sClient, Ledger: s}
		reconcileTx := func(ns, name string) {
			_, err := tr.Reconcile(ctx(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: name}})
			Expect(err).NotTo(HaveOccurred())
		}
		reconcileWallet := func(ns string) ctrl.Result {
			res, err := wr.Reconcile(ctx(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: ns, Name: "main"}})
			Expect(err).NotTo(HaveOccurred())
			return res
		}

		ns := newNamespace()
		newWallet(ns, "main")
		reconcileWallet(ns)
		promo := topUp("main", "10", "")
		promo.Priority = ptr(int32(10))
		in := metav1.NewTime(clock.Now().Add(time.Hour))
		promo.ExpiresAt = &in
		newTx(ns, "promo", promo)
		newTx(ns, "buy", topUp("main", "", "10"))
		newTx(ns, "use", debit("main", "4"))
		for _, n := range []string{"promo", "buy", "use"} {
			reconcileTx(ns, n)
		}
		res := reconcileWallet(ns)
		w := &billingv1alpha1.Wallet{}
		Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "main"}, w)).To(Succeed())
		Expect(w.Status.Balance).To(Equal("16"))
		Expect(w.Status.GrantedBalance).To(Equal("6")) // the debit drew the priority-10 promo first
		Expect(w.Status.PaidBalance).To(Equal("10"))
		Expect(w.Status.NextExpiration.Credits).To(Equal("6"))
		Expect(w.Status.NextExpiration.At.Time).To(BeTemporally("==", in.Time))
		Expect(res.RequeueAfter).To(BeNumerically("~", time.Hour, time.Second)) // woken at the expiry, no polling

		clock.Advance(time.Hour)
		res = reconcileWallet(ns)
		Expect(k8sClient.Get(ctx(), client.ObjectKey{Namespace: ns, Name: "main"}, w)).To(Succeed())
		Expect(w.Status.Balance).To(Equal("10"))
		Expect(w.Status.GrantedBalance).To(Equal("0"))
		Expect(w.Status.NextExpiration).To(BeNil())
		Expect(res.RequeueAfter).To(BeZero())
		page, err := s.Entries(ctx(), ledger.EntryQuery{Wallet: billingv1alpha1.LedgerWalletName(ns, "main"), Types: []ledger.EntryType{ledger.EntryExpiry}})
		Expect(err).NotTo(HaveOccurred())
		Expect(page.Entries).To(HaveLen(1))
		Expect(page.Entries[0].Timestamp).To(BeTemporally("==", in.Time))
	})
})
