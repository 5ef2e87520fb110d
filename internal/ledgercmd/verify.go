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

// Package ledgercmd is `wallet-operator ledger verify`: it checks a ledger's
// invariants read-only, next to a running operator.
package ledgercmd

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/dsn"
)

// Run runs `wallet-operator ledger <subcommand>` and returns the exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, "usage: wallet-operator ledger verify --ledger DSN")
	}
	if len(args) == 0 || args[0] != "verify" {
		usage()
		return 2
	}
	fs := flag.NewFlagSet("ledger verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dsnFlag := fs.String("ledger", dsn.Default, "Ledger DSN: sqlite:///path/to/ledger.db or postgres://user@host/db; default $"+dsn.Env+" when set.")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "ledger" })
	d, err := dsn.Parse(dsn.FromEnv(*dsnFlag, given))
	if err != nil {
		fmt.Fprintln(stderr, "--ledger:", err)
		return 2
	}
	ctx := context.Background()
	// read only: verify runs next to a live operator, which holds the lock
	store, err := dsn.Open(ctx, d, ledger.Options{ReadOnly: true})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer store.Close()
	rep, err := store.Verify(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "verify:", err)
		return 1
	}
	fmt.Fprintf(stdout, "ledger %s\n", d.Redacted())
	fmt.Fprintf(stdout, "checked %d wallets: entry sequences, debt and balance snapshots\n", rep.Wallets)
	fmt.Fprintf(stdout, "checked %d grants: remaining = original + allocations, within [0, original]\n", rep.Grants)
	fmt.Fprintf(stdout, "checked %d entries against %d hourly rollups; one entry per wallet and idempotency key\n", rep.Entries, rep.Rollups)
	if len(rep.Problems) == 0 {
		fmt.Fprintln(stdout, "OK: no inconsistency")
		return 0
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(stdout, "PROBLEM:", p)
	}
	fmt.Fprintf(stdout, "FAILED: %d inconsistencies\n", len(rep.Problems))
	return 1
}
