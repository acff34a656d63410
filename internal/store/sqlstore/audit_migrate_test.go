package sqlstore

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/testutil/pgtest"
)

// TestAuditChainBackfill builds a database at schema 5 with audit rows in
// it, opens it (which applies 0006) and checks that the rows were numbered
// in (time, id) order and hashed exactly as the Go appender hashes (the
// verifier recomputes every hash in Go), and that appends continue the
// chain.
func TestAuditChainBackfill(t *testing.T) {
	for _, c := range migrationBackends {
		t.Run(c.name, func(t *testing.T) {
			dsn, driver, raw := c.new(t)
			old, exec := atSchema(t, c.d, driver, raw, 5)
			base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
			// Inserted out of time order; two share a time, so the id
			// decides. Non-ASCII text checks the UTF-8 encoding on both.
			for i, n := range []int{3, 1, 4, 2, 5} {
				at := base + int64(min(n, 4))*1e6
				id := fmt.Sprintf("legacy-%d", n)
				exec(`INSERT INTO sign_ins (id, time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource,
					result, error_code, reason, caller_address, credential_type, token_id)
					VALUES (?, ?, 't', 'T', 'p', 'P', 'c', 'https://management.azure.com/', 'failure', 'AADSTS7000215',
					'clé invalide', '::1', 'clientSecret', '')`, id, at)
				exec(`INSERT INTO activity (id, time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id,
					result, status, message, caller_address)
					VALUES (?, ?, 't', 'T', 'p', 'P', 'Microsoft.Compute/virtualMachines/write', ?, 'success', ?, '', '::1')`,
					id, at, "/subscriptions/S/resourceGroups/G"+fmt.Sprint(i), 200+i)
				exec(`INSERT INTO access_log (id, time, tenant_key, tenant_id, caller_key, caller_id, client_id, service,
					resource_key, resource_id, item, action, result, status, error_code, caller_address, token_id)
					VALUES (?, ?, 't', 'T', 'p', 'P', 'c', 'blob', 'r', 'R', 'c/b', 'read', 'success', 200, '', '::1', ?)`,
					id, at, "uti-"+id)
			}
			old.Close()

			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatalf("Open (migrating to 0006): %v", err)
			}
			defer s.Close()
			var got []store.SignIn
			var acts []store.Activity
			err = s.Read(t.Context(), func(tx store.Tx) error {
				for _, stream := range store.AuditStreams {
					v, err := tx.VerifyAudit(stream)
					if err != nil {
						return err
					}
					if !v.OK || v.Checked != 5 || v.Head.Seq != 5 {
						t.Errorf("VerifyAudit(%s) after backfill = %+v (first bad %+v), want OK with 5", stream, v, v.FirstBad)
					}
				}
				got, err = tx.ListSignIns(store.AuditFilter{})
				if err != nil {
					return err
				}
				acts, err = tx.ListActivity(store.AuditFilter{ResourceID: "/subscriptions/s/resourcegroups/g1"})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(got, func(a, b store.SignIn) int { return int(a.Seq - b.Seq) })
			var order []string
			for _, r := range got {
				order = append(order, r.ID)
			}
			if want := []string{"legacy-1", "legacy-2", "legacy-3", "legacy-4", "legacy-5"}; !slices.Equal(order, want) {
				t.Errorf("backfilled sequence order %v, want %v (time, then id)", order, want)
			}
			if len(acts) != 1 {
				t.Errorf("activity under a backfilled resource_key: %d records, want 1", len(acts))
			}
			err = s.Write(t.Context(), func(tx store.Tx) error {
				return tx.AppendSignIns([]store.SignIn{{ID: "new", Time: time.Now(), Result: "success"}})
			})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Read(t.Context(), func(tx store.Tx) error {
				v, err := tx.VerifyAudit(store.StreamSignIns)
				if err == nil && (!v.OK || v.Head.Seq != 6) {
					t.Errorf("VerifyAudit after an append = %+v, want OK with head 6", v)
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// migrationBackends are fresh databases of each dialect, to build at an
// older schema.
var migrationBackends = []struct {
	name string
	d    dialect
	new  func(t *testing.T) (dsn, driver, raw string)
}{
	{"SQLite", sqliteDialect, func(t *testing.T) (string, string, string) {
		p := filepath.Join(t.TempDir(), "old.db")
		return "sqlite:" + p, "sqlite", p
	}},
	{"PostgreSQL", postgresDialect, func(t *testing.T) (string, string, string) {
		dsn := pgtest.Start(t)
		return dsn, "pgx", dsn
	}},
}

// atSchema applies migrations 1 to version to a fresh database, as the
// signet of that version did, and returns it with a statement runner that
// takes ? placeholders. Close the database before opening the store on it.
func atSchema(t testing.TB, d dialect, driver, raw string, version int) (*sql.DB, func(q string, args ...any)) {
	t.Helper()
	db, err := sql.Open(driver, raw)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), d.rebind(q), args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	ms, err := loadMigrations(d)
	if err != nil {
		t.Fatal(err)
	}
	exec(`CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`)
	for _, m := range ms[:version] {
		exec(m.sql)
		exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", m.version, m.name, 0)
	}
	return db, exec
}
