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

// Package servingcert keeps the reports API's serving certificate without
// cert-manager: a CA and a certificate for the reports Service in a Secret,
// renewed before they expire, and the CA in the APIService's caBundle, as
// KEDA's metrics server and kueue's visibility server do. The elected
// replica writes the Secret; every replica copies it into CertDir itself
// (the kubelet would take up to a minute or more to fill a volume of a
// Secret created after the Pod started) and serves those files, reloading
// them when they change.
package servingcert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/open-policy-agent/cert-controller/pkg/rotator"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// Options name what is managed.
type Options struct {
	// Namespace and Secret hold the CA and the serving certificate (the
	// Secret must exist; its data is the operator's).
	Namespace, Secret string
	// Service is the reports API's Service in Namespace: the certificate is
	// for <Service>.<Namespace>.svc.
	Service string
	// APIService gets the CA in its caBundle.
	APIService string
	// CertDir receives the Secret's tls.crt and tls.key: a writable
	// directory (an emptyDir), or a volume of the Secret, which is then left
	// to the kubelet.
	CertDir string
	// CertValidity and CAValidity are how long a certificate and the CA are
	// valid; they are renewed LookAhead before they expire. Zero: defaults.
	CertValidity, CAValidity, LookAhead time.Duration
}

// Defaults of Options' durations: a year for the certificate, ten for the CA,
// renewed 90 days before expiry, checked every hour.
const (
	DefaultCertValidity = 365 * 24 * time.Hour
	DefaultCAValidity   = 10 * 365 * 24 * time.Hour
	DefaultLookAhead    = 90 * 24 * time.Hour
	checkEvery          = time.Hour
)

// Files are the served certificate and key.
func (o Options) Files() (cert, key string) {
	return filepath.Join(o.CertDir, "tls.crt"), filepath.Join(o.CertDir, "tls.key")
}

// DNSName is the name the certificate is for.
func (o Options) DNSName() string { return fmt.Sprintf("%s.%s.svc", o.Service, o.Namespace) }

// Add registers the rotator with mgr. It runs on the elected replica only,
// so that replicas never write competing CAs.
func Add(mgr manager.Manager, o Options) error {
	if o.Namespace == "" || o.Secret == "" || o.Service == "" || o.APIService == "" || o.CertDir == "" {
		return errors.New("serving certificate: namespace, secret, service, apiservice and cert dir are all required")
	}
	cert, ca, ahead := o.CertValidity, o.CAValidity, o.LookAhead
	if cert == 0 {
		cert = DefaultCertValidity
	}
	if ca == 0 {
		ca = DefaultCAValidity
	}
	if ahead == 0 {
		ahead = DefaultLookAhead
	}
	// The rotator fills a Secret but cannot create one: make sure it is
	// there now (the rotator fails to start without it) and, on the elected
	// replica, keep it there (a Secret deleted by hand comes back and is
	// filled anew).
	key := types.NamespacedName{Namespace: o.Namespace, Name: o.Secret}
	if err := ensureSecret(context.Background(), mgr.GetAPIReader(), mgr.GetClient(), key); err != nil {
		return err
	}
	if err := mgr.Add(&keeper{reader: mgr.GetAPIReader(), writer: mgr.GetClient(), key: key}); err != nil {
		return err
	}
	if err := mgr.Add(&mirror{reader: mgr.GetAPIReader(), key: key, dir: o.CertDir}); err != nil {
		return err
	}
	return rotator.AddRotator(mgr, &rotator.CertRotator{
		SecretKey:              types.NamespacedName{Namespace: o.Namespace, Name: o.Secret},
		CertDir:                o.CertDir,
		CAName:                 "wallet-operator-reports-ca",
		CAOrganization:         "wallet-operator",
		DNSName:                o.DNSName(),
		ExtraDNSNames:          []string{o.DNSName() + ".cluster.local"},
		IsReady:                make(chan struct{}),
		Webhooks:               []rotator.WebhookInfo{{Name: o.APIService, Type: rotator.APIService}},
		RequireLeaderElection:  true,
		ServerCertDuration:     cert,
		CaCertDuration:         ca,
		LookaheadInterval:      ahead,
		RotationCheckFrequency: min(checkEvery, ahead/2),
		ControllerName:         "reports-serving-cert",
	})
}

func ensureSecret(ctx context.Context, r client.Reader, w client.Writer, key types.NamespacedName) error {
	err := r.Get(ctx, key, &corev1.Secret{})
	if !apierrors.IsNotFound(err) {
		if err != nil {
			return fmt.Errorf("serving certificate Secret %s: %w", key, err)
		}
		return nil
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name,
		Labels: map[string]string{"app.kubernetes.io/name": "wallet-operator", "app.kubernetes.io/component": "reports"}}}
	if err := w.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating the serving certificate Secret %s: %w", key, err)
	}
	return nil
}

// keeper re-creates the Secret if it is deleted (elected replica only).
type keeper struct {
	reader client.Reader
	writer client.Writer
	key    types.NamespacedName
}

func (k *keeper) NeedLeaderElection() bool { return true }

func (k *keeper) Start(ctx context.Context) error {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := ensureSecret(ctx, k.reader, k.writer, k.key); err != nil && ctx.Err() == nil {
				log.FromContext(ctx).Error(err, "serving certificate")
			}
		}
	}
}

// mirror copies the Secret's certificate and key into dir on every replica:
// at once on the first start, and within mirrorEvery of a renewal.
type mirror struct {
	reader client.Reader
	key    types.NamespacedName
	dir    string
}

const mirrorEvery = 10 * time.Second

func (m *mirror) NeedLeaderElection() bool { return false }

func (m *mirror) Start(ctx context.Context) error {
	for {
		wait := mirrorEvery
		copied, err := m.copy(ctx)
		switch {
		case errors.Is(err, syscall.EROFS):
			log.FromContext(ctx).Info("the serving certificate's directory is read-only: the kubelet keeps it from the Secret", "dir", m.dir)
			return nil
		case err != nil && ctx.Err() == nil:
			log.FromContext(ctx).Error(err, "copying the serving certificate", "secret", m.key, "dir", m.dir)
		case !copied:
			wait = time.Second // not issued yet
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// copy writes the Secret's tls.key and tls.crt where they differ from the
// files (each replaced by a rename, the key first) and says whether the
// files now hold a certificate.
func (m *mirror) copy(ctx context.Context) (bool, error) {
	s := &corev1.Secret{}
	if err := m.reader.Get(ctx, m.key, s); err != nil {
		if apierrors.IsNotFound(err) {
			return false, nil
		}
		return false, err
	}
	cert, key := s.Data[corev1.TLSCertKey], s.Data[corev1.TLSPrivateKeyKey]
	if len(cert) == 0 || len(key) == 0 {
		return false, nil
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{corev1.TLSPrivateKeyKey, key}, {corev1.TLSCertKey, cert}} {
		path := filepath.Join(m.dir, f.name)
		if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, f.data) {
			continue
		}
		if err := writeAtomically(path, f.data); err != nil {
			return false, err
		}
	}
	return true, nil
}

func writeAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// WaitForFiles returns once the certificate and key are in CertDir, saying
// every 15 seconds what it waits for.
func WaitForFiles(ctx context.Context, o Options, say func(string)) error {
	cert, key := o.Files()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	last := time.Now()
	for {
		if fileHasData(cert) && fileHasData(key) {
			return nil
		}
		if time.Since(last) > 15*time.Second {
			say(fmt.Sprintf("waiting for the serving certificate %s (Secret %s/%s, filled by the elected replica)", cert, o.Namespace, o.Secret))
			last = time.Now()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

func fileHasData(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Size() > 0
}
