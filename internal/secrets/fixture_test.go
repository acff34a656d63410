package secrets

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/audit"
	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

const (
	testTenant = "11111111-1111-1111-1111-111111111111"
	testSub    = "22222222-2222-2222-2222-222222222222"
	testLogin  = "https://login.test"
	testSuffix = "vault.localhost"
)

var (
	signingKey = sync.OnceValue(func() *rsa.PrivateKey { k, _ := rsa.GenerateKey(rand.Reader, 2048); return k })
	servingTLS = sync.OnceValues(makeServingCert)
)

// fixture is a secrets server over a real SQLite store, real RBAC and the
// real audit recorder, served over HTTPS on a name that covers
// *.vault.localhost, with tokens signed by a key the verifier trusts.
type fixture struct {
	t      testing.TB
	st     store.Store
	path   string // the SQLite file, for a second store (another replica)
	srv    *Server
	ts     *httptest.Server
	port   string
	master *seal.Key
	rec    *audit.Recorder
	gens   *store.GenerationWatcher
	now    time.Time
	nowMu  sync.Mutex
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "signet.db")
	st, err := sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Write(ctx, func(tx store.Tx) error {
		if err := authz.SeedBuiltIns(tx); err != nil {
			return err
		}
		if err := tx.CreateTenant(store.Tenant{ID: testTenant, DisplayName: "t"}); err != nil {
			return err
		}
		return tx.CreateSubscription(store.Subscription{ID: testSub, TenantID: testTenant, DisplayName: "s", State: "Enabled"})
	})
	if err != nil {
		t.Fatal(err)
	}
	master, err := seal.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, path: path, master: master, now: time.Now()}
	f.rec = audit.NewRecorder(st, slog.New(slog.DiscardHandler))
	t.Cleanup(func() { f.rec.Close() })

	// The caches as the composition root wires them, so every test below
	// also checks that a write through this process is seen at once. The
	// watcher hears this store's commits; tests poll it by hand (what its
	// ticker does every 250 ms) where another replica's change matters.
	f.gens = &store.GenerationWatcher{Store: st, MaxStale: time.Hour}
	t.Cleanup(st.NotifyGenerations(f.gens.Advance))
	if err := f.gens.Poll(ctx); err != nil {
		t.Fatal(err)
	}

	f.ts = httptest.NewUnstartedServer(nil)
	_, f.port, _ = net.SplitHostPort(f.ts.Listener.Addr().String())
	keys := jwt.JWKS{Keys: []jwt.JWK{jwt.RSAPublicJWK("k1", &signingKey().PublicKey, nil)}}
	f.srv = &Server{
		Store: st,
		Verifier: &jwt.CachingVerifier{Verifier: &jwt.Verifier{
			Keys:        keys,
			ValidIssuer: func(iss string) bool { return iss == testLogin+"/"+testTenant+"/" },
			Audiences:   Audiences(testSuffix, f.port),
			Now:         f.clock,
		}},
		Recorder:    f.rec,
		Authorizer:  &authz.CachingAuthorizer{Store: st, Generations: f.gens},
		Generations: f.gens,
		Master:      master,
		DNSSuffix:   testSuffix,
		PublicPort:  f.port,
		LoginURL:    testLogin,
		Now:         f.clock,
		Logger:      slog.New(slog.DiscardHandler),
	}
	cert, _ := servingTLS()
	f.ts.Config.Handler = f.srv.Handler()
	f.ts.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	f.ts.StartTLS()
	t.Cleanup(f.ts.Close)
	return f
}

func (f *fixture) clock() time.Time {
	f.nowMu.Lock()
	defer f.nowMu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.nowMu.Lock()
	defer f.nowMu.Unlock()
	f.now = f.now.Add(d)
}

func vaultID(name string) string {
	return "/subscriptions/" + testSub + "/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + name
}

// createVault does what the control plane does on a PUT: Prepare, then
// store the resource, in one transaction.
func (f *fixture) createVault(name string, props string) store.Resource {
	f.t.Helper()
	res := store.Resource{ID: vaultID(name), SubscriptionID: testSub, ResourceGroup: "rg", Type: VaultType,
		Name: name, Location: "local", Properties: []byte(props), CreatedAt: f.clock()}
	err := f.st.Write(f.t.Context(), func(tx store.Tx) error {
		invalid, err := f.srv.Prepare(tx, &res, true)
		if err != nil {
			return err
		}
		if invalid != "" {
			f.t.Fatalf("Prepare refused vault %s: %s", name, invalid)
		}
		return tx.PutResource(res)
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

// grant assigns a built-in role to a principal at a scope.
func (f *fixture) grant(principal, roleID, scope string) {
	f.t.Helper()
	err := f.st.Write(f.t.Context(), func(tx store.Tx) error {
		return tx.CreateRoleAssignment(store.RoleAssignment{ID: uuid.NewString(), Scope: scope,
			RoleDefinitionID: roleID, PrincipalID: principal, PrincipalType: "ServicePrincipal", CreatedAt: f.clock()})
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// token mints an access token; edit changes claims before signing.
func (f *fixture) token(oid, aud string, edit func(map[string]any)) string {
	now := f.clock()
	c := map[string]any{
		"aud": aud, "iss": testLogin + "/" + testTenant + "/", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "oid": oid, "sub": oid, "tid": testTenant, "appid": "app-" + oid,
		"uti": uuid.NewString(), "ver": "1.0",
	}
	if edit != nil {
		edit(c)
	}
	tok, err := jwt.Sign(signingKey(), "k1", "", c)
	if err != nil {
		f.t.Fatal(err)
	}
	return tok
}

// cred is an azcore credential for a principal: it mints a token for the
// scope it is asked for, as an STS would.
type cred struct {
	f   *fixture
	oid string
}

func (c cred) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	aud := strings.TrimSuffix(opts.Scopes[0], "/.default")
	return azcore.AccessToken{Token: c.f.token(c.oid, aud, nil), ExpiresOn: c.f.clock().Add(time.Hour)}, nil
}

// httpClient dials every name to the test server and trusts its certificate.
func (f *fixture) httpClient() *http.Client {
	_, pool := servingTLS()
	addr := f.ts.Listener.Addr().String()
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: pool},
	}}
}

// vaultURL is the host-style URL of a vault.
func (f *fixture) vaultURL(name string) string {
	return "https://" + name + "." + testSuffix + ":" + f.port
}

// client is an azsecrets client for a principal, challenge-resource
// verification left on.
func (f *fixture) client(vault, oid string) *azsecrets.Client {
	f.t.Helper()
	c, err := azsecrets.NewClient(f.vaultURL(vault), cred{f, oid}, &azsecrets.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: f.httpClient(), Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// accessLog returns the access records, newest first.
func (f *fixture) accessLog() []store.Access {
	f.t.Helper()
	if err := f.rec.Flush(f.t.Context()); err != nil { // reads' records are queued
		f.t.Fatal(err)
	}
	var out []store.Access
	err := f.st.Read(f.t.Context(), func(tx store.Tx) error {
		var err error
		out, err = tx.ListAccess(store.AuditFilter{})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func makeServingCert() (tls.Certificate, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test vaults"},
		DNSNames:              []string{"*." + testSuffix, testSuffix, "localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		panic(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}
