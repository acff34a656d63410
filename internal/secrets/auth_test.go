package secrets

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
)

// raw sends one request with an optional bearer token and returns status,
// headers and the decoded Key Vault error (if any).
func (f *fixture) raw(method, url, token, body string) (int, http.Header, errorBody) {
	f.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.httpClient().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var e errorBody
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil {
			f.t.Fatalf("%s %s: %d with a body that is not Key Vault's error JSON: %q", method, url, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, resp.Header, e
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// craft signs arbitrary header and claims with sign (nil: no signature).
func craft(header, claims map[string]any, sign func([]byte) []byte) string {
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := b64(h) + "." + b64(c)
	if sign == nil {
		return input + "."
	}
	return input + "." + b64(sign([]byte(input)))
}

func rs256(k *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		s, _ := rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
		return s
	}
}

func TestChallengeAndTokenChecks(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	url := f.vaultURL("kv1") + "/secrets/db/?api-version=7.4"
	wantChallenge := `Bearer authorization="` + testLogin + "/" + testTenant + `", resource="https://` + testSuffix + ":" + f.port + `"`

	status, hdr, e := f.raw(http.MethodGet, url, "", "")
	if status != http.StatusUnauthorized || e.Error.Code != codeUnauthorized {
		t.Fatalf("no token: %d %+v, want 401 Unauthorized", status, e)
	}
	if got := hdr.Get("WWW-Authenticate"); got != wantChallenge {
		t.Errorf("challenge:\n got %s\nwant %s", got, wantChallenge)
	}

	// The first request azsecrets sends for a set carries no body: it must
	// still get the challenge, not a complaint about the body.
	status, _, _ = f.raw(http.MethodPut, f.vaultURL("kv1")+"/secrets/db?api-version=7.4", "", "")
	if status != http.StatusUnauthorized {
		t.Errorf("bodiless unauthenticated PUT: %d, want 401", status)
	}

	aud := "https://vault.azure.net"
	now := f.clock()
	base := func() map[string]any {
		return map[string]any{"aud": aud, "iss": testLogin + "/" + testTenant + "/", "nbf": now.Unix(), "iat": now.Unix(),
			"exp": now.Add(time.Hour).Unix(), "oid": officer, "tid": testTenant, "uti": "uti-x"}
	}
	with := func(k string, v any) map[string]any { c := base(); c[k] = v; return c }
	rsHdr := map[string]any{"alg": "RS256", "kid": "k1", "typ": "JWT"}
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	pubDER, _ := x509.MarshalPKIXPublicKey(&signingKey().PublicKey)

	tests := []struct {
		name  string
		token string
	}{
		{"expired", craft(rsHdr, with("exp", now.Add(-time.Hour).Unix()), rs256(signingKey()))},
		{"not yet valid", craft(rsHdr, with("nbf", now.Add(time.Hour).Unix()), rs256(signingKey()))},
		{"wrong audience", craft(rsHdr, with("aud", "https://storage.azure.com"), rs256(signingKey()))},
		{"wrong issuer", craft(rsHdr, with("iss", "https://evil.example/"+testTenant+"/"), rs256(signingKey()))},
		{"unknown key", craft(map[string]any{"alg": "RS256", "kid": "nope"}, base(), rs256(signingKey()))},
		{"bad signature", craft(rsHdr, base(), rs256(other))},
		{"alg none", craft(map[string]any{"alg": "none", "kid": "k1"}, base(), nil)},
		{"HS256 with the public key", craft(map[string]any{"alg": "HS256", "kid": "k1"}, base(), func(in []byte) []byte {
			m := hmac.New(sha256.New, pubDER)
			m.Write(in)
			return m.Sum(nil)
		})},
		{"other tenant", craft(rsHdr, with("tid", "99999999-9999-9999-9999-999999999999"), rs256(signingKey()))},
		{"garbage", "not-a-jwt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, hdr, e := f.raw(http.MethodGet, url, tt.token, "")
			if status != http.StatusUnauthorized || e.Error.Code != codeUnauthorized {
				t.Fatalf("got %d %+v, want 401 Unauthorized", status, e)
			}
			if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), wantChallenge) {
				t.Errorf("challenge %q lacks %q", hdr.Get("WWW-Authenticate"), wantChallenge)
			}
		})
	}

	// The good token, for either audience, gets through to the store.
	for _, a := range []string{"https://vault.azure.net", "https://" + testSuffix + ":" + f.port} {
		status, _, e := f.raw(http.MethodGet, url, craft(rsHdr, with("aud", a), rs256(signingKey())), "")
		if status != http.StatusNotFound || e.Error.Code != codeSecretNotFound {
			t.Errorf("valid token for %s: %d %+v, want 404 SecretNotFound", a, status, e)
		}
	}

	// Every refusal is in the access log, against the vault.
	var refused int
	for _, a := range f.accessLog() {
		if a.Status == http.StatusUnauthorized && a.ErrorCode == codeUnauthorized && a.Result == "failure" &&
			a.ResourceID == vaultID("kv1") && a.CallerAddress == "127.0.0.1" {
			refused++
		}
	}
	if got, want := refused, 2+len(tests); got != want {
		t.Errorf("access log has %d 401 records, want %d", got, want)
	}
}

func TestChallengeResourceAcrossPorts(t *testing.T) {
	s := &Server{DNSSuffix: "vault.localhost"}
	tests := []struct{ host, want string }{
		{"kv.vault.localhost:8446", "https://vault.localhost:8446"},
		{"kv.vault.localhost", "https://vault.localhost"},
		{"kv.vault.localhost:443", "https://vault.localhost"},
		{"127.0.0.1:9000", "https://vault.localhost:9000"},
	}
	for _, tt := range tests {
		if got := s.challengeResource(tt.host); got != tt.want {
			t.Errorf("challengeResource(%q) = %q, want %q", tt.host, got, tt.want)
		}
	}
	if diff := cmp.Diff([]string{"https://vault.azure.net", "https://v.example", "https://v.example:8446"}, Audiences("v.example", "8446")); diff != "" {
		t.Errorf("Audiences (-want +got):\n%s", diff)
	}
}
