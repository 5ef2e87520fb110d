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

package dsn

import (
	"context"
	"fmt"
	"os"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/postgres"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
)

// Open opens the ledger a parsed DSN names (applying pending migrations).
func Open(ctx context.Context, d DSN, o ledger.Options) (*ledger.SQLStore, error) {
	switch d.Kind {
	case SQLite:
		return sqlite.Open(ctx, d.Path, o)
	case Postgres:
		return postgres.Open(ctx, d.URL, o)
	}
	return nil, fmt.Errorf("unsupported ledger %s", d.Redacted())
}

// Env names the DSN when --ledger is not given, so that a password can come
// from a Secret without showing in the process's command line.
const Env = "WALLET_OPERATOR_LEDGER"

// FromEnv returns $WALLET_OPERATOR_LEDGER when it is set and the flag was
// not given, else the flag's value.
func FromEnv(flagValue string, given bool) string {
	if v := os.Getenv(Env); v != "" && !given {
		return v
	}
	return flagValue
}
