package client

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// vaultFake is a TLS server whose certificate names *.vault.localhost and
// 127.0.0.1, so one fake serves host-style and path-style vault URLs. It
// answers a request without a token with Key Vault's challenge and routes
// the rest by "METHOD /path" (the path below the vault).
type vaultFake struct {
	srv    *httptest.Server
	caFile string
	port   string

	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	requests []recorded
}

func newVaultFake(t *testing.T) *vaultFake {
	t.Helper()
	f := &vaultFake{routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	cert, caPEM := vaultTestCert(t)
	f.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	f.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	_, f.port, _ = net.SplitHostPort(f.srv.Listener.Addr().String())
	return f
}

// vaultTestCert is a self-signed serving certificate for the fake.
func vaultTestCert(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "vault fake"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		DNSNames: []string{"*.vault.localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// hostURL and pathURL are the two ways to address the vault kv1.
func (f *vaultFake) hostURL() string { return "https://kv1.vault.localhost:" + f.port + "/" }
func (f *vaultFake) pathURL() string { return "https://127.0.0.1:" + f.port + "/kv1" }

func (f *vaultFake) handle(pattern string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[pattern] = h
}

func (f *vaultFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path := r.URL.Path
	if !strings.HasPrefix(r.Host, "kv1.") {
		path = strings.TrimPrefix(path, "/kv1")
	}
	f.mu.Lock()
	f.requests = append(f.requests, recorded{Method: r.Method, Path: path, Query: r.URL.Query(), Auth: r.Header.Get("Authorization"), Body: string(body)})
	h, ok := f.routes[r.Method+" "+path]
	f.mu.Unlock()
	if r.Header.Get("Authorization") == "" {
		w.Header().Set("WWW-Authenticate", `Bearer authorization="https://login.example/tenant-1", resource="https://vault.localhost:`+f.port+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": map[string]string{"code": "Unauthorized", "message": "AKV10000: Request is missing a Bearer or PoP token."}})
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]string{"code": "BadParameter", "message": "api-version"}})
		return
	}
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "SecretNotFound", "message": "no route " + r.Method + " " + path}})
		return
	}
	h(w, r)
}

func (f *vaultFake) recorded() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// audienceLog is a TokenSource that records the resources asked for.
type audienceLog struct {
	mu        sync.Mutex
	resources []string
}

func (a *audienceLog) Token(_ context.Context, resource string) (AccessToken, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.resources = append(a.resources, resource)
	return AccessToken{Token: "vault-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (f *vaultFake) client(t *testing.T, vaultURL string, tokens TokenSource) *VaultClient {
	t.Helper()
	c, err := NewVaultClient(vaultURL, tokens, VaultOptions{CAFile: f.caFile})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestVaultAudienceFromChallenge(t *testing.T) {
	f := newVaultFake(t)
	f.handle("GET /secrets/s1/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"id": "https://" + r.Host + r.URL.Path + "0123", "value": "v"})
	})
	tests := []struct {
		name, url, want string
	}{
		// The host is a subdomain of the challenge's resource: use it, as
		// azsecrets does (and *.localhost is dialled on loopback).
		{"host-style", f.hostURL(), "https://vault.localhost:" + f.port},
		// 127.0.0.1 is no subdomain of it: Key Vault's own audience.
		{"path-style", f.pathURL(), VaultResource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tokens := &audienceLog{}
			c := f.client(t, tt.url, tokens)
			for range 2 {
				if _, err := c.GetSecret(t.Context(), "s1", ""); err != nil {
					t.Fatal(err)
				}
			}
			// One challenge, then the audience is kept.
			if diff := cmp.Diff([]string{tt.want, tt.want}, tokens.resources); diff != "" {
				t.Errorf("token resources (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChallengeResource(t *testing.T) {
	c := &VaultClient{base: mustURL(t, "https://kv1.vault.example:8446")}
	tests := []struct {
		name, header, want string
	}{
		{"resource of the vault's domain", `Bearer authorization="https://login/t", resource="https://vault.example:8446"`, "https://vault.example:8446"},
		{"scope wins over resource", `Bearer authorization="https://login/t" resource="https://other" scope="https://vault.example:8446/.default"`, "https://vault.example:8446"},
		// A server may not ask for a token for another service.
		{"another service", `Bearer authorization="https://login/t", resource="https://management.azure.com"`, VaultResource},
		{"a sibling domain", `Bearer resource="https://evil.example:8446"`, VaultResource},
		{"another port", `Bearer resource="https://vault.example:9999"`, VaultResource},
		{"not https", `Bearer resource="http://vault.example:8446"`, VaultResource},
		{"with a path", `Bearer resource="https://vault.example:8446/x"`, VaultResource},
		{"not bearer", `Basic realm="x"`, VaultResource},
		{"none", ``, VaultResource},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.challengeResource([]string{tt.header}); got != tt.want {
				t.Errorf("challengeResource(%q) = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := parseBaseURL("test", s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestVaultListPaging(t *testing.T) {
	f := newVaultFake(t)
	// Page 1 links with an absolute URL, page 2 with a relative one, as
	// Key Vault may; both carry their own api-version.
	f.handle("GET /secrets", func(w http.ResponseWriter, r *http.Request) {
		base := "https://" + r.Host + "/kv1"
		switch r.URL.Query().Get("$skiptoken") {
		case "":
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": base + "/secrets/a"}},
				"nextLink": base + "/secrets?api-version=7.5&$skiptoken=p2"})
		case "p2":
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": base + "/secrets/b"}},
				"nextLink": "/kv1/secrets?api-version=7.5&$skiptoken=p3"})
		default:
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"id": base + "/secrets/c"}}})
		}
	})
	c := f.client(t, f.pathURL(), &audienceLog{})
	got, err := c.ListSecrets(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range got {
		names = append(names, s.Name)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
}

func TestVaultPagingStaysOnTheVault(t *testing.T) {
	f := newVaultFake(t)
	other := newVaultFake(t)
	f.handle("GET /secrets", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"value": []any{}, "nextLink": other.pathURL() + "/secrets?api-version=7.5"})
	})
	_, err := f.client(t, f.pathURL(), &audienceLog{}).ListSecrets(t.Context())
	if err == nil || !strings.Contains(err.Error(), "leaves the vault") {
		t.Fatalf("ListSecrets with a foreign nextLink: %v, want a refusal", err)
	}
	if n := len(other.recorded()); n != 0 {
		t.Errorf("the other host got %d requests (and so the token)", n)
	}
}

func TestVaultPagingLoopEnds(t *testing.T) {
	f := newVaultFake(t)
	f.handle("GET /secrets", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"value": []any{}, "nextLink": "https://" + r.Host + r.URL.RequestURI()})
	})
	if _, err := f.client(t, f.pathURL(), &audienceLog{}).ListSecrets(t.Context()); err == nil || !strings.Contains(err.Error(), "paging does not end") {
		t.Fatalf("ListSecrets with a nextLink to itself: %v", err)
	}
}

func TestVaultErrorsDecoded(t *testing.T) {
	f := newVaultFake(t)
	f.handle("GET /secrets/s1/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 403, map[string]any{"error": map[string]any{"code": "Forbidden", "message": "Caller is not authorized to perform action on resource.",
			"innererror": map[string]string{"code": "ForbiddenByRbac"}}})
	})
	_, err := f.client(t, f.hostURL(), &audienceLog{}).GetSecret(t.Context(), "s1", "")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("GetSecret error = %v, want *Error", err)
	}
	want := Error{StatusCode: 403, Code: "Forbidden", InnerCode: "ForbiddenByRbac", Message: "Caller is not authorized to perform action on resource."}
	if diff := cmp.Diff(want, *e); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
	if got, want := e.Error(), "Forbidden (ForbiddenByRbac): Caller is not authorized to perform action on resource."; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

// A vault that does not exist is reported before any token is asked for.
func TestVaultNotFoundBeforeToken(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]any{"error": map[string]string{"code": "VaultNotFound", "message": "The vault 'kv9' was not found."}})
	}))
	t.Cleanup(srv.Close)
	tokens := &audienceLog{}
	c, err := NewVaultClient(srv.URL+"/kv9", tokens, VaultOptions{HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListSecrets(t.Context())
	var e *Error
	if !errors.As(err, &e) || e.Code != "VaultNotFound" {
		t.Fatalf("ListSecrets = %v, want VaultNotFound", err)
	}
	if len(tokens.resources) != 0 {
		t.Errorf("asked for tokens %v for a vault that does not exist", tokens.resources)
	}
}

// The operations send what section 8.2 says and read names from ids.
func TestVaultOperationsOnTheWire(t *testing.T) {
	f := newVaultFake(t)
	secret := func(r *http.Request, id string, extra map[string]any) map[string]any {
		m := map[string]any{"id": "https://" + r.Host + "/kv1" + id, "attributes": map[string]any{"enabled": true, "created": 1700000000, "exp": 1900000000}}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	const version = "0123456789abcdef0123456789abcdef"
	f.handle("PUT /secrets/db-password", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, secret(r, "/secrets/db-password/"+version, map[string]any{"value": "hunter2"}))
	})
	f.handle("GET /secrets/db-password/"+version, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, secret(r, "/secrets/db-password/"+version, map[string]any{"value": "hunter2"}))
	})
	f.handle("DELETE /secrets/db-password", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, secret(r, "/secrets/db-password/"+version, map[string]any{"recoveryId": "https://" + r.Host + "/kv1/deletedsecrets/db-password", "deletedDate": 1700000100}))
	})
	f.handle("POST /deletedsecrets/db-password/recover", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, secret(r, "/secrets/db-password/"+version, nil))
	})
	f.handle("DELETE /deletedsecrets/db-password", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(204) })
	f.handle("POST /secrets/db-password/backup", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]string{"value": "AAEC_-8"}) // base64url, unpadded
	})
	f.handle("POST /secrets/restore", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, secret(r, "/secrets/db-password/"+version, nil))
	})

	c := f.client(t, f.pathURL(), &audienceLog{})
	ctx := t.Context()
	disabled := false
	exp := time.Unix(1900000000, 0)
	set, err := c.SetSecret(ctx, "db-password", SetSecretParams{Value: "hunter2", ContentType: "text/plain", Tags: map[string]string{"env": "dev"}, Enabled: &disabled, Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	if set.Name != "db-password" || set.Version != version || set.Value == nil || *set.Value != "hunter2" || !set.Attributes.Expires.Equal(exp) {
		t.Errorf("SetSecret = %+v", set)
	}
	got, err := c.GetSecret(ctx, "db-password", version)
	if err != nil || got.Version != version {
		t.Errorf("GetSecret = %+v, %v", got, err)
	}
	del, err := c.DeleteSecret(ctx, "db-password")
	if err != nil || del.RecoveryID == "" || del.DeletedDate.Unix() != 1700000100 {
		t.Errorf("DeleteSecret = %+v, %v", del, err)
	}
	if _, err := c.RecoverDeletedSecret(ctx, "db-password"); err != nil {
		t.Error(err)
	}
	if err := c.PurgeDeletedSecret(ctx, "db-password"); err != nil {
		t.Error(err)
	}
	blob, err := c.BackupSecret(ctx, "db-password")
	if err != nil || string(blob) != "\x00\x01\x02\xff\xef" {
		t.Errorf("BackupSecret = %x, %v", blob, err)
	}
	if _, err := c.RestoreSecret(ctx, blob); err != nil {
		t.Error(err)
	}

	var sent []string
	var setBody, restoreBody map[string]any
	for _, r := range f.recorded() {
		if r.Auth == "" {
			continue // the challenge probe
		}
		sent = append(sent, r.Method+" "+r.Path)
		switch r.Method + " " + r.Path {
		case "PUT /secrets/db-password":
			json.Unmarshal([]byte(r.Body), &setBody)
		case "POST /secrets/restore":
			json.Unmarshal([]byte(r.Body), &restoreBody)
		}
		if r.Auth != "Bearer vault-token" || r.Query["api-version"][0] != APIVersionKeyVault {
			t.Errorf("%s %s: Authorization %q, query %v", r.Method, r.Path, r.Auth, r.Query)
		}
	}
	want := []string{"PUT /secrets/db-password", "GET /secrets/db-password/" + version, "DELETE /secrets/db-password",
		"POST /deletedsecrets/db-password/recover", "DELETE /deletedsecrets/db-password", "POST /secrets/db-password/backup", "POST /secrets/restore"}
	if diff := cmp.Diff(want, sent); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	wantSet := map[string]any{"value": "hunter2", "contentType": "text/plain", "tags": map[string]any{"env": "dev"},
		"attributes": map[string]any{"enabled": false, "exp": float64(1900000000)}}
	if diff := cmp.Diff(wantSet, setBody); diff != "" {
		t.Errorf("set body (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"value": "AAEC_-8"}, restoreBody); diff != "" {
		t.Errorf("restore body (-want +got):\n%s", diff)
	}
}

func TestNewVaultClientRefuses(t *testing.T) {
	for _, u := range []string{"http://kv1.vault.localhost/", "https://127.0.0.1/a/b", "https://kv1.vault.localhost/?x=1", "https://user:pw@kv1.vault.localhost/", ""} {
		if _, err := NewVaultClient(u, &audienceLog{}, VaultOptions{}); err == nil {
			t.Errorf("NewVaultClient(%q) succeeded", u)
		}
	}
}
