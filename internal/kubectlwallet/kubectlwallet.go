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

// Package kubectlwallet is `kubectl wallet`, a kubectl plugin for what
// people do by hand: read balances, history and consumption, and create the
// WalletTransaction a top-up, void, refund, adjustment or debit needs, then
// wait for its outcome. It acts with the user's kubeconfig and RBAC.
package kubectlwallet

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	billingv1alpha1 "github.com/walletop/wallet-operator/api/v1alpha1"
)

// Exit codes: what a script can tell apart.
const (
	ExitOK      = 0
	ExitRefused = 1 // the transaction Failed or was Rejected, or stayed Pending
	ExitUsage   = 2 // bad flags or values: nothing was sent
	ExitError   = 3 // the cluster said no (missing wallet, no permission, ...)
)

// usageError is bad input found before anything is sent.
type usageError struct{ error }

// refusedError is a transaction the operator did not settle.
type refusedError struct{ error }

// env is what every subcommand shares.
type env struct {
	flags  clientcmd.ClientConfig
	out    io.Writer
	output string // "", json or yaml

	cfg       *rest.Config
	c         client.Client
	namespace string
}

// connect builds the clients from the kubeconfig and flags.
func (e *env) connect() error {
	cfg, err := e.flags.ClientConfig()
	if err != nil {
		return err
	}
	ns, _, err := e.flags.Namespace()
	if err != nil {
		return err
	}
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return err
	}
	if err := billingv1alpha1.AddToScheme(s); err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: s})
	if err != nil {
		return err
	}
	e.cfg, e.c, e.namespace = cfg, c, ns
	return nil
}

// Run runs the plugin with args (without the program name) and returns the
// exit code.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{out: stdout}
	root := &cobra.Command{
		Use:           "kubectl-wallet",
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl wallet"},
		Short:         "Balances, history, reports and transactions of wallet-operator's Wallets",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	overrides := &clientcmd.ConfigOverrides{}
	root.PersistentFlags().StringVar(&loading.ExplicitPath, "kubeconfig", "", "Path to the kubeconfig file.")
	clientcmd.BindOverrideFlags(overrides, root.PersistentFlags(), clientcmd.RecommendedConfigOverrideFlags(""))
	root.PersistentFlags().StringVarP(&e.output, "output", "o", "", "Output format: json or yaml (default: text).")
	e.flags = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, overrides)
	root.PersistentPreRunE = func(*cobra.Command, []string) error {
		if e.output != "" && e.output != "json" && e.output != "yaml" {
			return usageError{fmt.Errorf("--output %q: use json or yaml", e.output)}
		}
		return nil
	}
	root.AddCommand(e.balanceCmd(), e.historyCmd(), e.reportCmd(), e.runwayCmd())
	for _, k := range writeKinds {
		root.AddCommand(e.writeCmd(k))
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(stderr, "error:", describe(err))
	var u usageError
	var r refusedError
	switch {
	case errors.As(err, &u):
		return ExitUsage
	case errors.As(err, &r):
		return ExitRefused
	}
	return ExitError
}

// describe says what an API error means for the user.
func describe(err error) string {
	switch {
	case apierrors.IsForbidden(err):
		return "no permission: " + err.Error()
	case apierrors.IsUnauthorized(err):
		return "not logged in to the cluster: " + err.Error()
	}
	return err.Error()
}

// args checks a subcommand's positional arguments: between min and max.
func args(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if len(a) < min || len(a) > max {
			return usageError{fmt.Errorf("%s: expected %s", cmd.CommandPath(), cmd.Use)}
		}
		return nil
	}
}
