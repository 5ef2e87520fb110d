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

import (
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/walletop/wallet-operator/internal/money"
)

// grantCols are a grant's columns, its entry's key among them (so that no
// read of a grant needs its entry).
const grantCols = `g.id, g.entry_id, g.entry_key, g.category, g.original, g.remaining, g.priority, g.effective_at, g.expires_at, g.origins, g.endpoints, g.status, g.activated, g.settled_at, g.created_at`

func scanGrant(sc interface{ Scan(...any) error }, extra ...any) (*grantRow, error) {
	g := &grantRow{}
	var cat, status, activated int
	var expires, settled sql.NullInt64
	var origins, endpoints string
	if err := sc.Scan(append([]any{&g.id, &g.entryID, &g.entryKey, &cat, &g.original, &g.remaining, &g.priority, &g.effectiveAt, &expires,
		&origins, &endpoints, &status, &activated, &settled, &g.createdAt}, extra...)...); err != nil {
		return nil, err
	}
	g.category = categories[cat]
	g.status = statuses[status]
	g.activated = activated != 0
	g.expiresAt = never
	if expires.Valid {
		g.expiresAt = expires.Int64
	}
	g.settledAt = settled.Int64
	g.applies = AppliesTo{Origins: splitList(origins), Endpoints: splitList(endpoints)}
	return g, nil
}

// entryCols are an entry's columns; the amounts that are mostly zero are
// stored as NULL then (schema version 4).
const entryCols = `id, seq, key, hash, type, status, credits, COALESCE(paid, 0) AS paid, COALESCE(granted, 0) AS granted, origin, endpoint, ref, description, ts, applied_at, balance_after, COALESCE(debt_after, 0) AS debt_after, payment`

func scanEntry(sc interface{ Scan(...any) error }, extra ...any) (*entryRow, error) {
	e := &entryRow{}
	var typ, status, payment int
	var origin, endpoint, ref, desc sql.NullString
	if err := sc.Scan(append([]any{&e.id, &e.seq, &e.key, &e.hash, &typ, &status, &e.credits, &e.paid, &e.granted, &origin, &endpoint,
		&ref, &desc, &e.ts, &e.appliedAt, &e.balanceAfter, &e.debtAfter, &payment}, extra...)...); err != nil {
		return nil, err
	}
	e.typ = entryTypes[typ]
	e.status = statuses[status]
	e.origin, e.endpoint, e.ref, e.description = origin.String, endpoint.String, ref.String, desc.String
	e.payment = payment != 0
	return e, nil
}

var (
	categories = []Category{Paid, Granted}
	statuses   = []Status{StatusPending, StatusSettled, StatusFailed, StatusExpired}
	entryTypes = []EntryType{EntryTopUp, EntryDebit, EntryVoid, EntryRefund, EntryExpiry, EntryAdjustment, EntrySettlement}
)

// debitTypeCode is EntryDebit's code in the type column; schema v3's partial
// index of non-debit entries is written with it.
const debitTypeCode = 1

func init() {
	if entryTypes[debitTypeCode] != EntryDebit {
		panic("ledger: debitTypeCode does not match entryTypes")
	}
}

func indexOf[T comparable](list []T, v T) int {
	if i := slices.Index(list, v); i >= 0 {
		return i
	}
	panic(fmt.Sprintf("ledger: unknown value %v", v))
}

func joinList(l []string) string { return strings.Join(l, "\x1f") }

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\x1f")
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nonZero is an amount as stored where zero is NULL.
func nonZero(v money.Micros) any {
	if v == 0 {
		return nil
	}
	return int64(v)
}

func nullTime(v int64) any {
	if v == never || v == 0 {
		return nil
	}
	return v
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
