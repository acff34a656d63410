package secrets

import (
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/store"
)

// The access record names as much as the request got to: the vault, the
// route's item, or the version an operation read.
func TestAccessRecordItem(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	officer, stranger := uuid.NewString(), uuid.NewString()
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	tok := f.token(officer, "https://vault.azure.net", nil)
	strangerTok := f.token(stranger, "https://vault.azure.net", nil)
	f.put("kv1", "db", "v", tok)
	current := f.lastAccess().Item // the set's record: secrets/db/{version}

	type rec struct {
		Status int
		Item   string
	}
	base := f.vaultURL("kv1")
	tests := []struct {
		name, method, url, token string
		want                     rec
	}{
		{"unknown vault", http.MethodGet, f.vaultURL("kv9") + "/secrets/db?api-version=7.4", tok, rec{http.StatusNotFound, "vaults/kv9"}},
		{"no token", http.MethodGet, base + "/secrets/db?api-version=7.4", "", rec{http.StatusUnauthorized, "vaults/kv1"}},
		{"no such route", http.MethodGet, base + "/keys/k?api-version=7.4", tok, rec{http.StatusNotFound, "vaults/kv1"}},
		{"no api-version", http.MethodGet, base + "/secrets/db", tok, rec{http.StatusBadRequest, "secrets/db"}},
		{"denied", http.MethodGet, base + "/secrets/db?api-version=7.4", strangerTok, rec{http.StatusForbidden, "secrets/db"}},
		{"current version", http.MethodGet, base + "/secrets/db/?api-version=7.4", tok, rec{http.StatusOK, current}},
		{"api-version among others", http.MethodGet, base + "/secrets/db?x=1&api-version=7.4", tok, rec{http.StatusOK, current}},
		{"list", http.MethodGet, base + "/secrets?api-version=7.4", tok, rec{http.StatusOK, "secrets"}},
		{"missing secret", http.MethodGet, base + "/secrets/nope?api-version=7.4", tok, rec{http.StatusNotFound, "secrets/nope"}},
	}
	for _, tt := range tests {
		status, _, _ := f.raw(tt.method, tt.url, tt.token, "")
		last := f.lastAccess()
		got := rec{last.Status, last.Item}
		if status != tt.want.Status {
			t.Errorf("%s: status %d, want %d", tt.name, status, tt.want.Status)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: access record (-want +got):\n%s", tt.name, diff)
		}
	}
}

// apiVersion reads the query as url.ParseQuery does, whatever it holds.
func FuzzAPIVersion(f *testing.F) {
	for _, q := range []string{"api-version=7.4", "", "api-version=", "api-version", "x=1&api-version=7.5",
		"api-version=7.4&api-version=7.5", "api%2Dversion=7.4", "api-version=7%2E4", "api-version=a+b",
		"api-version=7.4;x=1", "api-version=%zz", "=7.4", "API-VERSION=7.4"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		req, err := http.NewRequest(http.MethodGet, "https://h/kv1/secrets/db", nil)
		if err != nil {
			t.Skip()
		}
		req.URL.RawQuery = q
		if got, want := apiVersion(req.URL), req.URL.Query().Get("api-version"); got != want {
			t.Errorf("apiVersion(%q) = %q, want %q", q, got, want)
		}
	})
}

// lastAccess is the access record committed last (the fixture's clock
// stands still, so it is told by its sequence number).
func (f *fixture) lastAccess() store.Access {
	f.t.Helper()
	var last store.Access
	for _, a := range f.accessLog() {
		if a.Seq > last.Seq {
			last = a
		}
	}
	return last
}
