package blob

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/blob/content"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

const (
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testSub    = "00000000-0000-0000-0000-000000000001"
	testIssuer = "https://login.test/" + testTenant + "/"
	testLogin  = "https://login.test"
)

// fixture is a blob Server on a real SQLite store, with a token signer and
// one account ("acct") whose owner principal holds Storage Blob Data Owner.
type fixture struct {
	t       *testing.T
	s       *Server
	st      store.Store
	http    *httptest.Server
	key     *rsa.PrivateKey
	account store.BlobAccount
	owner   string // principal id holding Storage Blob Data Owner on the account
}

var signingKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

func newFixture(t *testing.T) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlstore.Open(t.Context(), filepath.Join(dir, "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	master, err := seal.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Store:   st,
		Content: &content.Store{Dir: filepath.Join(dir, "blobs"), ChunkLog2: 12},
		Seal:    master,
		Verifier: &jwt.Verifier{
			Keys:        jwt.JWKS{Keys: []jwt.JWK{jwt.RSAPublicJWK("k1", &signingKey.PublicKey, nil)}},
			ValidIssuer: func(iss string) bool { return iss == testIssuer },
			Audiences:   []string{Audience},
		},
		Authorizer:   &authz.Authorizer{Store: st},
		LoginURL:     testLogin,
		DNSSuffix:    "blob.localhost",
		MaxBlockSize: 1 << 20,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	f := &fixture{t: t, s: s, st: st, key: signingKey, owner: uuid.NewString()}
	res := store.Resource{ID: "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct",
		SubscriptionID: testSub, ResourceGroup: "rg", Type: AccountType, Name: "acct"}
	hooks := &AccountHooks{Server: s, Endpoint: func(a string) string { return "https://127.0.0.1/" + a + "/" }}
	err = st.Write(t.Context(), func(tx store.Tx) error {
		if err := authz.SeedBuiltIns(tx); err != nil {
			return err
		}
		if err := tx.CreateTenant(store.Tenant{ID: testTenant}); err != nil {
			return err
		}
		if err := tx.CreateSubscription(store.Subscription{ID: testSub, TenantID: testTenant}); err != nil {
			return err
		}
		if invalid, err := hooks.Prepare(tx, &res, true); err != nil || invalid != "" {
			t.Fatalf("Prepare: %q %v", invalid, err)
		}
		return tx.CreateRoleAssignment(store.RoleAssignment{ID: uuid.NewString(), Scope: res.ID,
			RoleDefinitionID: authz.StorageBlobDataOwnerRoleID, PrincipalID: f.owner, PrincipalType: "ServicePrincipal"})
	})
	if err != nil {
		t.Fatal(err)
	}
	st.Read(t.Context(), func(tx store.Tx) (err error) { f.account, err = tx.GetBlobAccount("acct"); return err })
	f.http = httptest.NewServer(s.Handler())
	t.Cleanup(f.http.Close)
	return f
}

// token mints a storage token for a principal.
func (f *fixture) token(oid string) string {
	now := time.Now()
	tok, err := jwt.Sign(f.key, "k1", "", jwt.Claims{Audience: Audience, Issuer: testIssuer, IssuedAt: now.Unix(),
		NotBefore: now.Unix(), Expiry: now.Add(time.Hour).Unix(), ObjectID: oid, TenantID: testTenant,
		TokenID: "uti-" + oid[:8], Version: "1.0", AppID: oid})
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// do sends a request as the owner; path is below the account
// ("/c/blob?comp=…"). A nil body with length -1 sends no Content-Length.
func (f *fixture) do(method, path string, body io.Reader, hdr map[string]string) *http.Response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.http.URL+"/acct"+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+f.token(f.owner))
	req.Header.Set("x-ms-version", "2026-12-06")
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := f.http.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// outcome is what a test compares: status, x-ms-error-code, and whether
// the XML body's code agrees with the header.
type outcome struct {
	Status int
	Code   string
}

func result(t *testing.T, resp *http.Response) outcome {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	o := outcome{Status: resp.StatusCode, Code: resp.Header.Get("x-ms-error-code")}
	if o.Code != "" && resp.Request.Method != http.MethodHead && resp.StatusCode != http.StatusNotModified {
		var e xmlError
		if err := xml.Unmarshal(body, &e); err != nil || e.Code != o.Code || !strings.Contains(e.Message, "RequestId:") {
			t.Errorf("error body %q does not carry code %s in Blob's XML shape", body, o.Code)
		}
	}
	return o
}

func (f *fixture) put(path string, data string, hdr map[string]string) outcome {
	f.t.Helper()
	h := map[string]string{"x-ms-blob-type": "BlockBlob"}
	for k, v := range hdr {
		h[k] = v
	}
	return result(f.t, f.do(http.MethodPut, path, strings.NewReader(data), h))
}

func (f *fixture) mustContainer(name string) {
	f.t.Helper()
	if got := result(f.t, f.do(http.MethodPut, "/"+name+"?restype=container", nil, nil)); got.Status != http.StatusCreated {
		f.t.Fatalf("create container %s: %+v", name, got)
	}
}
