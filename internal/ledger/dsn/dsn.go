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

// Package dsn parses the --ledger data source name and opens the ledger it
// names: the embedded SQLite file or a PostgreSQL database.
package dsn

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// Default is the embedded SQLite ledger used when --ledger is not given.
const Default = "sqlite:///var/lib/wallet-operator/ledger.db"

// Kind is a ledger backend.
type Kind string

// Backends.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// DSN is a parsed ledger data source name.
type DSN struct {
	Kind Kind
	// Path of the SQLite database file (SQLite only), absolute or relative
	// to the working directory: sqlite:///abs/ledger.db, sqlite://rel/ledger.db.
	Path string
	// Query holds the parameters after '?', if any.
	Query url.Values
	// URL is the connection string as given (PostgreSQL only).
	URL string
}

// Parse parses sqlite:// and postgres:// (or postgresql://) DSNs.
func Parse(s string) (DSN, error) {
	switch {
	case strings.HasPrefix(s, "sqlite://"):
		rest := strings.TrimPrefix(s, "sqlite://")
		path, rawQuery, _ := strings.Cut(rest, "?")
		if path == "" {
			return DSN{}, errors.New("sqlite DSN needs a file path, e.g. sqlite:///var/lib/wallet-operator/ledger.db")
		}
		q, err := url.ParseQuery(rawQuery)
		if err != nil {
			return DSN{}, fmt.Errorf("sqlite DSN query: %w", err)
		}
		return DSN{Kind: SQLite, Path: path, Query: q}, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		u, err := url.Parse(s)
		if err != nil {
			return DSN{}, fmt.Errorf("postgres DSN: %w", err)
		}
		if u.Host == "" && u.Query().Get("host") == "" {
			return DSN{}, errors.New("postgres DSN needs a host, e.g. postgres://wallet@db:5432/ledger")
		}
		return DSN{Kind: Postgres, URL: s, Query: u.Query()}, nil
	default:
		return DSN{}, fmt.Errorf("unsupported ledger DSN %q: use sqlite:///path/to/ledger.db or postgres://user@host:5432/db", redact(s))
	}
}

// Redacted returns the DSN with any password replaced, fit for logs.
func (d DSN) Redacted() string {
	if d.Kind == SQLite {
		s := "sqlite://" + d.Path
		if len(d.Query) > 0 {
			s += "?" + d.Query.Encode()
		}
		return s
	}
	return redact(d.URL)
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	return u.Redacted()
}
