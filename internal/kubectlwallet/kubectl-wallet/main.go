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

// Command kubectl-wallet is the `kubectl wallet` plugin: put it on the PATH
// (go install github.com/walletop/wallet-operator/internal/kubectlwallet/kubectl-wallet@latest)
// and run `kubectl wallet --help`.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/walletop/wallet-operator/internal/kubectlwallet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := kubectlwallet.Run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
