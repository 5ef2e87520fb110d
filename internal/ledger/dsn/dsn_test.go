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
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in       string
		kind     Kind
		path     string
		redacted string
		err      string
	}{
		{in: Default, kind: SQLite, path: "/var/lib/wallet-operator/ledger.db", redacted: Default},
		{in: "sqlite://.local/ledger.db", kind: SQLite, path: ".local/ledger.db", redacted: "sqlite://.local/ledger.db"},
		{in: "sqlite:///tmp/l.db?busy_timeout=5000", kind: SQLite, path: "/tmp/l.db", redacted: "sqlite:///tmp/l.db?busy_timeout=5000"},
		{in: "postgres://wallet:s3cret@db:5432/ledger?sslmode=require", kind: Postgres, redacted: "postgres://wallet:xxxxx@db:5432/ledger?sslmode=require"},
		{in: "postgresql://db/ledger", kind: Postgres, redacted: "postgresql://db/ledger"},
		{in: "sqlite://", err: "needs a file path"},
		{in: "postgres:///ledger", err: "needs a host"},
		{in: "mysql://u:pw@h/db", err: "unsupported ledger DSN \"mysql://u:xxxxx@h/db\""},
	}
	for _, c := range cases {
		d, err := Parse(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("Parse(%q) error = %v, want it to contain %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("Parse(%q): %v", c.in, err)
		}
		if d.Kind != c.kind || d.Path != c.path || d.Redacted() != c.redacted {
			t.Errorf("Parse(%q) = kind %q path %q redacted %q; want %q %q %q", c.in, d.Kind, d.Path, d.Redacted(), c.kind, c.path, c.redacted)
		}
	}
}
