package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
	"github.com/signet-platform/signet/internal/store/storetest"
	"github.com/signet-platform/signet/internal/testutil/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backend names a database for one test: a DSN for Open, and the driver and
// data source to reach the same database behind the store's back.
type backend struct {
	name string
	new  func(t *testing.T) (dsn, driver, raw string)
}

var backends = []backend{
	{"SQLite", func(t *testing.T) (string, string, string) {
		path := filepath.Join(t.TempDir(), "signet.db")
		return "sqlite:" + path, "sqlite", path
	}},
	{"PostgreSQL", func(t *testing.T) (string, string, string) {
		dsn := pgtest.Start(t)
		return dsn, "pgx", dsn
	}},
}

func open(t *testing.T, dsn string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				dsn, _, _ := b.new(t)
				return open(t, dsn)
			})
		})
	}
}

func rawDB(t *testing.T, driver, raw string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, raw)
	if err != nil {
		t.Fatalf("sql.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func schemaVersions(t *testing.T, db *sql.DB) []int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var vs []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return vs
}

func TestSchemaTooNew(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, driver, raw := b.new(t)
			s := open(t, dsn)
			s.Close()
			db := rawDB(t, driver, raw)
			known := schemaVersions(t, db)
			newest := known[len(known)-1]
			if _, err := db.ExecContext(t.Context(), rebind(driver,
				"INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
				newest+1, "9999_from_the_future.sql", time.Now().UnixMicro()); err != nil {
				t.Fatalf("bump schema version: %v", err)
			}
			db.Close()

			s2, err := sqlstore.Open(t.Context(), dsn)
			if err == nil {
				s2.Close()
				t.Fatalf("Open of a database from a newer binary: no error")
			}
			t.Logf("Open: %v", err)
			if !errors.Is(err, store.ErrSchemaTooNew) {
				t.Errorf("Open: error %v does not wrap ErrSchemaTooNew", err)
			}
			// The operator must learn both versions.
			for _, want := range []string{itoa(newest + 1), itoa(newest)} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Open: error %q does not name version %s", err, want)
				}
			}
		})
	}
}

func TestReopenKeepsDataAndMigratesOnce(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, driver, raw := b.new(t)
			tenant := store.Tenant{ID: "t1", DisplayName: "kept", CreatedAt: time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)}
			s := open(t, dsn)
			if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateTenant(tenant) }); err != nil {
				t.Fatal(err)
			}
			s.Close()
			db := rawDB(t, driver, raw)
			want := schemaVersions(t, db)

			// Opening again (twice) applies nothing new and keeps the data.
			for range 2 {
				s = open(t, dsn)
				var got store.Tenant
				err := s.Read(t.Context(), func(tx store.Tx) error {
					var err error
					got, err = tx.GetTenant("T1")
					return err
				})
				if err != nil || got != tenant {
					t.Errorf("after reopen: GetTenant = %+v, %v; want %+v", got, err, tenant)
				}
				s.Close()
			}
			if got := schemaVersions(t, db); !equal(got, want) {
				t.Errorf("schema_migrations after reopening = %v, want %v (migrations must apply once)", got, want)
			}
			if len(want) == 0 || want[0] != 1 {
				t.Errorf("schema_migrations = %v, want versions from 1", want)
			}
		})
	}
}

// TestConcurrentOpen starts several Opens on one fresh database at once:
// the migration lock must let exactly one migrate and the others find the
// schema ready.
func TestConcurrentOpen(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, driver, raw := b.new(t)
			const n = 4
			errs := make(chan error, n)
			for range n {
				go func() {
					s, err := sqlstore.Open(context.Background(), dsn)
					if err == nil {
						err = s.Close()
					}
					errs <- err
				}()
			}
			for range n {
				if err := <-errs; err != nil {
					t.Errorf("concurrent Open: %v", err)
				}
			}
			got := schemaVersions(t, rawDB(t, driver, raw))
			if len(got) == 0 || got[0] != 1 {
				t.Errorf("schema_migrations = %v, want each version once from 1", got)
			}
		})
	}
}

func TestOpenRejectsBadDSN(t *testing.T) {
	for _, dsn := range []string{"", "sqlite:", "sqlite::memory:", "mysql://u@h/db", "sqlite:/tmp/x.db?mode=memory"} {
		if s, err := sqlstore.Open(t.Context(), dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q): no error", dsn)
		}
	}
}

func TestSQLiteFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signet.db")
	open(t, path) // a plain path works too
	fi, err := osStat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("database file mode = %v, want no group or other access", perm)
	}
}
