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

package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"

	"github.com/walletop/wallet-operator/internal/ledger"
)

// CrashSteps are the points of a commit where the crash tests stop a write:
// between each of its statements, just before COMMIT, and just after it.
var CrashSteps = []string{"after-entries", "after-grants", "after-allocations", "after-wallets", "before-commit", "after-commit"}

// DSNOpener opens a store on an existing database.
type DSNOpener func(ctx context.Context, dsn string, o ledger.Options) (ledger.Store, error)

const crashEnvStep, crashEnvDSN = "LEDGER_CRASH_STEP", "LEDGER_CRASH_DSN"

// crashSetup leaves a wallet with debt, so that the crashing grant writes an
// entry, two grant blocks, a repayment, allocations, the wallet snapshot
// and rollups: every step of a commit.
func crashSetup(t *testing.T, s ledger.Store) {
	t.Helper()
	c := context.Background()
	if err := s.OpenWallet(c, ledger.WalletSpec{Wallet: "w", Currency: "USD", Rate: 10_000, OverdraftLimit: m("10")}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		second(s.TopUp(c, ledger.TopUpRequest{Wallet: "w", Key: "g1", Paid: m("10"), Priority: 50})),
		second(s.Debit(c, ledger.DebitRequest{Wallet: "w", Key: "d1", Credits: m("15"), Origin: "api"})),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

var crashGrant = ledger.TopUpRequest{Wallet: "w", Key: "g2", Paid: m("30"), Granted: m("20"), Priority: 50}

// checkAfterCrash reopens the ledger after a write died at step, checks that
// nothing is half written, retries the write and checks it applied once.
func checkAfterCrash(t *testing.T, s ledger.Store, step string) {
	t.Helper()
	c := context.Background()
	rep, err := s.Verify(c)
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("after a crash at %s: verify %v %v", step, rep.Problems, err)
	}
	b, err := s.Balance(c, "w")
	if err != nil {
		t.Fatal(err)
	}
	committed := step == "after-commit"
	want := m("-5")
	if committed {
		want = m("45")
	}
	if b.Available != want {
		t.Fatalf("after a crash at %s: balance %s, want %s", step, b.Available, want)
	}
	r, err := s.TopUp(c, crashGrant)
	if err != nil {
		t.Fatal(err)
	}
	if r.Replayed != committed {
		t.Fatalf("retry after a crash at %s: replayed = %v, want %v", step, r.Replayed, committed)
	}
	r, err = s.TopUp(c, crashGrant)
	if err != nil || !r.Replayed {
		t.Fatalf("second retry: %+v %v", r, err)
	}
	b, err = s.Balance(c, "w")
	if err != nil || b.Available != m("45") || b.Debt != 0 {
		t.Fatalf("after the retries: %+v %v; want 45 and no debt", b, err)
	}
	rep, err = s.Verify(c)
	if err != nil || len(rep.Problems) > 0 {
		t.Fatalf("after the retries: verify %v %v", rep.Problems, err)
	}
}

var errAbandon = errors.New("transaction abandoned by the test")

// RunAbandon abandons the transaction of a write at every step (the
// database rolls it back, as when a connection dies) and checks that nothing
// is half written and that a retry with the same key applies exactly once.
func RunAbandon(t *testing.T, open OpenerWithOptions) {
	for _, step := range CrashSteps {
		t.Run(step, func(t *testing.T) {
			armed := false
			s := open(t, ledger.Options{Failpoint: func(at string) error {
				if armed && at == step {
					armed = false
					return errAbandon
				}
				return nil
			}})
			defer s.Close()
			crashSetup(t, s)
			armed = true
			_, err := s.TopUp(context.Background(), crashGrant)
			if step != "after-commit" && !errors.Is(err, errAbandon) {
				t.Fatalf("the write did not fail at %s: %v", step, err)
			}
			checkAfterCrash(t, s, step)
		})
	}
}

// OpenerWithOptions opens an empty store with options.
type OpenerWithOptions func(t *testing.T, o ledger.Options) ledger.Store

// RunKill runs, for every step, a child process (this test binary, whose
// TestMain calls CrashChild) that is killed with SIGKILL in the middle of a
// write at that step; the parent then reopens the database and checks it.
// newDSN makes an empty database; open opens it.
func RunKill(t *testing.T, newDSN func(t *testing.T) string, open DSNOpener) {
	for _, step := range CrashSteps {
		t.Run(step, func(t *testing.T) {
			dsn := newDSN(t)
			s, err := open(context.Background(), dsn, ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			crashSetup(t, s)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), crashEnvStep+"="+step, crashEnvDSN+"="+dsn)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
				t.Fatalf("the child was not killed at %s: %v\n%s", step, err, out)
			}
			s, err = open(context.Background(), dsn, ledger.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			checkAfterCrash(t, s, step)
		})
	}
}

// CrashChild is the child side of RunKill. Call it first in TestMain: in a
// crash run it opens the database, starts the write and is killed at the
// step; otherwise it returns at once.
func CrashChild(open DSNOpener) {
	step, dsn := os.Getenv(crashEnvStep), os.Getenv(crashEnvDSN)
	if step == "" {
		return
	}
	s, err := open(context.Background(), dsn, ledger.Options{Failpoint: func(at string) error {
		if at == step {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // never returns: the process is gone
		}
		return nil
	}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "crash child:", err)
		os.Exit(2)
	}
	_, err = s.TopUp(context.Background(), crashGrant)
	fmt.Fprintln(os.Stderr, "crash child: the write returned instead of dying:", err)
	os.Exit(2)
}
