package sqlstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Migrations are numbered NNNN_name.sql, one directory per dialect with the
// same numbers in each. A migration is never edited once released: change
// the schema by adding the next number to both directories.
//
//go:embed migrations
var migrationFS embed.FS

// goSteps are the parts of migrations SQL cannot do, run after the
// version's SQL in the same transaction.
var goSteps = map[int]func(*tx) error{
	10: pageAccessLog,
}

type migration struct {
	version int
	name    string
	sql     string
}

// migrationLockKey is the PostgreSQL advisory lock that keeps two replicas
// starting together from both migrating ("signet" in ASCII).
const migrationLockKey = 0x7369676e6574

func loadMigrations(d dialect) ([]migration, error) {
	dir := path.Join("migrations", d.name)
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: read embedded migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("sqlstore: migration %s: name must be NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("sqlstore: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(body)})
	}
	// ReadDir sorts by name and names are zero-padded, so versions ascend;
	// insist they are 1..n without gaps, which catches a file missing from
	// one dialect's directory.
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlstore: %s migrations: want version %d, found %s", d.name, i+1, m.name)
		}
	}
	if len(ms) == 0 {
		return nil, errors.New("sqlstore: no embedded migrations")
	}
	return ms, nil
}

// migrate brings the schema up to date in one transaction: either every
// pending migration is applied and recorded, or none is.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations(s.d)
	if err != nil {
		return err
	}
	latest := ms[len(ms)-1].version
	return s.run(ctx, s.write, nil, true, func(stx store.Tx) error {
		t := stx.(*tx)
		if s.d == postgresDialect {
			// Held to the end of the transaction; a second replica waits
			// here and then finds nothing left to do.
			if _, err := t.exec("SELECT pg_advisory_xact_lock(?)", int64(migrationLockKey)); err != nil {
				return fmt.Errorf("sqlstore: take migration lock: %w", err)
			}
		}
		if _, err := t.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
			version BIGINT PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at BIGINT NOT NULL
		)`); err != nil {
			return fmt.Errorf("sqlstore: create schema_migrations: %w", err)
		}
		var current int
		if err := t.queryRow("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").Scan(&current); err != nil {
			return fmt.Errorf("sqlstore: read schema version: %w", err)
		}
		if current > latest {
			return fmt.Errorf("%w: the database is at schema version %d, but this signet binary only knows versions up to %d; "+
				"it was migrated by a newer signet. Run that newer version (or later) against it, or restore a backup taken before the upgrade",
				store.ErrSchemaTooNew, current, latest)
		}
		for _, m := range ms[current:] {
			if _, err := t.exec(m.sql); err != nil {
				return fmt.Errorf("sqlstore: apply migration %s: %w", m.name, err)
			}
			if step := goSteps[m.version]; step != nil {
				if err := step(t); err != nil {
					return fmt.Errorf("sqlstore: apply migration %s: %w", m.name, err)
				}
			}
			if _, err := t.exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
				m.version, m.name, time.Now().UnixMicro()); err != nil {
				return fmt.Errorf("sqlstore: record migration %s: %w", m.name, err)
			}
		}
		return nil
	})
}
