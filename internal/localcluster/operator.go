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

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The operator's identity, as config/rbac names it.
const (
	OperatorNamespace      = "wallet-operator-system"
	OperatorServiceAccount = "wallet-operator-controller-manager"
)

// OperatorOptions say how to run bin/wallet-operator against the cluster.
type OperatorOptions struct {
	// Binary is the wallet-operator executable.
	Binary string
	// Ledger is the --ledger DSN.
	Ledger string
	// Certs are the aggregation layer's certificates: the reports API is
	// served with the serving certificate and registered as an APIService.
	// Default: the cluster's (Options.Aggregation).
	Certs *Certs
	// Output receives the operator's log.
	Output io.Writer
	// Args are added to the command line.
	Args []string
}

// Operator is a running bin/wallet-operator.
type Operator struct {
	cmd         *exec.Cmd
	exited      chan error
	MetricsPort int
	ReportsPort int
}

// StartOperator runs the operator as its ServiceAccount (impersonated, so
// that RBAC applies as in a cluster; config/local must be applied), waits
// until it is ready and registers the reports API.
func (c *Cluster) StartOperator(ctx context.Context, o OperatorOptions) (*Operator, error) {
	if o.Certs == nil {
		o.Certs = c.Certs
	}
	if o.Certs == nil {
		return nil, fmt.Errorf("the operator serves the reports API: start the cluster with Options.Aggregation")
	}
	kubeconfig := filepath.Join(filepath.Dir(c.Kubeconfig), "operator.kubeconfig")
	if err := c.WriteImpersonatingKubeconfig(kubeconfig, OperatorNamespace, OperatorServiceAccount); err != nil {
		return nil, err
	}
	var ports [3]int
	for i := range ports {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		ports[i] = p
	}
	probe := ports[0]
	op := &Operator{exited: make(chan error, 1), MetricsPort: ports[1], ReportsPort: ports[2]}
	args := []string{"--kubeconfig", kubeconfig, "--ledger", o.Ledger,
		"--leader-elect", "--leader-election-namespace", OperatorNamespace,
		fmt.Sprintf("--health-probe-bind-address=127.0.0.1:%d", probe),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", op.MetricsPort),
		"--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", op.ReportsPort),
		"--tls-cert-file=" + o.Certs.ServingCert, "--tls-private-key-file=" + o.Certs.ServingKey,
	}
	op.cmd = exec.Command(o.Binary, append(args, o.Args...)...)
	op.cmd.Stdout, op.cmd.Stderr = o.Output, o.Output
	if err := op.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", o.Binary, err)
	}
	go func() { op.exited <- op.cmd.Wait() }()
	if err := op.waitReady(ctx, probe); err != nil {
		_ = op.Stop()
		return nil, err
	}
	admin, err := client.New(c.Config, client.Options{})
	if err != nil {
		_ = op.Stop()
		return nil, err
	}
	if err := RegisterReportsAPI(ctx, admin, o.Certs, op.ReportsPort); err != nil {
		_ = op.Stop()
		return nil, fmt.Errorf("the reports API did not become available: %w", err)
	}
	return op, nil
}

// PID is the operator's process ID.
func (op *Operator) PID() int { return op.cmd.Process.Pid }

// Exited reports the operator's exit.
func (op *Operator) Exited() <-chan error { return op.exited }

// Kill ends the operator at once (SIGKILL: no shutdown, no lease released),
// as a crash or an evicted pod would, and waits for it to be gone.
func (op *Operator) Kill() {
	if op.cmd.ProcessState != nil {
		return
	}
	_ = op.cmd.Process.Kill()
	<-op.exited
}

// Stop sends SIGTERM and waits (30 s, then SIGKILL).
func (op *Operator) Stop() error {
	if op.cmd.ProcessState != nil {
		return nil
	}
	_ = op.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-op.exited:
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Exited() {
			return err
		}
		return nil
	case <-time.After(30 * time.Second):
		_ = op.cmd.Process.Kill()
		<-op.exited
		return errors.New("the operator did not stop within 30 s: killed")
	}
}

func (op *Operator) waitReady(ctx context.Context, port int) error {
	url := fmt.Sprintf("http://127.0.0.1:%d/readyz", port)
	deadline := time.After(60 * time.Second)
	for {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-op.exited:
			return fmt.Errorf("the operator exited: %v", err)
		case <-deadline:
			return errors.New("the operator was not ready within 60 s")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
