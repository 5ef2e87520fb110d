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

// Package backend opens the ledger a --ledger DSN names.
package backend

import (
	"context"
	"fmt"

	"github.com/walletop/wallet-operator/internal/dsn"
	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/postgres"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
)

// Open opens the ledger a parsed DSN names (applying pending migrations).
func Open(ctx context.Context, d dsn.DSN, o ledger.Options) (*ledger.SQLStore, error) {
	switch d.Kind {
	case dsn.SQLite:
		return sqlite.Open(ctx, d.Path, o)
	case dsn.Postgres:
		return postgres.Open(ctx, d.URL, o)
	}
	return nil, fmt.Errorf("unsupported ledger %s", d.Redacted())
}
