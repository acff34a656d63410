package sqlstore_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

var chainBase = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// fillAudit appends five records to each stream, seq i at chainBase+i s.
func fillAudit(t *testing.T, s store.Store) {
	t.Helper()
	var ins []store.SignIn
	var acts []store.Activity
	var accs []store.Access
	for i := 1; i <= 5; i++ {
		at := chainBase.Add(time.Duration(i) * time.Second)
		ins = append(ins, store.SignIn{ID: chainID(store.StreamSignIns, i), Time: at, TenantID: "T", PrincipalID: "P",
			ClientID: "c", Resource: "https://management.azure.com/", Result: "success", CallerAddress: "::1",
			CredentialType: "clientSecret", TokenID: fmt.Sprint("uti-", i)})
		acts = append(acts, store.Activity{ID: chainID(store.StreamActivity, i), Time: at, TenantID: "T", CallerID: "P",
			Operation: "Microsoft.Compute/virtualMachines/write", ResourceID: "/subscriptions/S/resourceGroups/G",
			Result: "success", Status: 200, CallerAddress: "::1"})
		accs = append(accs, store.Access{ID: chainID(store.StreamAccess, i), Time: at, TenantID: "T", CallerID: "P",
			Service: "keyvault", ResourceID: "/subscriptions/S/resourceGroups/G/providers/Microsoft.KeyVault/vaults/V",
			Item: "secrets/x", Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Result: "success",
			Status: 200, TokenID: fmt.Sprint("uti-", i)})
	}
	if err := s.Write(t.Context(), func(tx store.Tx) error {
		return errors.Join(tx.AppendSignIns(ins), tx.AppendActivity(acts), tx.AppendAccess(accs))
	}); err != nil {
		t.Fatal(err)
	}
}

func chainID(stream store.AuditStream, i int) string {
	return fmt.Sprintf("%s-%02d", stream, i)
}

var tables = map[store.AuditStream]string{
	store.StreamSignIns: "sign_ins", store.StreamActivity: "activity",
}

// TestAuditTamper edits, deletes and inserts single records behind the
// store's back and checks that VerifyAudit names the first bad one, on both
// backends. The access log, stored in pages, has TestAccessPageTamper.
func TestAuditTamper(t *testing.T) {
	type tamper struct {
		name   string
		stream store.AuditStream
		sql    string // ? placeholders; "$T" is the stream's table
		args   []any
		want   store.AuditFault // Reason is matched as a prefix
	}
	// want.Seq on SQLite where it differs: there seq is the table's rowid,
	// and a row inserted without one gets the next.
	sqliteSeq := map[string]int64{"insert without a sequence number": 6}
	var cases []tamper
	// Every record of the sign-in chain, edited and deleted.
	for i := 1; i <= 5; i++ {
		id := chainID(store.StreamSignIns, i)
		cases = append(cases,
			tamper{fmt.Sprintf("edit sign-in %d", i), store.StreamSignIns, "UPDATE $T SET result = 'failure' WHERE seq = ?",
				[]any{i}, store.AuditFault{Seq: int64(i), ID: id, Reason: "altered"}},
			tamper{fmt.Sprintf("delete sign-in %d", i), store.StreamSignIns, "DELETE FROM $T WHERE seq = ?",
				[]any{i}, store.AuditFault{Seq: int64(i), Reason: "missing"}},
		)
	}
	cases = append(cases,
		tamper{"edit a time", store.StreamActivity, "UPDATE $T SET time = time + 1 WHERE seq = 2", nil,
			store.AuditFault{Seq: 2, ID: chainID(store.StreamActivity, 2), Reason: "altered"}},
		tamper{"edit a status", store.StreamActivity, "UPDATE $T SET status = 500 WHERE seq = 4", nil,
			store.AuditFault{Seq: 4, ID: chainID(store.StreamActivity, 4), Reason: "altered"}},
		tamper{"edit a lookup column", store.StreamActivity, "UPDATE $T SET caller_key = 'someone-else' WHERE seq = 3", nil,
			store.AuditFault{Seq: 3, ID: chainID(store.StreamActivity, 3), Reason: "altered: lookup column caller_key"}},
		tamper{"edit a stored hash", store.StreamSignIns, "UPDATE $T SET hash = prev_hash WHERE seq = 5", nil,
			store.AuditFault{Seq: 5, ID: chainID(store.StreamSignIns, 5), Reason: "altered"}},
		tamper{"edit a prev_hash", store.StreamActivity, "UPDATE $T SET prev_hash = hash WHERE seq = 2", nil,
			store.AuditFault{Seq: 2, ID: chainID(store.StreamActivity, 2), Reason: "prev_hash"}},
		tamper{"two edits: the first is named", store.StreamSignIns,
			"UPDATE $T SET reason = 'x' WHERE seq IN (2, 4)", nil,
			store.AuditFault{Seq: 2, ID: chainID(store.StreamSignIns, 2), Reason: "altered"}},
		tamper{"insert without a sequence number", store.StreamSignIns,
			`INSERT INTO $T (id, time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource, result,
				error_code, reason, caller_address, credential_type, token_id)
			SELECT 'forged', time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource, result,
				error_code, reason, caller_address, credential_type, token_id FROM $T WHERE seq = 3`, nil,
			store.AuditFault{ID: "forged", Reason: "inserted"}},
		tamper{"insert after the head, chained to it", store.StreamActivity,
			`INSERT INTO $T (id, time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id, resource_key,
				result, status, message, caller_address, seq, prev_hash, hash)
			SELECT 'forged', time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id, resource_key,
				result, status, message, caller_address, 6, hash, hash FROM $T WHERE seq = 5`, nil,
			store.AuditFault{Seq: 6, ID: "forged", Reason: "inserted"}},
		tamper{"insert before the first record", store.StreamSignIns,
			`INSERT INTO $T (id, time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource, result,
				error_code, reason, caller_address, credential_type, token_id, seq, prev_hash, hash)
			SELECT 'forged', time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource, result,
				error_code, reason, caller_address, credential_type, token_id, 0, prev_hash, hash
			FROM $T WHERE seq = 1`, nil,
			store.AuditFault{Seq: 0, ID: "forged", Reason: "inserted"}},
		tamper{"renumber a record", store.StreamSignIns, "UPDATE $T SET seq = 99 WHERE seq = 3", nil,
			store.AuditFault{Seq: 3, Reason: "missing"}},
	)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					dsn, driver, raw := b.new(t)
					s := open(t, dsn)
					fillAudit(t, s)
					for _, stream := range store.AuditStreams {
						if v := verifyStream(t, s, stream); !v.OK {
							t.Fatalf("before tampering: VerifyAudit(%s) = %+v", stream, v.FirstBad)
						}
					}
					db := rawDB(t, driver, raw)
					q := strings.ReplaceAll(c.sql, "$T", tables[c.stream])
					if _, err := db.ExecContext(t.Context(), rebind(driver, q), c.args...); err != nil {
						t.Fatalf("tamper: %v", err)
					}
					v := verifyStream(t, s, c.stream)
					if v.OK || v.FirstBad == nil {
						t.Fatalf("VerifyAudit(%s) after tampering = OK, want the first bad record named", c.stream)
					}
					want := c.want
					if seq, ok := sqliteSeq[c.name]; ok && b.name == "SQLite" {
						want.Seq = seq
					}
					got := *v.FirstBad
					if !strings.HasPrefix(got.Reason, c.want.Reason) {
						t.Errorf("reason %q, want it to start with %q", got.Reason, c.want.Reason)
					}
					got.Reason = c.want.Reason
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("first bad record (-want +got):\n%s", d)
					}
					// The other streams are untouched.
					for _, other := range store.AuditStreams {
						if other != c.stream && !verifyStream(t, s, other).OK {
							t.Errorf("VerifyAudit(%s) fails after tampering with %s only", other, c.stream)
						}
					}
				})
			}
		})
	}
}

func verifyStream(t *testing.T, s store.Store, stream store.AuditStream) store.AuditVerification {
	t.Helper()
	var v store.AuditVerification
	if err := s.Read(t.Context(), func(tx store.Tx) error {
		var err error
		v, err = tx.VerifyAudit(stream)
		return err
	}); err != nil {
		t.Fatalf("VerifyAudit(%s): %v", stream, err)
	}
	return v
}

// TestAuditPruneKeepsEvidence checks that retention refuses to delete a
// span that does not verify: pruning must not launder a tampered record.
func TestAuditPruneKeepsEvidence(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, driver, raw := b.new(t)
			s := open(t, dsn)
			fillAudit(t, s)
			db := rawDB(t, driver, raw)
			if _, err := db.ExecContext(t.Context(), "DELETE FROM sign_ins WHERE seq = 2"); err != nil {
				t.Fatal(err)
			}
			err := s.Write(t.Context(), func(tx store.Tx) error {
				_, err := tx.PruneAudit(store.StreamSignIns, chainBase.Add(time.Hour), 100)
				return err
			})
			if !errors.Is(err, sqlstore.ErrAuditChainBroken) {
				t.Fatalf("PruneAudit over a deleted record: %v, want ErrAuditChainBroken", err)
			}
			var n int
			if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM sign_ins").Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 4 {
				t.Errorf("%d sign-ins left, want the 4 the tamper left (nothing pruned)", n)
			}
			if v := verifyStream(t, s, store.StreamSignIns); v.OK || v.FirstBad.Seq != 2 {
				t.Errorf("VerifyAudit after refused prune = %+v, want record 2 missing", v.FirstBad)
			}
		})
	}
}
