package sts

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func TestDiscoveryIssuerHost(t *testing.T) {
	f := newFixture(t)
	port := f.ts.URL[strings.LastIndex(f.ts.URL, ":"):]
	tests := []struct {
		name    string
		host    string // Host header; "" for the server's own 127.0.0.1:port
		version int
		base    string
	}{
		{"v2 on the canonical host", "", 2, f.ts.URL},
		{"v1 on the canonical host", "", 1, f.ts.URL},
		{"v2 on the alternate host", "localhost" + port, 2, f.alt},
		{"alternate host in other case", "LocalHost" + port, 2, f.alt},
		{"unknown host falls back to canonical", "evil.example" + port, 2, f.ts.URL},
		{"known host on another port falls back", "localhost:1", 1, f.ts.URL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := "/" + f.tenant + "/v2.0/.well-known/openid-configuration?"
			if tt.version == 1 {
				path = "/" + f.tenant + "/.well-known/openid-configuration"
			}
			req, _ := http.NewRequest(http.MethodGet, f.ts.URL+path, nil)
			if tt.host != "" {
				req.Host = tt.host
			}
			r := f.do(req)
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			root := tt.base + "/" + f.tenant
			want := map[string]any{
				"issuer":                 root + "/v2.0",
				"token_endpoint":         root + "/oauth2/v2.0/token",
				"authorization_endpoint": root + "/oauth2/v2.0/authorize",
				"jwks_uri":               root + "/discovery/v2.0/keys",
			}
			if tt.version == 1 {
				want = map[string]any{
					"issuer":                 root + "/",
					"token_endpoint":         root + "/oauth2/token",
					"authorization_endpoint": root + "/oauth2/authorize",
					"jwks_uri":               root + "/discovery/keys",
				}
			}
			got := map[string]any{}
			for k := range want {
				got[k] = r.body[k]
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("discovery (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]any{"client_secret_post", "client_secret_basic", "private_key_jwt"}, r.body["token_endpoint_auth_methods_supported"]); diff != "" {
				t.Errorf("auth methods (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDiscoveryUnknownTenant(t *testing.T) {
	f := newFixture(t)
	for _, tenant := range []string{uuid.NewString(), "common", "{" + f.tenant + "}"} {
		req, _ := http.NewRequest(http.MethodGet, f.ts.URL+"/"+tenant+"/v2.0/.well-known/openid-configuration", nil)
		r := f.do(req)
		if r.status != http.StatusBadRequest || r.body["error"] != "invalid_tenant" {
			t.Errorf("tenant %q: status %d error %v, want 400 invalid_tenant", tenant, r.status, r.body["error"])
		}
	}
}

func TestJWKSServed(t *testing.T) {
	f := newFixture(t)
	for _, path := range []string{"/discovery/v2.0/keys", "/discovery/keys"} {
		resp, err := f.ts.Client().Get(f.ts.URL + "/" + f.tenant + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, f.keys.JWKS()) {
			t.Errorf("%s: status %d body %s, want 200 and the manager's JWKS", path, resp.StatusCode, body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
		if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=300") {
			t.Errorf("%s: Cache-Control %q, want a short max-age", path, cc)
		}
	}
}

func TestAuthorizeRefused(t *testing.T) {
	f := newFixture(t)
	resp := f.do(func() *http.Request {
		req, _ := http.NewRequest(http.MethodGet, f.ts.URL+"/"+f.tenant+"/oauth2/v2.0/authorize?response_type=code&client_id=x", nil)
		return req
	}())
	if resp.status != http.StatusBadRequest || resp.body["error"] != "unsupported_response_type" {
		t.Errorf("authorize: status %d error %v, want 400 unsupported_response_type", resp.status, resp.body["error"])
	}
}
