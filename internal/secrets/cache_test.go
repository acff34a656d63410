package secrets

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// getValue GETs a secret's current version: the status and the value.
func (f *fixture) getValue(vault, name, token string) (int, string) {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.vaultURL(vault)+"/secrets/"+name+"?api-version=7.4", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.httpClient().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out struct{ Value string }
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out.Value
}

func (f *fixture) put(vault, name, value, token string) {
	f.t.Helper()
	body, _ := json.Marshal(map[string]string{"value": value})
	status, _, e := f.raw(http.MethodPut, f.vaultURL(vault)+"/secrets/"+name+"?api-version=7.4", token, string(body))
	if status != http.StatusOK {
		f.t.Fatalf("set %s: %d %+v", name, status, e)
	}
}

// Reads come from the caches, yet every change made through this process
// is seen by the very next request, and one made through another replica
// (a second store on the same database) once the generations are polled;
// until then the old answer stands, as with Azure's propagation delay.
func TestCachedReadsSeeChanges(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	officer, reader := uuid.NewString(), uuid.NewString()
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	f.grant(reader, authz.KeyVaultSecretsUserRoleID, vaultID("kv1"))
	officerTok := f.token(officer, "https://vault.azure.net", nil)
	readerTok := f.token(reader, "https://vault.azure.net", nil)
	f.put("kv1", "db", "first", officerTok)

	other, err := sqlstore.Open(t.Context(), "sqlite:"+f.path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	removeReader := func(st store.Store) {
		t.Helper()
		err := st.Write(t.Context(), func(tx store.Tx) error {
			_, err := tx.DeleteRoleAssignmentsForPrincipal(reader)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}

	type step struct {
		what       string
		change     func()
		wantStatus int
		wantValue  string
	}
	steps := []step{
		{"first read (fills the caches)", nil, http.StatusOK, "first"},
		{"cached read", nil, http.StatusOK, "first"},
		{"new version set through this replica", func() { f.put("kv1", "db", "second", officerTok) }, http.StatusOK, "second"},
		{"version disabled through this replica", func() {
			status, _, e := f.raw(http.MethodPatch, f.vaultURL("kv1")+"/secrets/db?api-version=7.4", officerTok, `{"attributes":{"enabled":false}}`)
			if status != http.StatusOK {
				t.Fatalf("disable: %d %+v", status, e)
			}
		}, http.StatusForbidden, ""},
		{"version re-enabled through another replica, not yet polled", func() {
			err := other.Write(t.Context(), func(tx store.Tx) error {
				sec, err := tx.GetSecret("kv1", "db")
				if err != nil {
					return err
				}
				v, err := tx.GetSecretVersion("kv1", "db", sec.CurrentVersion)
				if err != nil {
					return err
				}
				v.Enabled = true
				return tx.UpdateSecretVersion(v)
			})
			if err != nil {
				t.Fatal(err)
			}
		}, http.StatusForbidden, ""},
		{"after the next poll", func() { f.poll() }, http.StatusOK, "second"},
		{"reader's assignment removed through another replica, not yet polled", func() { removeReader(other) }, http.StatusOK, "second"},
		{"after the next poll", func() { f.poll() }, http.StatusForbidden, ""},
	}
	for _, s := range steps {
		if s.change != nil {
			s.change()
		}
		status, value := f.getValue("kv1", "db", readerTok)
		if status != s.wantStatus || value != s.wantValue {
			t.Errorf("%s: GET = %d %q, want %d %q", s.what, status, value, s.wantStatus, s.wantValue)
		}
	}

	// Removed through this replica: denied on the very next request.
	f.grant(reader, authz.KeyVaultSecretsUserRoleID, vaultID("kv1"))
	if status, _ := f.getValue("kv1", "db", readerTok); status != http.StatusOK {
		t.Fatalf("after granting again: GET = %d, want 200", status)
	}
	removeReader(f.st)
	if status, _ := f.getValue("kv1", "db", readerTok); status != http.StatusForbidden {
		t.Errorf("right after the assignment was removed through this replica: GET = %d, want 403", status)
	}
}

// The cache holds values sealed, never the plaintext.
func TestReadCacheHoldsNoPlaintext(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	officer := uuid.NewString()
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	tok := f.token(officer, "https://vault.azure.net", nil)
	const plaintext = "plaintext-canary-7f3a"
	f.put("kv1", "db", plaintext, tok)
	for range 2 {
		if status, v := f.getValue("kv1", "db", tok); status != http.StatusOK || v != plaintext {
			t.Fatalf("GET = %d %q", status, v)
		}
	}
	f.srv.cache.mu.RLock()
	defer f.srv.cache.mu.RUnlock()
	if len(f.srv.cache.versions) == 0 {
		t.Fatal("nothing cached after two GETs")
	}
	for k, e := range f.srv.cache.versions {
		if bytes.Contains(e.v.ValueSealed, []byte(plaintext)) || strings.Contains(e.v.ContentType, plaintext) {
			t.Errorf("cache entry %v holds the plaintext", k)
		}
	}
}

// poll does what the watcher's ticker does every interval.
func (f *fixture) poll() {
	f.t.Helper()
	if err := f.gens.Poll(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
}
