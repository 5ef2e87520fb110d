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

package ledger_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/money"
)

// TestCacheBound writes more live grants than the single writer's cache
// may hold: the cache stays within its bound, and wallets whose states were
// dropped are read back from the database with nothing lost (debits drawn
// across all their grants, and the ledger verifies).
func TestCacheBound(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const wallets, perWallet = 20, ledger.CacheBound / 10
	for w := range wallets {
		name := fmt.Sprintf("ns/w%d", w)
		if err := s.OpenWallet(ctx, ledger.WalletSpec{Wallet: name, Currency: "USD", Rate: 10_000}); err != nil {
			t.Fatal(err)
		}
		for g := range perWallet {
			if _, err := s.TopUp(ctx, ledger.TopUpRequest{Wallet: name, Key: fmt.Sprintf("g%d", g), Granted: money.Micros(1_000_000), Priority: ledger.DefaultPriority}); err != nil {
				t.Fatal(err)
			}
		}
	}
	cachedWallets, cachedGrants := ledger.Cached(s)
	t.Logf("%d live grants written; cached: %d wallets, %d grants", wallets*perWallet, cachedWallets, cachedGrants)
	if cachedGrants > ledger.CacheBound {
		t.Fatalf("the cache holds %d live grants, more than its bound %d", cachedGrants, ledger.CacheBound)
	}
	if cachedWallets == wallets {
		t.Fatalf("every wallet is still cached: the bound was not exercised")
	}
	for w := range wallets {
		name := fmt.Sprintf("ns/w%d", w)
		// drawn across three grants: 2.5 of 1 each
		if _, err := s.Debit(ctx, ledger.DebitRequest{Wallet: name, Key: "use", Credits: money.Micros(2_500_000), Origin: "api"}); err != nil {
			t.Fatal(err)
		}
		b, err := s.Balance(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if want := money.Micros(perWallet*1_000_000 - 2_500_000); b.Available != want {
			t.Fatalf("%s: available %s, want %s", name, b.Available, want)
		}
	}
	rep, err := s.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) > 0 {
		t.Fatalf("verify: %v", rep.Problems)
	}
}
