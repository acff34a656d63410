package agent

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeSTS is an honest stand-in for Signet's STS token endpoint: it verifies
// each client assertion (PS256 signature against the registered certificate,
// header, aud = the URL it was called at, iss = sub = client_id, lifetime,
// jti not replayed) before it mints an opaque token
// "tok.<client_id>.<scope>.<n>".
type fakeSTS struct {
	t        testing.TB
	lifetime time.Duration

	mu    sync.Mutex
	certs map[string]*x509.Certificate // std-base64 SHA-256 thumbprint → cert
	jtis  map[string]bool

	down   atomic.Bool  // answer 503
	reject atomic.Bool  // answer 400 invalid_client
	issued atomic.Int64 // tokens minted
	calls  atomic.Int64 // requests received
	// block, when set, holds each request until it is closed.
	block atomic.Pointer[chan struct{}]
}

func newFakeSTS(t testing.TB, ids ...Identity) *fakeSTS {
	f := &fakeSTS{t: t, lifetime: 24 * time.Hour, certs: map[string]*x509.Certificate{}, jtis: map[string]bool{}}
	for _, id := range ids {
		f.register(id)
	}
	return f
}

// register makes the STS accept id's certificate.
func (f *fakeSTS) register(id Identity) {
	sum := sha256.Sum256(id.Certificate.Raw)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.certs[base64.StdEncoding.EncodeToString(sum[:])] = id.Certificate
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.calls.Add(1)
	if b := f.block.Load(); b != nil {
		<-*b
	}
	if f.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	fail := func(status int, code, format string, args ...any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{
			"error": code, "error_description": fmt.Sprintf(format, args...) + "\r\nTrace ID: x"})
	}
	if f.reject.Load() {
		fail(http.StatusUnauthorized, "invalid_client", "AADSTS700027: certificate revoked")
		return
	}
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		fail(http.StatusNotFound, "not_found", "no such path %s", r.URL.Path)
		return
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "invalid_request", "form: %v", err)
		return
	}
	form := r.PostForm
	for k, want := range map[string]string{
		"grant_type":            "client_credentials",
		"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
	} {
		if got := form.Get(k); got != want {
			fail(http.StatusBadRequest, "invalid_request", "%s = %q, want %q", k, got, want)
			return
		}
	}
	clientID, scope := form.Get("client_id"), form.Get("scope")
	if !strings.HasSuffix(scope, "/.default") {
		fail(http.StatusBadRequest, "invalid_scope", "scope %q", scope)
		return
	}
	// aud must name the URL this request was sent to.
	aud := "https://" + r.Host + r.URL.Path
	if err := f.verifyAssertion(form.Get("client_assertion"), clientID, aud); err != nil {
		fail(http.StatusUnauthorized, "invalid_client", "assertion: %v", err)
		return
	}
	n := f.issued.Add(1)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"access_token":   fmt.Sprintf("tok.%s.%s.%d", clientID, scope, n),
		"token_type":     "Bearer",
		"expires_in":     int(f.lifetime / time.Second),
		"ext_expires_in": int(f.lifetime / time.Second),
	})
}

func (f *fakeSTS) verifyAssertion(raw, clientID, aud string) error {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return fmt.Errorf("not a compact JWS")
	}
	dec := func(s string, v any) error {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			return err
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		return d.Decode(v)
	}
	var hdr map[string]any
	if err := dec(parts[0], &hdr); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if hdr["alg"] != "PS256" || hdr["typ"] != "JWT" {
		return fmt.Errorf("header %v", hdr)
	}
	thumb, _ := hdr["x5t#S256"].(string)
	f.mu.Lock()
	cert := f.certs[thumb]
	f.mu.Unlock()
	if cert == nil {
		return fmt.Errorf("unknown certificate %q", thumb)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return err
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPSS(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig,
		&rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}); err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	var c struct {
		Aud, Iss, Sub, JTI string
		Exp, Nbf           json.Number
	}
	if err := dec(parts[1], &c); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	exp, _ := c.Exp.Int64()
	nbf, _ := c.Nbf.Int64()
	now := time.Now().Unix()
	switch {
	case c.Aud != aud:
		return fmt.Errorf("aud %q, want %q", c.Aud, aud)
	case c.Iss != clientID || c.Sub != clientID:
		return fmt.Errorf("iss %q sub %q, want %q", c.Iss, c.Sub, clientID)
	case cert.Subject.CommonName != clientID:
		return fmt.Errorf("certificate names %q, not %q", cert.Subject.CommonName, clientID)
	case nbf > now+60 || exp < now || exp-nbf > 3600:
		return fmt.Errorf("lifetime nbf %d exp %d now %d", nbf, exp, now)
	case c.JTI == "":
		return fmt.Errorf("no jti")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.jtis[c.JTI] {
		return fmt.Errorf("jti replayed")
	}
	f.jtis[c.JTI] = true
	return nil
}

// serveTLS starts f on a TLS test server and returns it and its CA pool.
func (f *fakeSTS) serveTLS(t testing.TB) (*httptest.Server, *x509.CertPool) {
	srv := httptest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	return srv, pool
}

// fakeNet is a RoundTripper that serves each host with an in-process handler;
// it lets tests inside a synctest bubble reach fake STS regions without real
// sockets. A host that is down fails as an unreachable one does.
type fakeNet struct {
	mu       sync.Mutex
	hosts    map[string]http.Handler
	down     map[string]bool
	attempts map[string]int // requests sent to each host, up or down
}

func newFakeNet(hosts map[string]http.Handler) *fakeNet {
	return &fakeNet{hosts: hosts, down: map[string]bool{}, attempts: map[string]int{}}
}

func (n *fakeNet) attemptsTo(host string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.attempts[host]
}

func (n *fakeNet) setDown(host string, down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down[host] = down
}

func (n *fakeNet) RoundTrip(r *http.Request) (*http.Response, error) {
	n.mu.Lock()
	h, down := n.hosts[r.URL.Host], n.down[r.URL.Host]
	n.attempts[r.URL.Host]++
	n.mu.Unlock()
	if h == nil || down {
		return nil, fmt.Errorf("dial tcp %s: connect: connection refused", r.URL.Host)
	}
	// Server-side view of the request, as net/http would build it.
	sr := r.Clone(r.Context())
	sr.Host, sr.RequestURI = r.URL.Host, r.URL.RequestURI()
	if r.Body != nil {
		defer r.Body.Close()
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, sr)
	return rec.Result(), nil
}

// quiet drops log lines in tests; failures are reported through t.
var quiet = slog.New(slog.DiscardHandler)

// Test identities. RSA key generation is slow, so they are made once.
var (
	fixturesOnce sync.Once
	fixtures     struct {
		hostSystem, hostUser, appSystem, appUser Identity
	}
)

const (
	testTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	testApp    = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg/providers/Microsoft.Web/sites/app1"
	testHost   = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg/providers/Microsoft.HybridCompute/machines/host1"
)

func newIdentity(t testing.TB, clientID, objectID, resourceID string, system bool) Identity {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: clientID},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return Identity{ClientID: clientID, ObjectID: objectID, ResourceID: resourceID,
		TenantID: testTenant, SystemAssigned: system, Key: key, Certificate: cert}
}

func testIdentities(t testing.TB) (hostSystem, hostUser, appSystem, appUser Identity) {
	fixturesOnce.Do(func() {
		uami := func(n string) string {
			return "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + n
		}
		fixtures.hostSystem = newIdentity(t, "11111111-1111-4111-8111-111111111111", "10000000-0000-4000-8000-000000000001", testHost, true)
		fixtures.hostUser = newIdentity(t, "22222222-2222-4222-8222-222222222222", "20000000-0000-4000-8000-000000000002", uami("hostuami"), false)
		fixtures.appSystem = newIdentity(t, "33333333-3333-4333-8333-333333333333", "30000000-0000-4000-8000-000000000003", testApp, true)
		fixtures.appUser = newIdentity(t, "44444444-4444-4444-8444-444444444444", "40000000-0000-4000-8000-000000000004", uami("appuami"), false)
	})
	f := fixtures
	return f.hostSystem, f.hostUser, f.appSystem, f.appUser
}

// testAgent is the agent's parts wired to a fake STS over real TLS.
type testAgent struct {
	sts     *fakeSTS
	cache   *Cache
	ids     StaticIdentities
	secrets *AppSecretTable
	secret  string // testApp's
	imds    *IMDS
	app     *AppService
	arc     *Arc
}

func newTestAgent(t testing.TB) *testAgent {
	hs, hu, as, au := testIdentities(t)
	sts := newFakeSTS(t, hs, hu, as, au)
	srv, pool := sts.serveTLS(t)
	client, err := NewSTSClient(STSConfig{Endpoints: []string{srv.URL}, RootCAs: pool, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	cache := NewCache(client, CacheConfig{Logger: quiet})
	t.Cleanup(cache.Close)
	ids := StaticIdentities{"": {hs, hu}, testApp: {as, au}}
	secrets := NewAppSecretTable()
	secret, err := secrets.Issue(testApp)
	if err != nil {
		t.Fatal(err)
	}
	a := &testAgent{sts: sts, cache: cache, ids: ids, secrets: secrets, secret: secret}
	a.imds = &IMDS{Tokens: cache, Identities: ids, Logger: quiet, Host: HostInfo{Name: "host1", ResourceID: testHost,
		SubscriptionID: "0b1f6471-1bf0-4dda-aec3-111122223333", ResourceGroupName: "rg", Location: "local", VMID: "vm-1"}}
	a.app = &AppService{Tokens: cache, Identities: ids, Secrets: secrets, Logger: quiet}
	a.arc = &Arc{Tokens: cache, Identities: ids, KeyDir: t.TempDir(), Logger: quiet}
	t.Cleanup(a.arc.Close)
	return a
}
