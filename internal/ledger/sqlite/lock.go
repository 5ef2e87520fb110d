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

package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"time"
)

// ErrLocked: another process holds the ledger. The SQLite ledger keeps
// its wallets' state in memory between commits (one writer), so a second
// writer on the same file would make both wrong; it must never start.
var ErrLocked = errors.New("the ledger is locked by another process")

// lockFile holds an exclusive flock(2) on <ledger>.lock for as long as the
// store is open; the kernel drops it when the process ends, however it ends.
type lockFile struct{ f *os.File }

// acquireLock takes the lock, retrying until ctx ends; the error names the
// lock file and the process that holds it.
func acquireLock(ctx context.Context, path string) (*lockFile, error) {
	name := path + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ledger lock %s: %w", name, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("ledger lock %s: %w", name, err)
		}
		select {
		case <-ctx.Done():
			holder, _ := os.ReadFile(name)
			f.Close()
			return nil, fmt.Errorf("%w: %s is held by %s; only one operator process may write a SQLite ledger "+
				"(with a Deployment: one replica, strategy Recreate)", ErrLocked, name, describeHolder(holder))
		case <-time.After(200 * time.Millisecond):
		}
	}
	host, _ := os.Hostname()
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d on host %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))), 0)
	}
	return &lockFile{f: f}, nil
}

func describeHolder(b []byte) string {
	if s := strings.TrimSpace(string(b)); s != "" {
		return s
	}
	return "a process that has not said who it is"
}

// release drops the lock (closing the file drops the flock).
func (l *lockFile) release() {
	if l != nil && l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}
