package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/signet-platform/signet/internal/authz"
)

func TestBadInput(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	tok := f.token(officer, "https://vault.azure.net", nil)
	v := f.vaultURL("kv1")
	const api = "?api-version=7.4"
	tags := map[string]string{}
	for i := range maxTags + 1 {
		tags[fmt.Sprint("t", i)] = "v"
	}
	tooManyTags, _ := json.Marshal(map[string]any{"value": "x", "tags": tags})

	tests := []struct {
		name, method, url, body string
		status                  int
		code                    string
	}{
		{"bad name", "PUT", v + "/secrets/bad_name" + api, `{"value":"x"}`, 400, codeBadParameter},
		{"name too long", "PUT", v + "/secrets/" + strings.Repeat("a", 128) + api, `{"value":"x"}`, 400, codeBadParameter},
		{"escaped name", "PUT", v + "/secrets/a%2Fb" + api, `{"value":"x"}`, 400, codeBadParameter},
		{"value too large", "PUT", v + "/secrets/big" + api, `{"value":"` + strings.Repeat("x", maxValueBytes+1) + `"}`, 400, codeBadParameter},
		{"too many tags", "PUT", v + "/secrets/tagged" + api, string(tooManyTags), 400, codeBadParameter},
		{"bad JSON", "PUT", v + "/secrets/x" + api, `{"value":`, 400, codeBadParameter},
		{"trailing data", "PUT", v + "/secrets/x" + api, `{"value":"x"} {}`, 400, codeBadParameter},
		{"no value", "PUT", v + "/secrets/x" + api, `{}`, 400, codeBadParameter},
		{"empty body", "PUT", v + "/secrets/x" + api, ``, 400, codeBadParameter},
		{"float date", "PUT", v + "/secrets/x" + api, `{"value":"x","attributes":{"exp":1.5}}`, 400, codeBadParameter},
		{"body too large", "PUT", v + "/secrets/x" + api, `{"value":"` + strings.Repeat("x", maxBodyBytes) + `"}`, 413, codeTooLarge},
		{"value in an update", "PATCH", v + "/secrets/x/" + api, `{"value":"x"}`, 400, codeBadParameter},
		{"upper-case version", "GET", v + "/secrets/x/" + strings.Repeat("A", 32) + api, ``, 400, codeBadParameter},
		{"short version", "GET", v + "/secrets/x/abc" + api, ``, 400, codeBadParameter},
		{"unknown version", "GET", v + "/secrets/x/" + strings.Repeat("a", 32) + api, ``, 404, codeSecretNotFound},
		{"unknown operation", "GET", v + "/keys" + api, ``, 404, codeNotFound},
		{"too deep", "GET", v + "/secrets/x/y/z" + api, ``, 404, codeNotFound},
		{"wrong method", "POST", v + "/secrets" + api, `{}`, 405, codeMethodNotAllowed},
		{"no api-version", "GET", v + "/secrets", ``, 400, codeBadParameter},
		{"bad maxresults", "GET", v + "/secrets" + api + "&maxresults=26", ``, 400, codeBadParameter},
		{"bad skiptoken", "GET", v + "/secrets" + api + "&$skiptoken=%21%21", ``, 400, codeBadParameter},
		{"junk backup", "POST", v + "/secrets/restore" + api, `{"value":"AAAA"}`, 400, codeBadParameter},
		{"unknown vault", "GET", f.vaultURL("nope") + "/secrets" + api, ``, 404, codeVaultNotFound},
		{"recover a live name", "POST", v + "/deletedsecrets/x/recover" + api, ``, 404, codeSecretNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, _, e := f.raw(tt.method, tt.url, tok, tt.body)
			if status != tt.status || e.Error.Code != tt.code {
				t.Errorf("got %d %s (%s), want %d %s", status, e.Error.Code, e.Error.Message, tt.status, tt.code)
			}
		})
	}
}

// Path-style addressing needs no DNS: the vault is the first path segment,
// and the client turns challenge-resource verification off, as with every
// Key Vault emulator. Left on, azsecrets refuses the challenge.
func TestPathStyleAddressing(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	vaultURL := "https://127.0.0.1:" + f.port + "/kv1"
	opts := azcore.ClientOptions{Transport: f.httpClient(), Retry: policy.RetryOptions{MaxRetries: -1}}
	c, err := azsecrets.NewClient(vaultURL, cred{f, officer}, &azsecrets.ClientOptions{ClientOptions: opts, DisableChallengeResourceVerification: true})
	if err != nil {
		t.Fatal(err)
	}
	set, err := c.SetSecret(t.Context(), "p", azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(*set.ID), vaultURL+"/secrets/p/") {
		t.Errorf("id %q does not use the vault URL the client used", *set.ID)
	}
	got, err := c.GetSecret(t.Context(), "p", "", nil)
	if err != nil || *got.Value != "v" {
		t.Fatalf("get: %v", err)
	}

	strict, _ := azsecrets.NewClient(vaultURL, cred{f, officer}, &azsecrets.ClientOptions{ClientOptions: opts})
	_, err = strict.GetSecret(t.Context(), "p", "", nil)
	if err == nil || !strings.Contains(err.Error(), "DisableChallengeResourceVerification") {
		t.Errorf("path-style with verification on: %v, want the SDK's challenge-resource refusal", err)
	}
}

// FuzzRequest drives arbitrary methods, paths, queries and bodies through
// the whole pipeline with a valid token: nothing may panic or fail
// internally, every refusal is Key Vault's error JSON, and no response
// carries the stored value except a successful get.
func FuzzRequest(f *testing.F) {
	for _, s := range []struct{ method, path, body string }{
		{"PUT", "/secrets/a?api-version=7.4", `{"value":"x","tags":{"a":"b"},"attributes":{"enabled":false,"exp":1}}`},
		{"GET", "/secrets/canary/?api-version=7.4", ``},
		{"PATCH", "/secrets/canary/?api-version=7.4", `{"contentType":"x","attributes":{"nbf":5}}`},
		{"GET", "/secrets?api-version=7.4&maxresults=1&$skiptoken=YQ", ``},
		{"POST", "/secrets/restore?api-version=7.4", `{"value":"U0dOVEtWQjE"}`},
		{"DELETE", "/deletedsecrets/canary?api-version=7.4", ``},
	} {
		f.Add(s.method, s.path, s.body)
	}
	fx := fuzzFixture(f)
	f.Fuzz(func(t *testing.T, method, path, body string) {
		req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "https://kv1."+testSuffix+"/", strings.NewReader(body))
		if !validMethod(method) {
			return
		}
		req.Method = method
		if err := setPath(req, path); err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+fx.tok)
		rec := httptest.NewRecorder()
		fx.f.srv.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" {
				t.Fatalf("%s %s: %d with body %q", method, path, rec.Code, rec.Body)
			}
		}
		if strings.Contains(rec.Body.String(), fuzzCanary) && !(method == http.MethodGet && rec.Code == http.StatusOK) {
			t.Fatalf("%s %s answered %d with the secret value", method, path, rec.Code)
		}
	})
}

const fuzzCanary = "canary-value-5d1e"

type fuzzFix struct {
	f   *fixture
	tok string
}

// fuzzFixture is one vault shared by every input, holding a canary value.
func fuzzFixture(t testing.TB) *fuzzFix {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	tok := f.token(officer, "https://vault.azure.net", nil)
	status, _, _ := f.raw(http.MethodPut, f.vaultURL("kv1")+"/secrets/canary?api-version=7.4", tok, `{"value":"`+fuzzCanary+`"}`)
	if status != http.StatusOK {
		t.Fatalf("seeding the canary: %d", status)
	}
	return &fuzzFix{f: f, tok: tok}
}

func validMethod(m string) bool {
	switch m {
	case "GET", "PUT", "PATCH", "POST", "DELETE", "HEAD", "OPTIONS":
		return true
	}
	return false
}

func setPath(req *http.Request, path string) error {
	u, err := req.URL.Parse(path)
	if err != nil || u.Host != req.URL.Host || !strings.HasPrefix(path, "/") {
		return fmt.Errorf("not a path")
	}
	req.URL = u
	return nil
}
