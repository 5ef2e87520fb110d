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

package ledger

import "strings"

// ColumnTypes are the SQL types a backend uses for the ledger's schema.
type ColumnTypes struct {
	ID        string // an auto-assigned 64-bit primary key
	Int       string // a 64-bit integer
	Small     string // a small integer (enums, flags)
	Clustered string // appended to tables keyed by their primary key alone
	// Since version 4:
	EntryID    string // entries.id: assigned by the database, not indexed where the dialect can
	EntryKeys  string // statements that key the entries by (wallet_id, seq) and by idempotency key
	Resequence string // a statement that moves entries.id's generator past the copied rows, if any
}

// Migrations returns the ledger's schema migrations, in order, written
// with the backend's column types. A migration is never edited once
// released; a change is a new one.
func Migrations(t ColumnTypes) []string {
	r := strings.NewReplacer("$ID", t.ID, "$INT", t.Int, "$SMALL", t.Small, "$CLUSTERED", t.Clustered,
		"$ENTRYID", t.EntryID, "$ENTRYKEYS", t.EntryKeys, "$RESEQUENCE", t.Resequence)
	return []string{r.Replace(schemaV1), r.Replace(schemaV2), r.Replace(schemaV3), r.Replace(schemaV4)}
}

const schemaV1 = `
CREATE TABLE wallets (
  id $ID,
  name TEXT NOT NULL UNIQUE,
  currency TEXT NOT NULL,
  rate $INT NOT NULL,
  overdraft $INT NOT NULL,
  origins TEXT NOT NULL DEFAULT '',
  endpoints TEXT NOT NULL DEFAULT '',
  terminated_at $INT,
  seq $INT NOT NULL DEFAULT 0,
  debt $INT NOT NULL DEFAULT 0,
  paid $INT NOT NULL DEFAULT 0,
  granted $INT NOT NULL DEFAULT 0,
  pending $INT NOT NULL DEFAULT 0,
  next_change $INT NOT NULL,
  next_exp_at $INT,
  next_exp_credits $INT,
  computed_at $INT NOT NULL,
  created_at $INT NOT NULL
);
CREATE TABLE entries (
  id $ID,
  wallet_id $INT NOT NULL,
  seq $INT NOT NULL,
  key TEXT NOT NULL,
  hash $INT NOT NULL,
  type $SMALL NOT NULL,
  status $SMALL NOT NULL,
  credits $INT NOT NULL,
  paid $INT NOT NULL,
  granted $INT NOT NULL,
  origin TEXT,
  endpoint TEXT,
  ref TEXT,
  description TEXT,
  ts $INT NOT NULL,
  applied_at $INT NOT NULL,
  balance_after $INT NOT NULL,
  debt_after $INT NOT NULL,
  payment $SMALL NOT NULL
);
CREATE UNIQUE INDEX entries_key ON entries (wallet_id, key);
CREATE UNIQUE INDEX entries_seq ON entries (wallet_id, seq);
CREATE TABLE grants (
  id $ID,
  wallet_id $INT NOT NULL,
  entry_id $INT NOT NULL,
  category $SMALL NOT NULL,
  original $INT NOT NULL,
  remaining $INT NOT NULL,
  priority $SMALL NOT NULL,
  effective_at $INT NOT NULL,
  expires_at $INT,
  origins TEXT NOT NULL,
  endpoints TEXT NOT NULL,
  status $SMALL NOT NULL,
  activated $SMALL NOT NULL,
  settled_at $INT,
  created_at $INT NOT NULL,
  live $SMALL NOT NULL
);
CREATE UNIQUE INDEX grants_entry ON grants (entry_id, category);
CREATE INDEX grants_live ON grants (wallet_id) WHERE live = 1;
CREATE TABLE allocations (
  entry_id $INT NOT NULL,
  grant_id $INT NOT NULL,
  amount $INT NOT NULL
);
CREATE INDEX allocations_grant ON allocations (grant_id);
CREATE TABLE rollups (
  wallet_id $INT NOT NULL,
  hour $INT NOT NULL,
  origin TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  debited $INT NOT NULL,
  credited $INT NOT NULL,
  removed $INT NOT NULL,
  count $INT NOT NULL,
  PRIMARY KEY (wallet_id, hour, origin, endpoint)
)$CLUSTERED`

// schemaV2 adds daily rollups (filled from the hourly ones), so that a
// 366-day report reads a few hundred rows per origin and endpoint.
const schemaV2 = `
CREATE TABLE rollups_daily (
  wallet_id $INT NOT NULL,
  day $INT NOT NULL,
  origin TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  debited $INT NOT NULL,
  credited $INT NOT NULL,
  removed $INT NOT NULL,
  count $INT NOT NULL,
  PRIMARY KEY (wallet_id, day, origin, endpoint)
)$CLUSTERED;
INSERT INTO rollups_daily (wallet_id, day, origin, endpoint, debited, credited, removed, count)
  SELECT wallet_id, hour / 24, origin, endpoint, SUM(debited), SUM(credited), SUM(removed), SUM(count)
  FROM rollups GROUP BY wallet_id, hour / 24, origin, endpoint`

// schemaV3 indexes allocations by entry instead of by grant. Entry ids grow
// with every posting, so the index is appended to, where an index by grant
// took a random page write per posting (measured: 8 % of SQLite's
// throughput with 1000 wallets). Readers sum a grant's allocations from its
// wallet's entries (BalanceAt) or for all grants at once (Verify). It also
// indexes every grant by wallet: a wallet's grants (history, BalanceAt) were
// found by scanning the grants of all wallets (only live ones had an index).
// And it indexes the entries that history is filtered for and that are few
// among a wallet's debits: payments, and entries of a type other than debit
// (1 is EntryDebit's code, debitTypeCode). Both indexes leave debits out, so
// a posting writes neither.
const schemaV3 = `
CREATE INDEX allocations_entry ON allocations (entry_id);
DROP INDEX allocations_grant;
CREATE INDEX grants_wallet ON grants (wallet_id, id);
CREATE INDEX entries_payments ON entries (wallet_id, seq) WHERE payment = 1;
CREATE INDEX entries_nondebit ON entries (wallet_id, type, seq) WHERE type <> 1`

// schemaV4 makes a posting smaller: on PostgreSQL 391 -> 240 bytes of
// storage per debit, on SQLite 170 -> 142 (docs/benchmarks.md).
//   - An entry that touched exactly one grant (most debits, voids,
//     refunds and expiries) holds that allocation in its row:
//     grant_id, and grant_amount, NULL when it equals the entry's credits.
//     Only entries that touched two or more grants have allocations rows.
//   - Amounts that are mostly zero (paid, granted: grant entries only;
//     debt_after: only in overdraft) are NULL when zero; a NULL takes no
//     space in a row that has a null bitmap anyway.
//   - Columns are ordered fixed-width 8-byte first, then 2-byte, then
//     text, so that no row carries alignment padding.
//   - A grant holds its entry's key, so nothing looks an entry up by id
//     any more: where the database indexes its primary key separately
//     (PostgreSQL), the entries are keyed by (wallet_id, seq) and their
//     id is only a column; the idempotency key is indexed by a 64-bit
//     digest there (the engine, under the wallet's row lock, keeps keys
//     unique per wallet, and Verify checks it).
const schemaV4 = `
ALTER TABLE grants ADD COLUMN entry_key TEXT NOT NULL DEFAULT '';
UPDATE grants SET entry_key = (SELECT e.key FROM entries e WHERE e.id = grants.entry_id);
CREATE TABLE entries_v4 (
  id $ENTRYID,
  wallet_id $INT NOT NULL,
  seq $INT NOT NULL,
  hash $INT NOT NULL,
  credits $INT NOT NULL,
  ts $INT NOT NULL,
  applied_at $INT NOT NULL,
  balance_after $INT NOT NULL,
  grant_id $INT,
  grant_amount $INT,
  paid $INT,
  granted $INT,
  debt_after $INT,
  type $SMALL NOT NULL,
  status $SMALL NOT NULL,
  payment $SMALL NOT NULL,
  key TEXT NOT NULL,
  origin TEXT,
  endpoint TEXT,
  ref TEXT,
  description TEXT
);
INSERT INTO entries_v4 (id, wallet_id, seq, hash, credits, ts, applied_at, balance_after, grant_id, grant_amount, paid, granted, debt_after, type, status, payment, key, origin, endpoint, ref, description)
  SELECT e.id, e.wallet_id, e.seq, e.hash, e.credits, e.ts, e.applied_at, e.balance_after, a.grant_id, NULLIF(a.amount, e.credits),
    NULLIF(e.paid, 0), NULLIF(e.granted, 0), NULLIF(e.debt_after, 0), e.type, e.status, e.payment, e.key, e.origin, e.endpoint, e.ref, e.description
  FROM entries e LEFT JOIN (SELECT entry_id, MIN(grant_id) AS grant_id, MIN(amount) AS amount FROM allocations GROUP BY entry_id HAVING COUNT(*) = 1) a
    ON a.entry_id = e.id;
DELETE FROM allocations WHERE entry_id IN (SELECT id FROM entries_v4 WHERE grant_id IS NOT NULL);
DROP TABLE entries;
ALTER TABLE entries_v4 RENAME TO entries;
$ENTRYKEYS;
CREATE INDEX entries_payments ON entries (wallet_id, seq) WHERE payment = 1;
CREATE INDEX entries_nondebit ON entries (wallet_id, type, seq) WHERE type <> 1;
$RESEQUENCE`
