package sqlstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

// encodePage is the records column pageWriter builds for records, chained
// from prev.
func encodePage(records []store.Access, firstSeq int64, prev []byte) ([]byte, []store.Access) {
	w := &pageWriter{keys: make(map[pageKey]span)}
	var chained []store.Access
	for i := range records {
		seq := firstSeq + int64(i)
		v := records[i]
		h := sha256.Sum256(accessHashInput(nil, prev, seq, &v))
		v.Seq, v.PrevHash, v.Hash = seq, prev, h[:]
		if err := w.add(&v, seq, prev, v.Hash); err != nil {
			panic(err) // add flushes only a full page
		}
		chained = append(chained, v)
		prev = v.Hash
	}
	return w.buf, chained
}

// FuzzAccessPage round-trips records through a page, checks that the hash
// input written without boxing is the chain's (chainInput over
// accessFields), and that decoding any bytes fails cleanly or yields
// records that encode back to a page that decodes to the same.
func FuzzAccessPage(f *testing.F) {
	f.Add("id-1", int64(1_700_000_000_000_000), "T", "P", "/subscriptions/S/x", "getSecret", "success", 200, "uti", []byte{1})
	f.Add("", int64(-1), "é", "", "", "", "", -5, "", []byte{accessPageFormat, 0, 0})
	f.Add("x", int64(0), "", "", "", "", "", 0, "", []byte{accessPageFormat1, 0, 0})
	f.Fuzz(func(t *testing.T, id string, at int64, tenant, caller, resource, action, result string, status int, token string, raw []byte) {
		v := store.Access{ID: id, Time: time.UnixMicro(at).UTC(), TenantID: tenant, CallerID: caller, ClientID: caller,
			Service: "keyvault", ResourceID: resource, Item: "secrets/" + id, Action: action, Result: result,
			Status: int(int32(status)), ErrorCode: result, CallerAddress: "::1", TokenID: token}
		if got, want := accessHashInput(nil, genesis, 7, &v), chainInput(nil, genesis, store.StreamAccess, 7, accessFields(v)); !bytes.Equal(got, want) {
			t.Fatalf("accessHashInput differs from chainInput(accessFields)")
		}
		page, want := encodePage([]store.Access{v, v}, 7, genesis)
		got, err := decodeAccessPage(7, page)
		if err != nil {
			t.Fatalf("decode an encoded page: %v", err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("round trip (-want +got):\n%s", d)
		}
		for _, b := range [][]byte{raw, append(page[:len(page):len(page)], raw...), page[:len(page)/2]} {
			recs, err := decodeAccessPage(1, b)
			if err != nil {
				if !errors.Is(err, errPage) {
					t.Fatalf("decode error %v is not errPage", err)
				}
				continue
			}
			again, _ := encodePage(recs, 1, recs[0].PrevHash)
			recs2, err := decodeAccessPage(1, again)
			if err != nil {
				t.Fatalf("re-encoded page does not decode: %v", err)
			}
			for i := range recs2 {
				recs2[i].Hash = recs[i].Hash // encodePage hashes afresh
				if i > 0 {
					recs2[i].PrevHash = recs[i].PrevHash
				}
			}
			if d := cmp.Diff(recs, recs2); d != "" {
				t.Fatalf("decode, encode, decode (-first +second):\n%s", d)
			}
		}
	})
}

// encodePage1 is records written as a format 1 page (every field in full,
// every time absolute), as stores written before format 2 hold them.
func encodePage1(records []store.Access, prev []byte) []byte {
	b := appendPageBytes([]byte{accessPageFormat1}, prev)
	for _, v := range records {
		b = appendPageBytes(b, v.Hash)
		b = binary.AppendVarint(b, v.Time.UnixMicro())
		b = binary.AppendVarint(b, int64(v.Status))
		for _, s := range [...]string{v.ID, v.TenantID, v.CallerID, v.ClientID, v.Service, v.ResourceID, v.Item,
			v.Action, v.Result, v.ErrorCode, v.CallerAddress, v.TokenID} {
			b = appendPageBytes(b, []byte(s))
		}
	}
	return b
}

// TestAccessPageFormats checks that a page writes only the fields that
// differ from the previous record's (a run of reads by one caller costs
// little more than each record's ID and hash), that a format 1 page still
// decodes, and that times going backwards and fields going back to empty
// round-trip.
func TestAccessPageFormats(t *testing.T) {
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	read := store.Access{TenantID: "7d3c1a2e-0b5f-4c1e-9a3d-2f6e8b4c1d0a", CallerID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
		ClientID: "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", Service: "keyvault",
		ResourceID: "/subscriptions/5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d/resourceGroups/app-rg/providers/Microsoft.KeyVault/vaults/app-kv",
		Item:       "secrets/app-secret", Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Result: "success",
		Status: 200, CallerAddress: "10.1.2.3", TokenID: "Xq3vNn2kQ0aYpL7wAbCdEf"}
	var reads []store.Access
	for i := range 100 {
		v := read
		v.ID = fmt.Sprintf("01890a5d-ac96-774b-bcce-b302099a%04d", i)
		v.Time = at.Add(time.Duration(i) * 37 * time.Microsecond)
		reads = append(reads, v)
	}
	page, chained := encodePage(reads, 1, genesis)
	full := encodePage1(chained, genesis)
	// Each record: its hash (33 bytes), ID (37), time and status (3) and
	// a byte for each of the 11 repeated fields.
	if per := len(page) / len(reads); per > 90 {
		t.Errorf("a page of %d reads by one caller takes %d bytes a record, want at most 90 (format 1: %d)",
			len(reads), per, len(full)/len(reads))
	}
	for name, b := range map[string][]byte{"format 2": page, "format 1": full} {
		got, err := decodeAccessPage(1, b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if d := cmp.Diff(chained, got); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}

	// Fields that change and change back, to and from empty, and a time
	// before the previous one.
	mixed := []store.Access{reads[0], {ID: "b", Time: at.Add(-time.Hour), Status: -1}, reads[1],
		{ID: "b", Time: time.UnixMicro(math.MinInt64).UTC(), Item: "x"}, {ID: "c", Time: time.UnixMicro(math.MaxInt64).UTC(), Item: "x"}}
	page, chained = encodePage(mixed, 9, genesis)
	got, err := decodeAccessPage(9, page)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(chained, got); d != "" {
		t.Errorf("mixed records (-want +got):\n%s", d)
	}
}

// TestAccessLookupsUseIndexes checks SQLite's plan for the lookup entries
// each access listing walks: a seek of access_keys' primary key, never a
// scan; for one key (not a scope's range of them) in time order, without a
// sort.
func TestAccessLookupsUseIndexes(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	hour := store.AuditFilter{TenantID: "t", Since: now.Add(-time.Hour), Until: now, Limit: 100}
	for _, c := range []struct {
		name   string
		f      store.AuditFilter
		range_ bool
	}{
		{"all", store.AuditFilter{}, false},
		{"a tenant in an hour", hour, false},
		{"a caller, next page", store.AuditFilter{TenantID: "t", PrincipalID: "p", After: store.AuditCursor{Time: now, ID: "x"}}, false},
		{"a token", store.AuditFilter{TenantID: "t", TokenID: "uti"}, false},
		{"under a scope", store.AuditFilter{TenantID: "t", ResourceID: "/subscriptions/s/resourceGroups/g"}, true},
	} {
		where, args := accessLookup(c.f)
		joined := queryPlan(t, s, "SELECT first_seq, max_time FROM access_keys WHERE "+where+
			" AND max_time <= ? AND (max_time, first_seq) < (?, ?) ORDER BY max_time DESC, first_seq DESC LIMIT ?",
			append(args, 1, 1, 1, pageChunk)...)
		t.Logf("%s: %s", c.name, joined)
		if !strings.Contains(joined, "SEARCH access_keys USING PRIMARY KEY (kind=? AND key") {
			t.Errorf("%s: plan does not seek the lookup key: %s", c.name, joined)
		}
		if !c.range_ && strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("%s: plan sorts: %s", c.name, joined)
		}
	}
}

// TestAccessMigration0010 writes access rows at schema 9, one of them
// altered and one written without the store (on PostgreSQL, without a
// sequence number), opens the store (which applies 0010) and checks that
// the pages carry every record, that VerifyAudit still names the altered
// record, and that once the evidence is dealt with appends continue.
func TestAccessMigration0010(t *testing.T) {
	for _, c := range migrationBackends {
		t.Run(c.name, func(t *testing.T) {
			dsn, driver, raw := c.new(t)
			old, exec := atSchema(t, c.d, driver, raw, 9)
			base := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
			var accs []store.Access
			for i := 1; i <= 600; i++ {
				accs = append(accs, store.Access{ID: fmt.Sprintf("0009-%03d", i), Time: base.Add(time.Duration(i) * time.Second),
					TenantID: "T", CallerID: []string{"P", "Q"}[i%2], ClientID: "c", Service: "keyvault",
					ResourceID: "/subscriptions/S/resourceGroups/G/providers/Microsoft.KeyVault/vaults/V", Item: "secrets/é",
					Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Result: "success", Status: 200,
					CallerAddress: "::1", TokenID: fmt.Sprint("uti-", i%7)})
			}
			// Records 1 to 10 were pruned; record 400 is altered behind
			// the store's back.
			appendAt8(t, c.d, exec, accessChain, accs, 10)
			exec("UPDATE access_log SET result = 'failure' WHERE seq = 400")
			if c.d == postgresDialect {
				exec(`INSERT INTO access_log (id, time, tenant_key, tenant_id, caller_key, caller_id, client_id, service,
					resource_key, resource_id, item, action, result, status, error_code, caller_address, token_id)
					VALUES ('forged', 0, 't', 'T', 'p', 'P', 'c', 'keyvault', 'r', 'R', 'i', 'a', 'success', 200, '', '::1', '')`)
			}
			old.Close()

			s, err := Open(t.Context(), dsn)
			if err != nil {
				t.Fatalf("Open (migrating to 0010): %v", err)
			}
			defer s.Close()
			verify := func() store.AuditVerification {
				t.Helper()
				var v store.AuditVerification
				if err := s.Read(t.Context(), func(tx store.Tx) error {
					var err error
					v, err = tx.VerifyAudit(store.StreamAccess)
					return err
				}); err != nil {
					t.Fatal(err)
				}
				return v
			}
			v := verify()
			switch {
			case c.d == postgresDialect:
				if v.OK || v.FirstBad.ID != "forged" || !strings.HasPrefix(v.FirstBad.Reason, "inserted") {
					t.Errorf("VerifyAudit after 0010 = %+v (%+v), want the forged row named as inserted", v, v.FirstBad)
				}
			case v.OK || v.FirstBad.Seq != 400 || v.FirstBad.ID != "0009-400" || !strings.HasPrefix(v.FirstBad.Reason, "altered"):
				t.Errorf("VerifyAudit after 0010 = %+v (%+v), want record 400 named as altered", v, v.FirstBad)
			}
			want := append([]store.Access(nil), accs[10:]...)
			want[389].Result = "failure"
			var got []store.Access
			if err := s.Read(t.Context(), func(tx store.Tx) error {
				got, err = tx.ListAccess(store.AuditFilter{TenantID: "t", PrincipalID: "q", Limit: 1000})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var wantQ []store.Access
			for i := len(want) - 1; i >= 0; i-- {
				if want[i].CallerID == "Q" {
					wantQ = append(wantQ, want[i])
				}
			}
			if d := cmp.Diff(wantQ, got); d != "" {
				t.Errorf("caller Q after 0010 (-want +got):\n%s", d)
			}
			var n int
			if err := s.read.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM access_ids").Scan(&n); err != nil || n < 590 {
				t.Errorf("access_ids holds %d IDs (%v), want every moved record's", n, err)
			}
			if c.d == sqliteDialect {
				checkSQLiteAuditSchema(t, s.read)
			}
			// A moved ID is still taken; appends continue the chain.
			err = s.Write(t.Context(), func(tx store.Tx) error {
				return tx.AppendAccess([]store.Access{{ID: "0009-300", Time: base}})
			})
			if !errors.Is(err, store.ErrConflict) {
				t.Errorf("appending a moved record's ID: %v, want ErrConflict", err)
			}
			if err := s.Write(t.Context(), func(tx store.Tx) error {
				return tx.AppendAccess([]store.Access{{ID: "0010-1", Time: base}})
			}); err != nil {
				t.Fatalf("append after 0010: %v", err)
			}
			if v := verify(); v.Head.Seq != 601 {
				t.Errorf("head after an append = %d, want 601", v.Head.Seq)
			}
		})
	}
}
