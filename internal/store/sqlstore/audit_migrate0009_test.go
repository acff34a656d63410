package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

// TestAuditMigration0009 writes chained records at schema 8, as the
// appender of that schema stored them (with a retention checkpoint, and a
// row written behind the store's back), opens the store (which applies
// 0009) and checks that every record reads back as written, that the
// chains verify from their checkpoints, that the forged row is still
// reported, and that appends continue each chain.
func TestAuditMigration0009(t *testing.T) {
	for _, c := range migrationBackends {
		t.Run(c.name, func(t *testing.T) {
			dsn, driver, raw := c.new(t)
			old, exec := atSchema(t, c.d, driver, raw, 8)

			base := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
			var ins []store.SignIn
			var acts []store.Activity
			var accs []store.Access
			for i := 1; i <= 6; i++ {
				// Append order is not time order; non-ASCII text checks the
				// hash input survives the copy byte for byte.
				at := base.Add(time.Duration(7-i) * time.Second)
				id := fmt.Sprintf("0008-%d", i)
				ins = append(ins, store.SignIn{ID: id, Time: at, TenantID: "T", PrincipalID: "P", ClientID: "c",
					Resource: "https://vault.azure.net", Result: "failure", ErrorCode: "AADSTS7000215", Reason: "clé",
					CallerAddress: "::1", CredentialType: "clientSecret"})
				acts = append(acts, store.Activity{ID: id, Time: at, TenantID: "T", CallerID: "P",
					Operation: "Microsoft.Compute/virtualMachines/write", ResourceID: "/subscriptions/S/resourceGroups/G",
					Result: "success", Status: 200 + i, CallerAddress: "::1"})
				accs = append(accs, store.Access{ID: id, Time: at, TenantID: "T", CallerID: "P", ClientID: "c",
					Service: "keyvault", ResourceID: "/subscriptions/S/resourceGroups/G/providers/Microsoft.KeyVault/vaults/V",
					Item: "secrets/x", Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Result: "success",
					Status: 200, CallerAddress: "::1", TokenID: "uti-" + id})
			}
			// Records 1 and 2 of each stream were pruned.
			appendAt8(t, c.d, exec, signInChain, ins, 2)
			appendAt8(t, c.d, exec, activityChain, acts, 2)
			appendAt8(t, c.d, exec, accessChain, accs, 2)
			exec(`INSERT INTO activity (id, time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id,
				resource_key, result, status, message, caller_address)
				VALUES ('forged', 0, 't', 'T', 'p', 'P', 'x', 'R', 'r', 'success', 200, '', '::1')`)
			old.Close()

			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatalf("Open (migrating to 0009): %v", err)
			}
			defer s.Close()
			err = s.Read(t.Context(), func(tx store.Tx) error {
				for _, stream := range []store.AuditStream{store.StreamSignIns, store.StreamAccess} {
					v, err := tx.VerifyAudit(stream)
					if err != nil {
						return err
					}
					if !v.OK || v.Checked != 4 || v.Pruned.Seq != 2 || v.Head.Seq != 6 {
						t.Errorf("VerifyAudit(%s) after 0009 = %+v (first bad %+v), want OK, 4 checked after 2, head 6",
							stream, v, v.FirstBad)
					}
				}
				v, err := tx.VerifyAudit(store.StreamActivity)
				if err != nil {
					return err
				}
				if v.OK || v.FirstBad.ID != "forged" || !strings.HasPrefix(v.FirstBad.Reason, "inserted") {
					t.Errorf("VerifyAudit(activity) after 0009 = %+v (first bad %+v), want the forged row named as inserted",
						v, v.FirstBad)
				}
				gotIns, err := tx.ListSignIns(store.AuditFilter{TenantID: "t", PrincipalID: "p"})
				if err != nil {
					return err
				}
				if d := cmp.Diff(ins[2:], gotIns); d != "" {
					t.Errorf("sign-ins after 0009 (-want +got):\n%s", d)
				}
				gotAccs, err := tx.ListAccess(store.AuditFilter{TenantID: "t", ResourceID: "/subscriptions/S", TokenID: "uti-0008-4"})
				if err != nil {
					return err
				}
				if d := cmp.Diff(accs[3:4], gotAccs); d != "" {
					t.Errorf("access by token after 0009 (-want +got):\n%s", d)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}

			if c.d == sqliteDialect {
				checkSQLiteAuditSchema(t, s.read)
			}

			// Appends continue every chain, the forged row aside.
			err = s.Write(t.Context(), func(tx store.Tx) error {
				next := func(stream store.AuditStream) string { return "0009-" + string(stream) }
				return errors.Join(
					tx.AppendSignIns([]store.SignIn{{ID: next(store.StreamSignIns), Time: base, Result: "success"}}),
					tx.AppendActivity([]store.Activity{{ID: next(store.StreamActivity), Time: base, Result: "success"}}),
					tx.AppendAccess([]store.Access{{ID: next(store.StreamAccess), Time: base, Result: "success"}}))
			})
			if err != nil {
				t.Fatalf("append after 0009: %v", err)
			}
			err = s.Read(t.Context(), func(tx store.Tx) error {
				for _, stream := range []store.AuditStream{store.StreamSignIns, store.StreamAccess} {
					v, err := tx.VerifyAudit(stream)
					if err != nil {
						return err
					}
					if !v.OK || v.Checked != 5 || v.Head.Seq != 7 {
						t.Errorf("VerifyAudit(%s) after an append = %+v, want OK with 5 up to 7", stream, v)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// appendAt8 stores records as the schema-8 appender did: numbered from 1,
// each row's prev_hash and hash chained in Go, one INSERT per row, the head
// moved; then the first pruned records are deleted behind the checkpoint,
// as retention does.
func appendAt8[T any](t testing.TB, d dialect, exec func(string, ...any), cs chainStream[T], records []T, pruned int) {
	t.Helper()
	prev := genesis
	var prunedHash []byte
	for i, v := range records {
		seq := int64(i + 1)
		fields := cs.fields(v)
		h := chainHash(prev, cs.stream, seq, fields)
		args := slices.Clone(fields)
		for _, k := range cs.keys(v) {
			args = append(args, k)
		}
		exec(cs.inserts[d.name][insertNumbered][0], append(args, seq, prev, h)...)
		s, p, hh, _ := cs.link(&records[i])
		*s, *p, *hh = seq, prev, h
		if i+1 == pruned {
			prunedHash = h
		}
		prev = h
	}
	exec("UPDATE audit_heads SET seq = ?, hash = ?, pruned_seq = ?, pruned_hash = ? WHERE stream = ?",
		int64(len(records)), prev, int64(pruned), prunedHash, string(cs.stream))
	exec("DELETE FROM "+cs.table+" WHERE seq <= ?", int64(pruned))
}

// checkSQLiteAuditSchema checks that each log's seq is its rowid and that
// it has exactly the indexes 0009 leaves, and that 0010 moved the access
// log into pages.
func checkSQLiteAuditSchema(t *testing.T, db *sql.DB) {
	t.Helper()
	want := map[string][]string{
		"sign_ins": {"sign_ins_id", "sign_ins_principal", "sign_ins_tenant", "sign_ins_time", "sign_ins_token"},
		"activity": {"activity_caller", "activity_id", "activity_resource", "activity_time"},
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sqlite_master WHERE name = 'access_log'").Scan(&n); err != nil || n != 0 {
		t.Errorf("access_log is still there after 0010 (%d, %v)", n, err)
	}
	for table, indexes := range want {
		var pk string
		if err := db.QueryRowContext(t.Context(), "SELECT name FROM pragma_table_info(?) WHERE pk = 1", table).Scan(&pk); err != nil || pk != "seq" {
			t.Errorf("%s: primary key %q (%v), want seq", table, pk, err)
		}
		rows, err := db.QueryContext(t.Context(), "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name", table)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			got = append(got, name)
		}
		rows.Close()
		if d := cmp.Diff(indexes, got); d != "" {
			t.Errorf("%s: indexes (-want +got):\n%s", table, d)
		}
	}
}
