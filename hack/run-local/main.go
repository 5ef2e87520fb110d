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

// Command run-local is `make run`: it starts a local control plane (etcd and
// kube-apiserver on loopback, data under .local/), installs the CRDs and
// RBAC, runs the operator (bin/wallet-operator) against it as the operator's
// own ServiceAccount, applies config/samples and prints how to use kubectl.
// Ctrl-C stops everything; the next run reuses the data.
package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/walletop/wallet-operator/internal/localcluster"
	"github.com/walletop/wallet-operator/internal/testenv"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "run-local:", err)
		os.Exit(1)
	}
}

func say(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func run() error {
	root, err := testenv.ModuleRoot()
	if err != nil {
		return err
	}
	assets, err := testenv.ControlPlaneAssets()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, ".local")
	binary := filepath.Join(root, "bin", "wallet-operator")
	if _, err := os.Stat(binary); err != nil {
		return fmt.Errorf("%s not found: run `make build` first (make run does)", binary)
	}

	// One make run at a time: two would share etcd's data and the ledger.
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	lock, err := os.OpenFile(filepath.Join(dir, "run.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("another make run is using %s (stop it first): %w", dir, err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	say("starting etcd and kube-apiserver (data in %s); installing CRDs, the operator's namespace and RBAC (config/local)", dir)
	cluster, err := localcluster.Start(localcluster.Options{
		Dir:         dir,
		Assets:      assets,
		Root:        root,
		LocalConfig: true,
		Aggregation: true,
	})
	if err != nil {
		return err
	}
	defer func() {
		say("stopping the control plane (data kept in %s)", dir)
		if err := cluster.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "run-local: stopping the control plane:", err)
		}
	}()

	kubectl := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "kubectl", args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+cluster.Kubeconfig)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.Dir = root
		return cmd.Run()
	}

	logPath := filepath.Join(dir, "operator.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()

	say("starting the operator as ServiceAccount %s/%s and registering the reports API (log: %s)",
		localcluster.OperatorNamespace, localcluster.OperatorServiceAccount, logPath)
	operator, err := cluster.StartOperator(ctx, localcluster.OperatorOptions{
		Binary: binary, Ledger: "sqlite://" + filepath.Join(dir, "ledger.db"), Output: logFile,
	})
	if err != nil {
		return fmt.Errorf("%w (see %s)", err, logPath)
	}
	defer func() {
		say("stopping the operator")
		if err := operator.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "run-local: stopping the operator:", err)
		}
	}()

	say("applying config/samples")
	if err := kubectl("apply", "-k", "config/samples"); err != nil {
		return fmt.Errorf("applying config/samples: %w", err)
	}

	fmt.Printf(`
wallet-operator is running against a local control plane. In another shell:

  export KUBECONFIG=%s
  kubectl get wallets,wtx -A
  kubectl get wallets -n team-a -o yaml
  kubectl explain wallet.spec.autoTopUp
  kubectl get balances -n team-a
  kubectl get --raw '/apis/reports.walletop.io/v1alpha1/namespaces/team-a/consumptionreports/main?groupBy=day'
  kubectl get transactions -n team-a --field-selector wallet=main --chunk-size=100

Operator log: %s
Metrics (HTTPS, needs a token): https://127.0.0.1:%d/metrics
Press Ctrl-C to stop; the next 'make run' reuses the data in %s.
`, cluster.Kubeconfig, logPath, operator.MetricsPort, dir)

	select {
	case <-ctx.Done():
		fmt.Println()
		return nil
	case err := <-operator.Exited():
		return fmt.Errorf("the operator exited (see %s): %v", logPath, err)
	}
}
