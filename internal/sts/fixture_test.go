package sts

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/audit"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/keys"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// RSA keys are slow to generate: one client key and one stranger key per
// test binary.
var (
	keyOnce                sync.Once
	clientKey, strangerKey *rsa.PrivateKey
)

func testKeys(t testing.TB) (client, stranger *rsa.PrivateKey) {
	keyOnce.Do(func() {
		var err error
		if clientKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
		if strangerKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return clientKey, strangerKey
}

// selfSigned makes a certificate over key valid in [notBefore, notAfter].
func selfSigned(t testing.TB, key *rsa.PrivateKey, cn string, notBefore, notAfter time.Time) []byte {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// countingSigner is the real key manager, counting the tokens it signs.
type countingSigner struct {
	*keys.Manager
	signed atomic.Int64
}

func (c *countingSigner) Sign(claims any) (string, error) {
	c.signed.Add(1)
	return c.Manager.Sign(claims)
}

// fixture is a token service on a real SQLite store, key manager and audit
// recorder, behind a TLS test server, with a few principals.
type fixture struct {
	t      testing.TB
	dir    string // holds the SQLite database, sts.db
	st     *sqlstore.Store
	keys   *keys.Manager
	signer *countingSigner
	srv    *Server
	ts     *httptest.Server
	tenant string
	alt    string // the second public URL (localhost)

	sp       store.Principal // service principal with a secret and a certificate
	secret   string
	certDER  []byte          // sp's certificate (clientKey)
	mi       store.Principal // user-assigned managed identity with a certificate
	miCert   []byte
	disabled store.Principal // disabled, with secret "disabled-secret"
	expired  store.Principal // its only secret ("expired-secret") and certificate have expired
	expCert  []byte
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	ck, _ := testKeys(t)
	dir := t.TempDir()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "sts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sk, err := seal.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	km := &keys.Manager{Store: st, Seal: sk, Lead: time.Hour, MaxTokenLifetime: 24 * time.Hour}
	if err := km.Init(ctx); err != nil {
		t.Fatal(err)
	}
	rec := audit.NewRecorder(st, nil)
	t.Cleanup(func() { rec.Close() })

	now := time.Now()
	f := &fixture{t: t, dir: dir, st: st, keys: km, signer: &countingSigner{Manager: km}, tenant: directory.NewID()}
	f.sp = directory.NewServicePrincipal(f.tenant, "app", now)
	f.secret = "s3cret-" + uuid.NewString()
	f.certDER = selfSigned(t, ck, "app", now.Add(-time.Hour), now.Add(24*time.Hour))
	f.mi = directory.NewManagedIdentity(f.tenant, store.KindUserAssigned,
		"/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1", "id1", now)
	f.miCert = selfSigned(t, ck, "id1", now.Add(-time.Hour), now.Add(24*time.Hour))
	f.disabled = directory.NewServicePrincipal(f.tenant, "off", now)
	f.disabled.Enabled = false
	f.expired = directory.NewServicePrincipal(f.tenant, "old", now)
	f.expCert = selfSigned(t, ck, "old", now.Add(-48*time.Hour), now.Add(-24*time.Hour))

	secretCred := func(p store.Principal, secret string, nb, na time.Time) store.Credential {
		return store.Credential{ID: directory.NewID(), PrincipalID: p.ObjectID, Kind: store.CredentialSecret,
			SecretHash: directory.HashSecret(secret), Hint: secret[:3], NotBefore: nb, NotAfter: na, CreatedAt: now}
	}
	certCred := func(p store.Principal, der []byte, nb, na time.Time) store.Credential {
		sum := sha256.Sum256(der)
		return store.Credential{ID: directory.NewID(), PrincipalID: p.ObjectID, Kind: store.CredentialCertificate,
			CertificateDER: der, ThumbprintSHA256: sum[:], NotBefore: nb, NotAfter: na, CreatedAt: now}
	}
	err = st.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreateTenant(store.Tenant{ID: f.tenant, DisplayName: "test", CreatedAt: now}); err != nil {
			return err
		}
		for _, p := range []store.Principal{f.sp, f.mi, f.disabled, f.expired} {
			if err := tx.CreatePrincipal(p); err != nil {
				return err
			}
		}
		for _, c := range []store.Credential{
			secretCred(f.sp, "an-older-secret", now.Add(-time.Hour), now.Add(time.Hour)),
			secretCred(f.sp, f.secret, now.Add(-time.Hour), now.Add(time.Hour)),
			certCred(f.sp, f.certDER, now.Add(-time.Hour), now.Add(24*time.Hour)),
			certCred(f.mi, f.miCert, now.Add(-time.Hour), now.Add(24*time.Hour)),
			secretCred(f.disabled, "disabled-secret", now.Add(-time.Hour), now.Add(time.Hour)),
			secretCred(f.expired, "expired-secret", now.Add(-48*time.Hour), now.Add(-24*time.Hour)),
			certCred(f.expired, f.expCert, now.Add(-48*time.Hour), now.Add(-24*time.Hour)),
		} {
			if err := tx.CreateCredential(c); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	var handler http.Handler
	f.ts = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	f.ts.StartTLS()
	t.Cleanup(f.ts.Close)
	f.alt = strings.Replace(f.ts.URL, "127.0.0.1", "localhost", 1)
	f.srv = &Server{
		Store: st, Signer: f.signer, Keys: km, Recorder: rec,
		PublicURLs: []string{f.ts.URL, f.alt},
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	handler = f.srv.Handler()
	return f
}

func (f *fixture) tokenURL(version int) string {
	if version == 1 {
		return f.ts.URL + "/" + f.tenant + "/oauth2/token"
	}
	return f.ts.URL + "/" + f.tenant + "/oauth2/v2.0/token"
}

// response is a decoded token-endpoint answer.
type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (f *fixture) do(req *http.Request) response {
	f.t.Helper()
	resp, err := f.ts.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := response{status: resp.StatusCode, header: resp.Header, raw: raw}
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	_ = d.Decode(&out.body)
	return out
}

func (f *fixture) post(url string, form url.Values, header http.Header) response {
	f.t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(form.Encode()))
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	for k, v := range header {
		req.Header[k] = v
	}
	return f.do(req)
}

// signIns returns every sign-in of the fixture's tenant by id.
func (f *fixture) signIns() map[string]store.SignIn {
	f.t.Helper()
	out := map[string]store.SignIn{}
	err := f.st.Read(context.Background(), func(tx store.Tx) error {
		recs, err := tx.ListSignIns(store.AuditFilter{TenantID: f.tenant, Limit: 100000})
		for _, r := range recs {
			out[r.ID] = r
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

// assertion builds a client assertion. header and claims override the
// defaults (MSAL Go's: PS256, x5t#S256 in standard base64, aud the v2 token
// endpoint, 10 minutes); a nil value deletes a field.
type assertion struct {
	key    *rsa.PrivateKey
	header map[string]any
	claims map[string]any
}

func (f *fixture) assertion(clientID string, certDER []byte, a assertion) string {
	f.t.Helper()
	sum := sha256.Sum256(certDER)
	now := time.Now()
	h := map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])}
	c := map[string]any{
		"iss": clientID, "sub": clientID, "aud": f.tokenURL(2), "jti": uuid.NewString(),
		"nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	}
	for k, v := range a.header {
		if v == nil {
			delete(h, k)
		} else {
			h[k] = v
		}
	}
	for k, v := range a.claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	key := a.key
	if key == nil {
		key, _ = testKeys(f.t)
	}
	return signJWS(f.t, key, h, c)
}

func signJWS(t testing.TB, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	digest := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	switch header["alg"] {
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	case "HS256":
		// The classic confusion attack: HMAC keyed with the public key.
		mac := hmac.New(sha256.New, x509.MarshalPKCS1PublicKey(&key.PublicKey))
		mac.Write([]byte(input))
		sig = mac.Sum(nil)
	case "none":
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func sha256Of(der []byte) [32]byte { return sha256.Sum256(der) }

func sha1Thumbprint(der []byte) []byte {
	s := sha1.Sum(der)
	return s[:]
}

func assertionForm(a string, extra ...string) url.Values {
	v := url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {a},
		"scope":                 {"api://signet-test/.default"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		v.Set(extra[i], extra[i+1])
	}
	return v
}

// miCredential is the managed identity's certificate credential as stored.
func (f *fixture) miCredential(t testing.TB) store.Credential {
	t.Helper()
	var cred store.Credential
	err := f.st.Read(context.Background(), func(tx store.Tx) error {
		creds, err := tx.ListCredentials(f.mi.ObjectID)
		if len(creds) > 0 {
			cred = creds[0]
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}
