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

// Package manifests checks the files generated from the Go types (deepcopy,
// CRDs, RBAC) are up to date, and that every kustomize base builds.
package manifests

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletop/wallet-operator/internal/testenv"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestGeneratedFilesAreUpToDate copies the repository, runs `make generate
// manifests` in the copy and fails if api/ or config/ differ from the
// committed files.
func TestGeneratedFilesAreUpToDate(t *testing.T) {
	if testing.Short() {
		t.Skip("runs controller-gen")
	}
	src := root(t)
	dst := t.TempDir()
	skip := map[string]bool{".git": true, "bin": true, ".local": true}
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() && skip[rel] {
			return filepath.SkipDir
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "--no-print-directory", "generate", "manifests")
	cmd.Dir = dst
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make generate manifests: %v\n%s", err, out)
	}
	for _, dir := range []string{"api", "config"} {
		compareTrees(t, filepath.Join(src, dir), filepath.Join(dst, dir))
	}
}

func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	files := map[string]bool{}
	for _, base := range []string{want, got} {
		_ = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(base, p)
				files[rel] = true
			}
			return nil
		})
	}
	for rel := range files {
		a, errA := os.ReadFile(filepath.Join(want, rel))
		b, errB := os.ReadFile(filepath.Join(got, rel))
		switch {
		case errA != nil:
			t.Errorf("%s is generated but not committed: run `make generate manifests`", filepath.Join(filepath.Base(want), rel))
		case errB != nil:
			t.Errorf("%s is committed but no longer generated: remove it", filepath.Join(filepath.Base(want), rel))
		case !bytes.Equal(a, b):
			t.Errorf("%s is stale: run `make generate manifests` and commit the result", filepath.Join(filepath.Base(want), rel))
		}
	}
}

func kustomize(t *testing.T, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("kubectl"); err != nil {
		testenv.Missing(err, func(m string) { t.Skip(m) }, func(m string) { t.Fatal(m) })
	}
	cmd := exec.Command("kubectl", "kustomize", dir)
	cmd.Dir = root(t)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl kustomize %s: %v\n%s", dir, err, stderr.String())
	}
	return string(out)
}

func TestKustomizeBuilds(t *testing.T) {
	cases := map[string][]string{
		"config/default": {
			"kind: CustomResourceDefinition\n", "name: wallets.billing.walletop.io",
			"name: wallettransactions.billing.walletop.io", "kind: Deployment\n",
			"name: wallet-editor", "name: wallet-viewer", "kind: ServiceAccount\n",
			"image: ghcr.io/walletop/wallet-operator:latest", "--ledger=sqlite:///var/lib/wallet-operator/ledger.db",
			"runAsNonRoot: true", "kind: APIService\n", "--reports-cert-secret=wallet-operator-reports-serving-cert",
			"emptyDir:\n          medium: Memory\n          sizeLimit: 1Mi\n        name: reports-tls", "name: wallet-balance-viewer",
			"resourceNames:\n  - v1alpha1.reports.walletop.io",
		},
		"config/overlays/cert-manager": {"kind: Certificate\n", "cert-manager.io/inject-ca-from: wallet-operator-system/wallet-operator-reports-serving",
			"--tls-cert-file=/etc/wallet-operator/reports-tls/tls.crt", "kind: Deployment\n",
			"name: reports-tls\n        secret:\n          secretName: wallet-operator-reports-serving-cert"},
		"config/overlays/postgres": {"kind: Deployment\n", "replicas: 2\n", "name: WALLET_OPERATOR_LEDGER", "key: dsn\n              name: wallet-operator-ledger",
			"kind: PodDisruptionBudget\n", "maxUnavailable: 0", "--reports-cert-secret=wallet-operator-reports-serving-cert"},
		"config/overlays/prometheus": {"kind: ServiceMonitor\n", "kind: PrometheusRule\n", "alert: WalletLowBalance", "alert: WalletReportsAPIUnavailable",
			"name: wallet-operator-metrics-reader-prometheus", "kind: Deployment\n"},
		"config/apiservice": {"kind: APIService\n", "name: v1alpha1.reports.walletop.io", "name: wallet-operator-reports-serving-cert", "name: system:auth-delegator",
			"name: extension-apiserver-authentication-reader", "kind: FlowSchema\n", "targetPort: reports",
			"name: wallet-operator-reports-flowcontrol", "flowschemas/status"},
		"config/crd": {"kind: CustomResourceDefinition\n"},
		"config/rbac": {"kind: ClusterRole\n", "kind: Role\n", "kind: RoleBinding\n", "name: wallet-balance-viewer",
			"name: wallet-consumption-report-viewer", "name: wallet-transactions-viewer", "name: wallet-usage-writer"},
		"config/manager": {"kind: Deployment\n", "kind: Namespace\n"},
		"config/local":   {"kind: Namespace\n", "kind: CustomResourceDefinition\n", "kind: ServiceAccount\n", "name: system:auth-delegator"},
		"config/samples": {"kind: Wallet\n", "kind: WalletTransaction\n", "type: Void", "type: Debit", "source: Promotion", "source: SubscriptionRefill", "trigger: Threshold"},
	}
	// what an overlay must have removed from config/default
	absent := map[string][]string{
		"config/overlays/postgres": {"kind: PersistentVolumeClaim\n", "--ledger=", "claimName: wallet-operator-ledger"},
	}
	for dir, wants := range cases {
		t.Run(dir, func(t *testing.T) {
			out := kustomize(t, dir)
			for _, w := range wants {
				if !strings.Contains(out, w) {
					t.Errorf("kubectl kustomize %s: output lacks %q", dir, w)
				}
			}
			for _, w := range absent[dir] {
				if strings.Contains(out, w) {
					t.Errorf("kubectl kustomize %s: output still holds %q", dir, w)
				}
			}
		})
	}
}
