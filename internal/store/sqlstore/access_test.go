package sqlstore_test

import (
	"bytes"
	"database/sql"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// editPage rewrites the records column of the access page from first
// behind the store's back.
func editPage(t *testing.T, db *sql.DB, driver string, first int64, edit func([]byte) []byte) {
	t.Helper()
	var page []byte
	if err := db.QueryRowContext(t.Context(), rebind(driver, "SELECT records FROM access_pages WHERE first_seq = ?"), first).Scan(&page); err != nil {
		t.Fatalf("read page %d: %v", first, err)
	}
	if _, err := db.ExecContext(t.Context(), rebind(driver, "UPDATE access_pages SET records = ? WHERE first_seq = ?"),
		edit(page), first); err != nil {
		t.Fatalf("write page %d: %v", first, err)
	}
}

// replaceNth replaces the n-th (from 1) occurrence of old in b.
func replaceNth(t *testing.T, b, old, new []byte, n int) []byte {
	t.Helper()
	at := -1
	for i := 0; i < n; i++ {
		j := bytes.Index(b[at+1:], old)
		if j < 0 {
			t.Fatalf("occurrence %d of %q not in the page", n, old)
		}
		at += 1 + j
	}
	return append(append(append([]byte(nil), b[:at]...), new...), b[at+len(old):]...)
}

func accessRecords(t *testing.T, s store.Store) []store.Access {
	t.Helper()
	var got []store.Access
	if err := s.Read(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.ListAccess(store.AuditFilter{})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// TestAccessPageTamper edits, deletes and inserts access pages and their
// lookup entries behind the store's back and checks that VerifyAudit names
// the first bad record, on both backends. fillAudit writes the five records
// as one page.
func TestAccessPageTamper(t *testing.T) {
	type env struct {
		db      *sql.DB
		driver  string
		records []store.Access // newest first, as listed before tampering
	}
	exec := func(t *testing.T, e env, q string, args ...any) {
		t.Helper()
		if _, err := e.db.ExecContext(t.Context(), rebind(e.driver, q), args...); err != nil {
			t.Fatalf("tamper: %v", err)
		}
	}
	id := func(i int) string { return chainID(store.StreamAccess, i) }
	cases := []struct {
		name   string
		tamper func(*testing.T, env)
		want   store.AuditFault // Reason is matched as a prefix
	}{
		{"edit a record's field", func(t *testing.T, e env) {
			editPage(t, e.db, e.driver, 1, func(p []byte) []byte { return replaceNth(t, p, []byte("uti-3"), []byte("uti-9"), 1) })
		}, store.AuditFault{Seq: 3, ID: id(3), Reason: "altered: hash"}},
		{"edit a time", func(t *testing.T, e env) {
			editPage(t, e.db, e.driver, 1, func(p []byte) []byte {
				// The second record's hash is followed by its time.
				h := e.records[3].Hash
				i := bytes.Index(p, h) + len(h)
				p = bytes.Clone(p)
				p[i] ^= 2 // the lowest bit of the value (zigzag), so the length is kept
				return p
			})
		}, store.AuditFault{Seq: 2, ID: id(2), Reason: "altered: hash"}},
		{"edit a stored hash", func(t *testing.T, e env) {
			editPage(t, e.db, e.driver, 1, func(p []byte) []byte {
				return replaceNth(t, p, e.records[0].Hash, e.records[0].PrevHash, 1)
			})
		}, store.AuditFault{Seq: 5, ID: id(5), Reason: "altered: hash"}},
		{"edit the page's prev_hash", func(t *testing.T, e env) {
			editPage(t, e.db, e.driver, 1, func(p []byte) []byte {
				return replaceNth(t, p, e.records[4].PrevHash, e.records[4].Hash, 1)
			})
		}, store.AuditFault{Seq: 1, ID: id(1), Reason: "prev_hash"}},
		{"truncate a page", func(t *testing.T, e env) {
			editPage(t, e.db, e.driver, 1, func(p []byte) []byte { return p[:len(p)-3] })
		}, store.AuditFault{Seq: 1, Reason: "altered: the page from this record does not decode"}},
		{"change a page's range", func(t *testing.T, e env) {
			exec(t, e, "UPDATE access_pages SET last_seq = 9 WHERE first_seq = 1")
		}, store.AuditFault{Seq: 1, Reason: "altered: the page from this record says it ends at 9"}},
		{"delete the page", func(t *testing.T, e env) {
			exec(t, e, "DELETE FROM access_pages WHERE first_seq = 1")
		}, store.AuditFault{Seq: 1, Reason: "missing: records 1 to 5 were deleted"}},
		{"renumber the page", func(t *testing.T, e env) {
			exec(t, e, "UPDATE access_pages SET first_seq = 2, last_seq = 6 WHERE first_seq = 1")
		}, store.AuditFault{Seq: 1, Reason: "missing: record 1 was deleted"}},
		{"insert a page before the first", func(t *testing.T, e env) {
			exec(t, e, "INSERT INTO access_pages (first_seq, last_seq, records) SELECT -4, 0, records FROM access_pages WHERE first_seq = 1")
		}, store.AuditFault{Seq: -4, ID: id(1), Reason: "inserted: sequence number at or before the retention checkpoint"}},
		{"insert a page after the head", func(t *testing.T, e env) {
			exec(t, e, "INSERT INTO access_pages (first_seq, last_seq, records) SELECT 6, 10, records FROM access_pages WHERE first_seq = 1")
		}, store.AuditFault{Seq: 6, ID: id(1), Reason: "inserted: sequence number beyond the stream's head"}},
		{"edit a lookup entry", func(t *testing.T, e env) {
			exec(t, e, "UPDATE access_keys SET key = 'someone-else' WHERE kind = 'caller'")
		}, store.AuditFault{Seq: 1, ID: id(1), Reason: "altered: the lookup entries of the page from this record"}},
		{"widen a lookup entry's time span", func(t *testing.T, e env) {
			exec(t, e, "UPDATE access_keys SET max_time = max_time + 1 WHERE kind = 'token' AND key = 'uti-2'")
		}, store.AuditFault{Seq: 1, ID: id(1), Reason: "altered: the lookup entries of the page from this record"}},
		{"delete a lookup entry", func(t *testing.T, e env) {
			exec(t, e, "DELETE FROM access_keys WHERE kind = 'resource'")
		}, store.AuditFault{Seq: 1, ID: id(1), Reason: "altered: the lookup entries of the page from this record"}},
		{"insert a lookup entry for no page", func(t *testing.T, e env) {
			exec(t, e, "INSERT INTO access_keys (kind, key, min_time, max_time, first_seq) VALUES ('caller', 'x', 0, 0, 99)")
		}, store.AuditFault{Reason: "inserted: 1 lookup entries belong to no page"}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					dsn, driver, raw := b.new(t)
					s := open(t, dsn)
					fillAudit(t, s)
					if v := verifyStream(t, s, store.StreamAccess); !v.OK || v.Checked != 5 {
						t.Fatalf("before tampering: VerifyAudit(access) = %+v (%+v)", v, v.FirstBad)
					}
					c.tamper(t, env{rawDB(t, driver, raw), driver, accessRecords(t, s)})
					v := verifyStream(t, s, store.StreamAccess)
					if v.OK || v.FirstBad == nil {
						t.Fatalf("VerifyAudit(access) after tampering = OK, want the first bad record named")
					}
					got := *v.FirstBad
					if !strings.HasPrefix(got.Reason, c.want.Reason) {
						t.Errorf("reason %q, want it to start with %q", got.Reason, c.want.Reason)
					}
					got.Reason = c.want.Reason
					if d := cmp.Diff(c.want, got); d != "" {
						t.Errorf("first bad record (-want +got):\n%s", d)
					}
					// Retention refuses to delete what does not verify.
					err := s.Write(t.Context(), func(tx store.Tx) error {
						_, err := tx.PruneAudit(store.StreamAccess, chainBase.Add(time.Hour), 100)
						return err
					})
					if strings.Contains(c.want.Reason, "lookup entr") {
						// The records verify; the entries are an index.
						return
					}
					if !errors.Is(err, sqlstore.ErrAuditChainBroken) && err != nil {
						t.Errorf("PruneAudit after tampering: %v", err)
					}
					if v2 := verifyStream(t, s, store.StreamAccess); v2.OK {
						t.Errorf("VerifyAudit(access) is OK after a prune over the tampered page: the evidence was deleted")
					}
				})
			}
		})
	}
}

// TestAppendAfterForgedPage checks that a page written behind the store's
// back past the head stops appends with ErrAuditChainBroken, rather than
// forking the chain around it or passing for a duplicate ID.
func TestAppendAfterForgedPage(t *testing.T) {
	forgeries := map[string]string{
		"at the head":            "INSERT INTO access_pages (first_seq, last_seq, records) SELECT 6, 10, records FROM access_pages WHERE first_seq = 1",
		"reaching past the head": "INSERT INTO access_pages (first_seq, last_seq, records) SELECT 3, 7, records FROM access_pages WHERE first_seq = 1",
	}
	for _, b := range backends {
		for name, forge := range forgeries {
			t.Run(b.name+"/"+name, func(t *testing.T) {
				dsn, driver, raw := b.new(t)
				s := open(t, dsn)
				fillAudit(t, s)
				if _, err := rawDB(t, driver, raw).ExecContext(t.Context(), forge); err != nil {
					t.Fatalf("forge: %v", err)
				}
				batch := []store.Access{{ID: "next-1", Time: chainBase.Add(time.Minute), Result: "success"},
					{ID: "next-2", Time: chainBase.Add(time.Minute), Result: "success"}}
				err := s.Write(t.Context(), func(tx store.Tx) error { return tx.AppendAccess(batch) })
				if !errors.Is(err, sqlstore.ErrAuditChainBroken) || errors.Is(err, store.ErrConflict) {
					t.Fatalf("AppendAccess after a forged page: %v, want ErrAuditChainBroken", err)
				}
				if v := verifyStream(t, s, store.StreamAccess); v.OK || v.FirstBad == nil || !strings.HasPrefix(v.FirstBad.Reason, "inserted") {
					t.Errorf("VerifyAudit(access) = %+v (first bad %+v), want the forged page named as inserted", v, v.FirstBad)
				}
			})
		}
	}
}

// TestAccessPruneCutsAPage prunes part of a page: the records kept are
// written again as a page of their own, the chain verifies from the new
// checkpoint, the pruned IDs are free again, and appends continue.
func TestAccessPruneCutsAPage(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, driver, raw := b.new(t)
			s := open(t, dsn)
			fillAudit(t, s)
			before := accessRecords(t, s)
			var n int
			err := s.Write(t.Context(), func(tx store.Tx) error {
				var err error
				n, err = tx.PruneAudit(store.StreamAccess, chainBase.Add(2500*time.Millisecond), 100)
				return err
			})
			if err != nil || n != 2 {
				t.Fatalf("PruneAudit = %d, %v; want 2 records (at 1 s and 2 s)", n, err)
			}
			v := verifyStream(t, s, store.StreamAccess)
			if !v.OK || v.Checked != 3 || v.Pruned.Seq != 2 || v.Head.Seq != 5 {
				t.Fatalf("VerifyAudit after the cut = %+v (%+v), want OK, 3 checked from 2 to 5", v, v.FirstBad)
			}
			if d := cmp.Diff(before[:3], accessRecords(t, s)); d != "" {
				t.Errorf("records kept (-want +got):\n%s", d)
			}
			var firsts []int64
			rows, err := rawDB(t, driver, raw).QueryContext(t.Context(), "SELECT first_seq FROM access_pages ORDER BY first_seq")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var f int64
				if err := rows.Scan(&f); err != nil {
					t.Fatal(err)
				}
				firsts = append(firsts, f)
			}
			rows.Close()
			if d := cmp.Diff([]int64{3}, firsts); d != "" {
				t.Errorf("pages after the cut (-want +got):\n%s", d)
			}
			// A pruned record's ID is no longer held; a kept one still is.
			err = s.Write(t.Context(), func(tx store.Tx) error {
				return tx.AppendAccess([]store.Access{{ID: chainID(store.StreamAccess, 3), Time: chainBase.Add(time.Minute)}})
			})
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("appending a kept record's ID: %v, want ErrConflict", err)
			}
			err = s.Write(t.Context(), func(tx store.Tx) error {
				return tx.AppendAccess([]store.Access{{ID: chainID(store.StreamAccess, 1), Time: chainBase.Add(time.Minute)}})
			})
			if err != nil {
				t.Errorf("appending a pruned record's ID: %v", err)
			}
			if v := verifyStream(t, s, store.StreamAccess); !v.OK || v.Checked != 4 || v.Head.Seq != 6 {
				t.Errorf("VerifyAudit after an append = %+v (%+v), want OK, 4 checked up to 6", v, v.FirstBad)
			}
		})
	}
}

// TestAccessListSpansPages lists records spread over many pages whose time
// spans overlap (appends are not in time order), and checks the order,
// limits and keyset paging against a plain sort.
func TestAccessListSpansPages(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, _, _ := b.new(t)
			s := open(t, dsn)
			var all []store.Access
			vaults := []string{"/subscriptions/S/resourceGroups/G/providers/Microsoft.KeyVault/vaults/A",
				"/subscriptions/S/resourceGroups/G/providers/Microsoft.KeyVault/vaults/AB"}
			for batch := range 40 {
				var recs []store.Access
				for i := range 7 {
					n := batch*7 + i
					// Each batch reaches back in time past the ones before.
					at := chainBase.Add(time.Duration(n*10-(i*25)) * time.Millisecond).Truncate(20 * time.Millisecond)
					recs = append(recs, store.Access{ID: chainID(store.StreamAccess, n), Time: at, TenantID: "T",
						CallerID: []string{"P1", "P2"}[n%2], ResourceID: vaults[n%3%2], Item: "secrets/x",
						Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Result: "success", TokenID: "uti"})
				}
				if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.AppendAccess(recs) }); err != nil {
					t.Fatal(err)
				}
				all = append(all, recs...)
			}
			newest := func(keep func(store.Access) bool) []store.Access {
				var out []store.Access
				for _, v := range all {
					if keep(v) {
						out = append(out, v)
					}
				}
				slicesSortNewest(out)
				return out
			}
			for _, c := range []struct {
				name string
				f    store.AuditFilter
				keep func(store.Access) bool
			}{
				{"all", store.AuditFilter{}, func(store.Access) bool { return true }},
				{"caller", store.AuditFilter{PrincipalID: "p2"}, func(v store.Access) bool { return v.CallerID == "P2" }},
				{"vault A only", store.AuditFilter{ResourceID: vaults[0]}, func(v store.Access) bool { return v.ResourceID == vaults[0] }},
				{"group", store.AuditFilter{TenantID: "t", ResourceID: "/subscriptions/s/resourcegroups/g"}, func(store.Access) bool { return true }},
			} {
				want := newest(c.keep)
				// Page through 13 at a time.
				var got []store.Access
				f := c.f
				f.Limit = 13
				for range 100 {
					var page []store.Access
					if err := s.Read(t.Context(), func(tx store.Tx) error {
						var err error
						page, err = tx.ListAccess(f)
						return err
					}); err != nil {
						t.Fatal(err)
					}
					got = append(got, page...)
					if len(page) < f.Limit {
						break
					}
					last := page[len(page)-1]
					f.After = store.AuditCursor{Time: last.Time, ID: last.ID}
				}
				if d := cmp.Diff(ids(want), ids(got)); d != "" {
					t.Errorf("%s: listed (-want +got):\n%s", c.name, d)
				}
			}
			if v := verifyStream(t, s, store.StreamAccess); !v.OK || v.Checked != 280 {
				t.Errorf("VerifyAudit = %+v (%+v), want OK with 280", v, v.FirstBad)
			}
		})
	}
}

func ids(v []store.Access) []string {
	out := make([]string, len(v))
	for i := range v {
		out[i] = v[i].ID
	}
	return out
}

// slicesSortNewest sorts records in listing order: newest first, by (Time,
// ID) descending.
func slicesSortNewest(v []store.Access) {
	slices.SortFunc(v, func(a, b store.Access) int {
		if c := b.Time.Compare(a.Time); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
}
