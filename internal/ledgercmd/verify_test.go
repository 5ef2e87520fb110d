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

package ledgercmd

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/dsn"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
)

func TestLedgerVerifyCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.db")
	s, err := sqlite.Open(t.Context(), path, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenWallet(t.Context(), ledger.WalletSpec{Wallet: "team-a/main", Currency: "USD", Rate: 10_000}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.TopUp(t.Context(), ledger.TopUpRequest{Wallet: "team-a/main", Key: "g", Paid: 5_000_000, Priority: 50}); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if code := Run([]string{"verify", "--ledger", "sqlite://" + path}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, want := range []string{"checked 1 wallets", "checked 1 grants", "checked 1 entries against 1 hourly rollups", "OK: no inconsistency"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := s.DB().Exec(`UPDATE grants SET remaining = remaining - 1`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	out.Reset()
	if code := Run([]string{"verify", "--ledger", "sqlite://" + path}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d on a tampered ledger\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "PROBLEM: wallet team-a/main grant 1: remaining") || !strings.Contains(out.String(), "FAILED") {
		t.Errorf("output:\n%s", out.String())
	}
	if code := Run([]string{"verify", "--ledger", "mysql://x"}, &out, &errOut); code != 2 {
		t.Errorf("bad DSN: exit %d", code)
	}

	// the DSN from the environment when --ledger is not given; the flag wins
	t.Setenv(dsn.Env, "sqlite://"+path)
	out.Reset()
	if code := Run([]string{"verify"}, &out, &errOut); code != 1 || !strings.Contains(out.String(), "ledger sqlite://"+path) {
		t.Errorf("DSN from %s: exit %d\n%s", dsn.Env, code, out.String())
	}
	if code := Run([]string{"verify", "--ledger", "mysql://x"}, &out, &errOut); code != 2 {
		t.Errorf("--ledger given next to %s: exit %d", dsn.Env, code)
	}
}
