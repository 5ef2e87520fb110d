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

// Package image builds the operator's image with `make docker-build`, as a
// user with no registry would, and checks what it holds and that it runs.
package image

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/walletop/wallet-operator/internal/ledger"
	"github.com/walletop/wallet-operator/internal/ledger/sqlite"
	"github.com/walletop/wallet-operator/internal/testenv"
)

const img = "wallet-operator:image-test"

// maxCompressed bounds the image as a registry stores it (gzip layers).
const maxCompressed = 40 << 20

func docker(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestImageBuiltHere(t *testing.T) {
	if err := exec.Command("docker", "info").Run(); err != nil {
		testenv.Missing(err, func(m string) { t.Skip("no Docker engine: " + m) }, func(m string) { t.Fatal("CI=true and no Docker engine: " + m) })
	}
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	t.Log("make docker-build (no pull)")
	build := exec.Command("make", "--no-print-directory", "docker-build", "IMG="+img)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make docker-build: %v\n%s", err, out)
	}
	defer exec.Command("docker", "rmi", "-f", img).Run()

	if got := docker(t, "image", "inspect", img, "--format", "{{.Config.User}} {{json .Config.Entrypoint}} {{len .RootFS.Layers}}"); got != `65532:65532 ["/wallet-operator"] 1` {
		t.Errorf("user, entrypoint, layers: %s", got)
	}
	save := exec.Command("docker", "save", img)
	pipe, err := save.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := save.Start(); err != nil {
		t.Fatal(err)
	}
	counter := &countingWriter{}
	zw := gzip.NewWriter(counter)
	if _, err := io.Copy(zw, pipe); err != nil {
		t.Fatal(err)
	}
	_ = zw.Close()
	if err := save.Wait(); err != nil {
		t.Fatal(err)
	}
	t.Logf("image: %d bytes compressed", counter.n)
	if counter.n > maxCompressed {
		t.Errorf("the image is %d bytes compressed, over %d", counter.n, maxCompressed)
	}

	if out := docker(t, "run", "--rm", img, "--help"); !strings.Contains(out, "--ledger") {
		t.Errorf("--help:\n%s", out)
	}
	// the binary reads a ledger as its non-root user, on a read-only root
	dir := t.TempDir()
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "ledger.db"), ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenWallet(context.Background(), ledger.WalletSpec{Wallet: "team-a/main", Currency: "USD", Rate: 1_000_000}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ledger.db", "ledger.db.lock"} {
		_ = os.Chmod(filepath.Join(dir, f), 0o666)
	}
	out := docker(t, "run", "--rm", "--read-only", "-v", dir+":/data", img, "ledger", "verify", "--ledger", "sqlite:///data/ledger.db")
	if !strings.Contains(out, "checked 1 wallets") || !strings.Contains(out, "OK: no inconsistency") {
		t.Errorf("ledger verify in the image:\n%s", out)
	}
}

type countingWriter struct{ n int }

func (c *countingWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }
