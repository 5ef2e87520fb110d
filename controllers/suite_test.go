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
	"path/filepath"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/testenv"
)

var (
	env       *envtest.Environment
	cfg       *rest.Config
	k8sClient client.Client
	scheme    = runtime.NewScheme()
	store     *ledger.SQLStore
	ledgerDir string
	stopMgr   context.CancelFunc
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
	ledgerDir = GinkgoT().TempDir()
	startManager()
})

var _ = AfterSuite(func() {
	stopManager()
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// startManager runs the operator's controllers in-process on a SQLite ledger
// that survives stopManager/startManager (a crash and restart).
func startManager() {
	var err error
	store, err = sqlite.Open(context.Background(), filepath.Join(ledgerDir, "ledger.db"), ledger.Options{})
	Expect(err).NotTo(HaveOccurred())
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   cache.Options{DefaultTransform: cache.TransformStripManagedFields()},
		// each manager start registers the controllers anew
		Controller: ctrlconfig.Controller{SkipNameValidation: ptr(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	Expect((&controllers.WalletReconciler{Client: mgr.GetClient(), Ledger: controllers.Instrument(store), Recorder: mgr.GetEventRecorder("wallet-operator")}).SetupWithManager(mgr)).To(Succeed())
	Expect((&controllers.WalletTransactionReconciler{Client: mgr.GetClient(), Ledger: store, Recorder: mgr.GetEventRecorder("wallet-operator"),
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
	var err error
	store, err = sqlite.Open(context.Background(), filepath.Join(ledgerDir, "ledger.db"), ledger.Options{})
	Expect(err).NotTo(HaveOccurred())
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
