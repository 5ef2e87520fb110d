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

// Package localcluster runs a Kubernetes control plane (etcd and
// kube-apiserver) on loopback, with the aggregation layer on if asked, and
// the operator built from this tree against it as its ServiceAccount: what
// `make run`, the end-to-end specs, the reports suite and the load tools
// share. It keeps its state in a directory, so a second start reuses the
// data of the first.
package localcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Options configure a local control plane.
type Options struct {
	// Dir holds etcd's data and the kubeconfig files; it survives restarts.
	Dir string
	// Assets is the directory holding kube-apiserver and etcd.
	Assets string
	// Root is the repository's root. When set, its CRDs (config/crd/bases)
	// are installed, created or updated, on every start.
	Root string
	// LocalConfig applies Root's config/local (the operator's namespace,
	// ServiceAccount, RBAC and API Priority and Fairness) after the CRDs, so
	// that StartOperator runs with the permissions it has in a cluster.
	LocalConfig bool
	// Aggregation turns the aggregation layer on, with certificates in
	// Dir/certs (Cluster.Certs), so that the reports API can be registered.
	Aggregation bool
}

// Cluster is a running local control plane.
type Cluster struct {
	env *envtest.Environment
	// Config is an admin (system:masters) client configuration.
	Config *rest.Config
	// Kubeconfig is the path of the admin kubeconfig file.
	Kubeconfig string
	// Certs are the aggregation layer's certificates (Options.Aggregation).
	Certs *Certs
}

// Start starts etcd and kube-apiserver, writes an admin kubeconfig to
// Dir/kubeconfig and installs what Root and LocalConfig ask for.
func Start(o Options) (*Cluster, error) {
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, err
	}
	etcdDir := filepath.Join(dir, "etcd")
	if err := os.MkdirAll(etcdDir, 0o700); err != nil {
		return nil, err
	}
	if o.LocalConfig && o.Root == "" {
		return nil, fmt.Errorf("localcluster: LocalConfig needs Root")
	}
	env := &envtest.Environment{BinaryAssetsDirectory: o.Assets, ErrorIfCRDPathMissing: true}
	if o.Root != "" {
		env.CRDDirectoryPaths = []string{filepath.Join(o.Root, "config", "crd", "bases")}
	}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDir}
	env.ControlPlane.APIServer = &envtest.APIServer{}
	var certs *Certs
	if o.Aggregation {
		if certs, err = generateCerts(filepath.Join(dir, "certs")); err != nil {
			return nil, err
		}
		configureAggregation(env.ControlPlane.APIServer, certs)
	}
	if _, err := env.Start(); err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	c := &Cluster{env: env, Certs: certs}
	admin, err := env.AddUser(envtest.User{Name: "local-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		_ = c.Stop()
		return nil, fmt.Errorf("creating the admin user: %w", err)
	}
	c.Config = admin.Config()
	kubeconfig, err := admin.KubeConfig()
	if err != nil {
		_ = c.Stop()
		return nil, err
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kubeconfig, 0o600); err != nil {
		_ = c.Stop()
		return nil, err
	}
	if o.LocalConfig {
		if err := c.apply(filepath.Join(o.Root, "config", "local")); err != nil {
			_ = c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// apply applies a kustomize directory server-side as the admin, with kubectl
// (kustomize's build and apply as users run them).
func (c *Cluster) apply(dir string) error {
	cmd := exec.Command("kubectl", "--kubeconfig", c.Kubeconfig, "apply", "--server-side", "--force-conflicts", "-k", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("kubectl apply -k %s: %v\n%s", dir, err, out)
	}
	return nil
}

// WriteImpersonatingKubeconfig writes a kubeconfig that acts as the given
// ServiceAccount (through impersonation by the admin), so that a process
// using it has exactly the RBAC permissions that ServiceAccount has in a
// real cluster.
func (c *Cluster) WriteImpersonatingKubeconfig(path, namespace, serviceAccount string) error {
	cfg, err := clientcmd.LoadFromFile(c.Kubeconfig)
	if err != nil {
		return err
	}
	for _, auth := range cfg.AuthInfos {
		auth.Impersonate = fmt.Sprintf("system:serviceaccount:%s:%s", namespace, serviceAccount)
		auth.ImpersonateGroups = []string{"system:serviceaccounts", "system:serviceaccounts:" + namespace, "system:authenticated"}
	}
	return clientcmd.WriteToFile(*cfg, path)
}

// AddUser creates a user with a client certificate the kube-apiserver trusts.
func (c *Cluster) AddUser(u envtest.User) (*envtest.AuthenticatedUser, error) {
	return c.env.AddUser(u, nil)
}

// Stop stops kube-apiserver and etcd; etcd's data stays in Dir.
func (c *Cluster) Stop() error {
	return c.env.Stop()
}
