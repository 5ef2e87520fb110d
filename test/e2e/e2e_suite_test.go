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

// Package e2e holds cluster-agnostic end-to-end specs. They drive a cluster
// with kubectl, as a user would:
//
//   - with E2E_KUBECONFIG set, against that cluster (kind, or any other),
//     where the operator is already deployed (hack/kind-e2e.sh does both);
//   - without it, against a local control plane (internal/localcluster) they
//     start themselves, with CRDs and RBAC from config/local, the
//     aggregation layer on and the operator built from this tree running as
//     its ServiceAccount (as make run does).
package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/walletop/wallet-operator/internal/localcluster"
	"github.com/walletop/wallet-operator/internal/testenv"
)

var (
	root         string
	kubeconfig   string
	local        *localcluster.Cluster
	localOpts    localcluster.Options
	operator     *localcluster.Operator
	operatorOpts localcluster.OperatorOptions
)

func TestE2E(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "End-to-end suite")
}

var _ = BeforeSuite(func() {
	var err error
	root, err = testenv.ModuleRoot()
	Expect(err).NotTo(HaveOccurred())
	if _, err := exec.LookPath("kubectl"); err != nil {
		testenv.Missing(err, func(m string) { Skip(m) }, func(m string) { Fail(m) })
	}
	if kc := os.Getenv("E2E_KUBECONFIG"); kc != "" {
		kubeconfig = kc
		return
	}
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		testenv.Missing(err, func(m string) { Skip(m) }, func(m string) { Fail(m) })
	}
	dir := GinkgoT().TempDir()
	binary := filepath.Join(dir, "wallet-operator")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Dir = root
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "go build:\n%s", out)
	localOpts = localcluster.Options{
		Dir:         dir,
		Assets:      assets,
		Root:        root,
		LocalConfig: true,
		Aggregation: true,
	}
	local, err = localcluster.Start(localOpts)
	Expect(err).NotTo(HaveOccurred())
	kubeconfig = local.Kubeconfig
	operatorOpts = localcluster.OperatorOptions{Binary: binary, Ledger: "sqlite://" + filepath.Join(dir, "ledger.db"),
		Output: GinkgoWriter}
	operator, err = local.StartOperator(context.Background(), operatorOpts)
	Expect(err).NotTo(HaveOccurred())
})

var _ = AfterSuite(func() {
	if operator != nil {
		Expect(operator.Stop()).To(Succeed())
	}
	if local != nil {
		Expect(local.Stop()).To(Succeed())
	}
})

// kubectl runs kubectl against the cluster under test and returns stdout; it
// fails the spec on a non-zero exit.
func kubectl(args ...string) string {
	GinkgoHelper()
	out, err := kubectlErr(args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s:\n%s", strings.Join(args, " "), out)
	return out
}

// leaseHolder names the Pod (or process) holding the operator's leader
// election Lease in ns, or "" when it is released.
func leaseHolder(ns string) string {
	GinkgoHelper()
	out, _ := kubectlErr("get", "lease", "-n", ns, "wallet-operator.billing.walletop.io", "-o", "jsonpath={.spec.holderIdentity}")
	holder, _, _ := strings.Cut(out, "_")
	return holder
}

// kubectlErr runs kubectl and returns combined output and the error.
func kubectlErr(args ...string) (string, error) {
	cmd := exec.Command("kubectl", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
