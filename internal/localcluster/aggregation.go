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

package localcluster

// The aggregation layer of a local control plane: the front-proxy
// certificates the kube-apiserver authenticates to extension servers with, a
// serving certificate for the reports server, and the Service and APIService
// that route reports.walletop.io to it.

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Names of the objects that route the reports API, as in config/apiservice
// (in OperatorNamespace).
const (
	reportsService = "wallet-operator-reports"
	reportsGroup   = "reports.walletop.io"
	reportsVersion = "v1alpha1"
	// frontProxyUser is the name in the kube-apiserver's proxy client certificate.
	frontProxyUser = "front-proxy-client"
)

// Certs are the PEM files of a local aggregation setup.
type Certs struct {
	FrontProxyCA, ProxyClientCert, ProxyClientKey string
	ServingCA, ServingCert, ServingKey            string
}

// generateCerts writes (or reuses, when all exist) the certificates into dir.
func generateCerts(dir string) (*Certs, error) {
	f := &Certs{
		FrontProxyCA: filepath.Join(dir, "front-proxy-ca.crt"), ProxyClientCert: filepath.Join(dir, "front-proxy-client.crt"),
		ProxyClientKey: filepath.Join(dir, "front-proxy-client.key"), ServingCA: filepath.Join(dir, "serving-ca.crt"),
		ServingCert: filepath.Join(dir, "serving.crt"), ServingKey: filepath.Join(dir, "serving.key"),
	}
	all := true
	for _, p := range []string{f.FrontProxyCA, f.ProxyClientCert, f.ProxyClientKey, f.ServingCA, f.ServingCert, f.ServingKey} {
		if _, err := os.Stat(p); err != nil {
			all = false
		}
	}
	if all {
		return f, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	proxyCA, err := newCA("wallet-operator-local-front-proxy-ca")
	if err != nil {
		return nil, err
	}
	servingCA, err := newCA("wallet-operator-local-serving-ca")
	if err != nil {
		return nil, err
	}
	clientCert, clientKey, err := proxyCA.issue(frontProxyUser, nil, nil, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, err
	}
	serving, servingKey, err := servingCA.issue(reportsService+"."+OperatorNamespace+".svc",
		[]string{reportsService + "." + OperatorNamespace + ".svc", reportsService + "." + OperatorNamespace + ".svc.cluster.local", "localhost"},
		[]net.IP{net.ParseIP("127.0.0.1")}, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, err
	}
	for p, data := range map[string][]byte{
		f.FrontProxyCA: proxyCA.certPEM, f.ProxyClientCert: clientCert, f.ProxyClientKey: clientKey,
		f.ServingCA: servingCA.certPEM, f.ServingCert: serving, f.ServingKey: servingKey,
	} {
		if err := os.WriteFile(p, data, 0o600); err != nil {
			return nil, err
		}
	}
	return f, nil
}

type ca struct {
	cert    *x509.Certificate
	key     crypto.Signer
	certPEM []byte
}

// newCA makes a self-signed CA (client-go's, valid ten years).
func newCA(cn string) (*ca, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c, err := cert.NewSelfSignedCACert(cert.Config{CommonName: cn}, key)
	if err != nil {
		return nil, err
	}
	certPEM, err := cert.EncodeCertificates(c)
	if err != nil {
		return nil, err
	}
	return &ca{cert: c, key: key, certPEM: certPEM}, nil
}

// issue signs a leaf certificate (client-go has no helper for one signed
// by a CA of our own).
func (c *ca) issue(cn string, dns []string, ips []net.IP, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: cn}, DNSNames: dns, IPAddresses: ips,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, key.Public(), c.key)
	if err != nil {
		return nil, nil, err
	}
	if keyPEM, err = keyutil.MarshalPrivateKeyToPEM(key); err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: cert.CertificateBlockType, Bytes: der}), keyPEM, nil
}

func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	return n
}

// configureAggregation turns the aggregation layer on: the kube-apiserver
// trusts requests that carry the front-proxy headers and proxies to
// extension servers with the front-proxy client certificate.
func configureAggregation(api *envtest.APIServer, f *Certs) {
	args := api.Configure()
	args.Set("requestheader-client-ca-file", f.FrontProxyCA)
	args.Set("requestheader-allowed-names", frontProxyUser)
	args.Set("requestheader-username-headers", "X-Remote-User")
	args.Set("requestheader-uid-headers", "X-Remote-Uid")
	args.Set("requestheader-group-headers", "X-Remote-Group")
	args.Set("requestheader-extra-headers-prefix", "X-Remote-Extra-")
	args.Set("proxy-client-cert-file", f.ProxyClientCert)
	args.Set("proxy-client-key-file", f.ProxyClientKey)
}

// RegisterReportsAPI routes the reports API to a server listening on 127.0.0.1:port:
// a Service of type ExternalName localhost (Endpoints may not hold
// loopback addresses) and the APIService with the serving CA. It waits
// until the kube-apiserver reports the APIService Available.
func RegisterReportsAPI(ctx context.Context, c client.Client, f *Certs, port int) error {
	caBundle, err := os.ReadFile(f.ServingCA)
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: OperatorNamespace}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: OperatorNamespace, Name: reportsService}}
	if err := upsert(ctx, c, svc, func() {
		svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "localhost",
			Ports: []corev1.ServicePort{{Name: "https", Port: int32(port)}}}
	}); err != nil {
		return err
	}
	apisvc := &unstructured.Unstructured{}
	apisvc.SetAPIVersion("apiregistration.k8s.io/v1")
	apisvc.SetKind("APIService")
	apisvc.SetName(reportsVersion + "." + reportsGroup)
	if err := upsert(ctx, c, apisvc, func() {
		apisvc.Object["spec"] = map[string]any{
			"group": reportsGroup, "version": reportsVersion, "groupPriorityMinimum": int64(1000), "versionPriority": int64(100),
			"caBundle": base64.StdEncoding.EncodeToString(caBundle), "service": map[string]any{"namespace": OperatorNamespace, "name": reportsService, "port": int64(port)},
		}
	}); err != nil {
		return err
	}
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got := &unstructured.Unstructured{}
		got.SetGroupVersionKind(apisvc.GroupVersionKind())
		if err := c.Get(ctx, client.ObjectKey{Name: apisvc.GetName()}, got); err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, cond := range conds {
			m, _ := cond.(map[string]any)
			if m["type"] == "Available" && m["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
}

// upsert creates obj or updates it to what mutate sets, retrying when
// someone else (the kube-apiserver's availability controller, for an
// APIService) wrote it in between.
func upsert(ctx context.Context, c client.Client, obj client.Object, mutate func()) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		_, err := controllerutil.CreateOrUpdate(ctx, c, obj, func() error { mutate(); return nil })
		return err
	})
	if err != nil {
		return fmt.Errorf("writing %s: %w", client.ObjectKeyFromObject(obj), err)
	}
	return nil
}
