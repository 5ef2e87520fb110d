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

package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
	"github.com/walletop/wallet-operator/controllers"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/postgres"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/localcluster"
	"github.com/walletop/wallet-operator/internal/reports"
	"github.com/walletop/wallet-operator/internal/testenv"
)

// The suite runs the reports server against a real kube-apiserver with the
// aggregation layer on: every request goes kubectl/client -> kube-apiserver
// (authentication, APF, proxy) -> reports server (delegated authn/authz) ->
// ledger.
var (
	cluster   *localcluster.Cluster
	admin     *rest.Config
	adminKC   string // kubeconfig file of the admin, for kubectl
	k8sClient client.Client
	// walletClient knows the operator's CRDs (Wallet objects)
	walletClient client.Client
	// store is what the reports server reads: the specs run once on SQLite
	// and once on PostgreSQL, switching it between the two (never while a
	// request is in flight).
	store                  = &switchStore{}
	sqliteLedger, pgLedger ledger.Store
	pgServer               *testenv.Postgres
	suiteCtx               context.Context
	stopServer             context.CancelFunc
)

func TestReports(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "Reports API suite")
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	Expect(err).NotTo(HaveOccurred())
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		testenv.Missing(err, func(m string) { Skip(m) }, func(m string) { Fail(m) })
	}
	dir := GinkgoT().TempDir()
	var files *localcluster.Certs
	cluster, err = localcluster.Start(localcluster.Options{Dir: dir, Assets: assets, Aggregation: true})
	Expect(err).NotTo(HaveOccurred())
	admin, files = cluster.Config, cluster.Certs
	adminKC = filepath.Join(dir, "admin.kubeconfig")
	Expect(reports.WriteKubeconfig(rest.CopyConfig(admin), adminKC)).To(Succeed())
	k8sClient, err = client.New(admin, client.Options{})
	Expect(err).NotTo(HaveOccurred())

	sqliteLedger, err = sqlite.Open(context.Background(), filepath.Join(dir, "ledger.db"), ledger.Options{})
	Expect(err).NotTo(HaveOccurred())
	store.Store = sqliteLedger
	if pgServer, err = testenv.StartPostgres(); err == nil {
		url, err := pgServer.NewDatabase(context.Background())
		Expect(err).NotTo(HaveOccurred())
		pgLedger, err = postgres.Open(context.Background(), url, ledger.Options{})
		Expect(err).NotTo(HaveOccurred())
	} else if testenv.InCI() {
		Fail("CI=true and PostgreSQL cannot start: " + err.Error())
	}

	port := freePort()
	opts := reports.NewOptions()
	opts.SecureServing.BindAddress = net.ParseIP("127.0.0.1")
	opts.SecureServing.BindPort = port
	opts.SecureServing.ServerCert.CertKey.CertFile = files.ServingCert
	opts.SecureServing.ServerCert.CertKey.KeyFile = files.ServingKey
	Expect(opts.UseKubeconfig(admin, dir)).To(Succeed())
	// forecasts read the Wallets' rules, RUNS OUT their status, as main.go wires it
	walletScheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(walletScheme)).To(Succeed())
	Expect(billingv1alpha1.AddToScheme(walletScheme)).To(Succeed())
	walletClient, err = client.New(admin, client.Options{Scheme: walletScheme})
	Expect(err).NotTo(HaveOccurred())
	opts.Plans = controllers.WalletPlans{Reader: walletClient}
	server, err := reports.New(opts, store)
	Expect(err).NotTo(HaveOccurred())
	suiteCtx, stopServer = context.WithCancel(context.Background())
	go func() {
		defer GinkgoRecover()
		Expect(server.Start(suiteCtx)).To(Succeed())
	}()
	Expect(localcluster.RegisterReportsAPI(suiteCtx, k8sClient, files, port)).To(Succeed())
	applyFile(filepath.Join(moduleRoot(), "config", "rbac", "wallet_reports_roles.yaml"))
	applyFile(filepath.Join(moduleRoot(), "config", "crd", "bases", "billing.walletop.io_wallets.yaml"))
	Eventually(func() error { return walletClient.List(suiteCtx, &billingv1alpha1.WalletList{}) }).Should(Succeed())
})

var _ = AfterSuite(func() {
	if stopServer != nil {
		stopServer()
	}
	for _, s := range []ledger.Store{sqliteLedger, pgLedger} {
		if s != nil {
			_ = s.Close()
		}
	}
	if pgServer != nil {
		pgServer.Stop()
	}
	if cluster != nil {
		Expect(cluster.Stop()).To(Succeed())
	}
})

func moduleRoot() string {
	root, err := testenv.ModuleRoot()
	Expect(err).NotTo(HaveOccurred())
	return root
}

// applyFile creates every object of a multi-document YAML file.
func applyFile(path string) {
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	dec := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err == io.EOF {
			return
		} else {
			Expect(err).NotTo(HaveOccurred())
		}
		if len(u.Object) == 0 {
			continue
		}
		Expect(k8sClient.Create(suiteCtx, u)).To(Succeed())
	}
}

// response is an HTTP answer through the kube-apiserver.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) status() metav1.Status {
	var s metav1.Status
	Expect(json.Unmarshal(r.body, &s)).To(Succeed(), string(r.body))
	return s
}

func (r response) into(v any) {
	ExpectWithOffset(1, r.code).To(Equal(http.StatusOK), string(r.body))
	ExpectWithOffset(1, json.Unmarshal(r.body, v)).To(Succeed())
}

// call sends a request as the identity of cfg to the kube-apiserver.
func call(cfg *rest.Config, method, path string, body any) response {
	hc, err := rest.HTTPClientFor(cfg)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		ExpectWithOffset(1, err).NotTo(HaveOccurred())
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(cfg.Host, "/")+path, rd)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	ExpectWithOffset(1, err).NotTo(HaveOccurred())
	return response{code: resp.StatusCode, header: resp.Header, body: b}
}

func get(path string) response { return call(admin, http.MethodGet, path, nil) }

const base = "/apis/reports.walletop.io/v1alpha1"

func nsPath(ns, resource string) string {
	return fmt.Sprintf("%s/namespaces/%s/%s", base, ns, resource)
}

func kubectl(kubeconfig string, args ...string) (string, error) {
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// switchStore is the ledger the reports server reads, switched between
// backends by the specs.
type switchStore struct{ ledger.Store }
