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
	"context"
	"fmt"
	"strings"
	"time"
)

// createMigrationsTable creates the table of applied migrations if it is
// not there (under the migration lock: two replicas creating it at once
// could both try).
func (s *SQLStore) createMigrationsTable(ctx context.Context) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if s.d.MigrationLock != "" {
		if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	return tx.Commit()
}

// checkVersion fails unless the schema is at this binary's version.
func (s *SQLStore) checkVersion(ctx context.Context) error {
	var have int
	if err := s.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("ledger schema: %w (has the operator ever opened this ledger?)", err)
	}
	if have != len(s.d.Migrations) {
		return fmt.Errorf("ledger schema is at version %d, this binary reads version %d: let the operator of this version open it first", have, len(s.d.Migrations))
	}
	return nil
}

func (s *SQLStore) migrate(ctx context.Context) error {
	if err := s.createMigrationsTable(ctx); err != nil {
		return fmt.Errorf("ledger migrations: %w", err)
	}
	const appliedVersion = `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`
	var have int
	if err := s.db.QueryRowContext(ctx, appliedVersion).Scan(&have); err != nil {
		return fmt.Errorf("ledger migrations: %w", err)
	}
	for v := have + 1; v <= len(s.d.Migrations); v++ {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if s.d.MigrationLock != "" {
			// another replica may be migrating the same database: wait for
			// it, then apply only what it has not
			if _, err := tx.ExecContext(ctx, s.d.MigrationLock); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("ledger migrations: %w", err)
			}
			if err := tx.QueryRowContext(ctx, appliedVersion).Scan(&have); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("ledger migrations: %w", err)
			}
			if have >= v {
				if err := tx.Commit(); err != nil {
					return fmt.Errorf("ledger migrations: %w", err)
				}
				v = have
				continue
			}
		}
		for _, stmt := range strings.Split(s.d.Migrations[v-1], ";\n") {
			if strings.TrimSpace(stmt) == "" {
				continue
			}
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("ledger migration %d: %w", v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`), v, time.Now().UnixMicro()); err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("ledger migration %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("ledger migration %d: %w", v, err)
		}
	}
	return nil
}
