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

package servingcert_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/walletop/wallet-operator/internal/servingcert"
	"github.com/walletop/wallet-operator/internal/testenv"
)

func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The operator issues the CA and the serving certificate into the Secret,
// puts the CA in the APIService, serves once the files are mounted, and
// issues anew when the Secret is deleted.
func TestOperatorManagedServingCertificate(t *testing.T) {
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		testenv.Missing(err, func(m string) { t.Skip(m) }, func(m string) { t.Fatal(m) })
	}
	var managerLog testenv.SyncBuffer
	logf.SetLogger(zap.New(zap.WriteTo(&managerLog), zap.UseDevMode(true)))
	defer func() {
		if t.Failed() {
			t.Log("manager log:\n" + managerLog.String())
		}
	}()
	env := &envtest.Environment{BinaryAssetsDirectory: assets}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const ns = "wallet-operator-system"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	apisvc := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
		"metadata": map[string]any{"name": "v1alpha1.reports.walletop.io"},
		"spec": map[string]any{"group": "reports.walletop.io", "version": "v1alpha1", "groupPriorityMinimum": int64(1000), "versionPriority": int64(100),
			"service": map[string]any{"namespace": ns, "name": "wallet-operator-reports", "port": int64(443)}}}}
	if err := c.Create(ctx, apisvc); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	o := servingcert.Options{Namespace: ns, Secret: "wallet-operator-reports-serving-cert", Service: "wallet-operator-reports",
		APIService: "v1alpha1.reports.walletop.io", CertDir: dir}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	if err != nil {
		t.Fatal(err)
	}
	// no Secret yet: Add creates it
	if err := servingcert.Add(mgr, o); err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- mgr.Start(mctx) }()
	defer func() { cancel(); <-done }()

	issued := func() (*corev1.Secret, error) {
		s := &corev1.Secret{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: o.Secret}, s); err != nil {
			return nil, err
		}
		if len(s.Data["tls.crt"]) == 0 || len(s.Data["ca.crt"]) == 0 || len(s.Data["tls.key"]) == 0 {
			return nil, os.ErrNotExist
		}
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(apisvc.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKey{Name: apisvc.GetName()}, got); err != nil {
			return nil, err
		}
		bundle, _, _ := unstructured.NestedString(got.Object, "spec", "caBundle")
		if bundle != base64.StdEncoding.EncodeToString(s.Data["ca.crt"]) {
			return nil, os.ErrInvalid
		}
		return s, nil
	}
	var secret *corev1.Secret
	eventually(t, "the Secret filled and the CA injected", func() (err error) { secret, err = issued(); return err })
	verify(t, secret, o.DNSName())

	// every replica copies the Secret into CertDir: the server may start
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	if err := servingcert.WaitForFiles(wctx, o, func(string) {}); err != nil {
		t.Fatalf("WaitForFiles: %v", err)
	}
	cert, _ := o.Files()
	served := func() []byte { b, _ := os.ReadFile(cert); return b }
	if !bytes.Equal(served(), secret.Data["tls.crt"]) {
		t.Fatal("the served certificate is not the Secret's")
	}

	// the rotator has started for good (it looks for the files only after its
	// first refresh; a Secret gone during that first refresh stops it, and the
	// Pod restarts)
	eventually(t, "the rotator to see the mounted files", func() error {
		if !bytes.Contains([]byte(managerLog.String()), []byte("certs are ready in")) {
			return os.ErrNotExist
		}
		return nil
	})

	// deleted by hand: issued anew, with a new CA in the APIService
	if err := c.Delete(ctx, secret); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the Secret issued anew", func() error {
		s, err := issued()
		if err != nil {
			return err
		}
		if bytes.Equal(s.Data["ca.crt"], secret.Data["ca.crt"]) {
			return errors.New("the Secret still holds the deleted one's CA")
		}
		verify(t, s, o.DNSName())
		secret = s
		return nil
	})
	eventually(t, "the new certificate served", func() error {
		if !bytes.Equal(served(), secret.Data["tls.crt"]) {
			return errors.New("the served certificate is still the deleted Secret's")
		}
		return nil
	})
}

func verify(t *testing.T, s *corev1.Secret, dnsName string) {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.Data["ca.crt"]) {
		t.Fatal("ca.crt holds no certificate")
	}
	block, _ := pem.Decode(s.Data["tls.crt"])
	if block == nil {
		t.Fatal("tls.crt holds no certificate")
	}
	leaf, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, DNSName: dnsName}); err != nil {
		t.Fatalf("the serving certificate does not verify for %s: %v", dnsName, err)
	}
	if left := time.Until(leaf.NotAfter); left < 300*24*time.Hour {
		t.Errorf("the certificate is valid %v more, want about a year", left)
	}
}
