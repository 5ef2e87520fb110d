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

// Package sqlite is the embedded ledger backend: modernc.org/sqlite (pure
// Go, no cgo), WAL journal, synchronous=FULL so that every commit is on disk
// before it is acknowledged, one writer (group commit batches callers).
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/walletop/wallet-operator/internal/ledger"
)

// Dialect is SQLite's SQL.
var Dialect = ledger.Dialect{
	Name:         "sqlite",
	SingleWriter: true,
	MaxParams:    32766,
	Migrations:   []string{schemaV1, schemaV2},
}

const schemaV1 = `
CREATE TABLE wallets (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  currency TEXT NOT NULL,
  rate INTEGER NOT NULL,
  overdraft INTEGER NOT NULL,
  origins TEXT NOT NULL DEFAULT '',
  endpoints TEXT NOT NULL DEFAULT '',
  terminated_at INTEGER,
  seq INTEGER NOT NULL DEFAULT 0,
  debt INTEGER NOT NULL DEFAULT 0,
  paid INTEGER NOT NULL DEFAULT 0,
  granted INTEGER NOT NULL DEFAULT 0,
  pending INTEGER NOT NULL DEFAULT 0,
  next_change INTEGER NOT NULL,
  next_exp_at INTEGER,
  next_exp_credits INTEGER,
  computed_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE entries (
  id INTEGER PRIMARY KEY,
  wallet_id INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  hash INTEGER NOT NULL,
  type INTEGER NOT NULL,
  status INTEGER NOT NULL,
  credits INTEGER NOT NULL,
  paid INTEGER NOT NULL,
  granted INTEGER NOT NULL,
  origin TEXT,
  endpoint TEXT,
  ref TEXT,
  description TEXT,
  ts INTEGER NOT NULL,
  applied_at INTEGER NOT NULL,
  balance_after INTEGER NOT NULL,
  debt_after INTEGER NOT NULL,
  payment INTEGER NOT NULL
);
CREATE UNIQUE INDEX entries_key ON entries (wallet_id, key);
CREATE UNIQUE INDEX entries_seq ON entries (wallet_id, seq);
CREATE TABLE grants (
  id INTEGER PRIMARY KEY,
  wallet_id INTEGER NOT NULL,
  entry_id INTEGER NOT NULL,
  category INTEGER NOT NULL,
  original INTEGER NOT NULL,
  remaining INTEGER NOT NULL,
  priority INTEGER NOT NULL,
  effective_at INTEGER NOT NULL,
  expires_at INTEGER,
  origins TEXT NOT NULL,
  endpoints TEXT NOT NULL,
  status INTEGER NOT NULL,
  activated INTEGER NOT NULL,
  settled_at INTEGER,
  created_at INTEGER NOT NULL,
  live INTEGER NOT NULL
);
CREATE UNIQUE INDEX grants_entry ON grants (entry_id, category);
CREATE INDEX grants_live ON grants (wallet_id) WHERE live = 1;
CREATE TABLE allocations (
  entry_id INTEGER NOT NULL,
  grant_id INTEGER NOT NULL,
  amount INTEGER NOT NULL
);
CREATE INDEX allocations_grant ON allocations (grant_id);
CREATE TABLE rollups (
  wallet_id INTEGER NOT NULL,
  hour INTEGER NOT NULL,
  origin TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  debited INTEGER NOT NULL,
  credited INTEGER NOT NULL,
  removed INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (wallet_id, hour, origin, endpoint)
) WITHOUT ROWID`

// schemaV2 adds daily rollups (filled from the hourly ones), so that a
// 366-day report reads a few hundred rows per origin and endpoint.
const schemaV2 = `
CREATE TABLE rollups_daily (
  wallet_id INTEGER NOT NULL,
  day INTEGER NOT NULL,
  origin TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  debited INTEGER NOT NULL,
  credited INTEGER NOT NULL,
  removed INTEGER NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (wallet_id, day, origin, endpoint)
) WITHOUT ROWID;
INSERT INTO rollups_daily (wallet_id, day, origin, endpoint, debited, credited, removed, count)
  SELECT wallet_id, hour / 24, origin, endpoint, SUM(debited), SUM(credited), SUM(removed), SUM(count)
  FROM rollups GROUP BY wallet_id, hour / 24, origin, endpoint`

// Open opens (creating if needed) the ledger database at path.
func Open(ctx context.Context, path string, o ledger.Options) (*ledger.SQLStore, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("ledger directory: %w", err)
		}
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "wal_autocheckpoint(10000)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "cache_size(-131072)")
	q.Add("_pragma", "foreign_keys(OFF)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	// One connection per writer plus readers; SQLite serialises writers.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("opening ledger %s: %w", path, err)
	}
	o.Writers = 1
	s, err := ledger.NewSQLStore(ctx, db, Dialect, o)
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}
