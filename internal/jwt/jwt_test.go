package jwt

import (
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testKey  = sync.OnceValue(func() *rsa.PrivateKey { return genKey(2048) })
	otherKey = sync.OnceValue(func() *rsa.PrivateKey { return genKey(2048) })
)

func genKey(bits int) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return k
}

func selfSigned(t testing.TB, key *rsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(4e9, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// craft builds a compact JWS from raw header and payload JSON, signed by sign
// over the signing input (nil: an empty-looking but non-empty signature).
func craft(header, payload string, sign func(input []byte) []byte) string {
	input := b64([]byte(header)) + "." + b64([]byte(payload))
	sig := []byte{0}
	if sign != nil {
		sig = sign([]byte(input))
	}
	return input + "." + b64(sig)
}

func rs256(key *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		s, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
		if err != nil {
			panic(err)
		}
		return s
	}
}

func ps256(key *rsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		d := sha256.Sum256(in)
		s, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			panic(err)
		}
		return s
	}
}

var (
	testNow    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	testIssuer = "https://login.local/tenant/v2.0"
)

func testClaims() map[string]any {
	return map[string]any{
		"aud": "https://management.azure.com/",
		"iss": testIssuer,
		"iat": testNow.Add(-time.Minute).Unix(),
		"nbf": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
		"oid": "oid-1",
		"sub": "oid-1",
		"tid": "tenant",
		"ver": "2.0",
	}
}

func with(m map[string]any, kv ...any) string {
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func testVerifier() *Verifier {
	return &Verifier{
		Keys: JWKS{Keys: []JWK{
			RSAPublicJWK("k1", &testKey().PublicKey, nil),
		}},
		ValidIssuer: func(iss string) bool { return iss == testIssuer },
		Audiences:   []string{"https://management.azure.com", "https://management.core.windows.net/"},
		Now:         func() time.Time { return testNow },
	}
}

const hdrK1 = `{"alg":"RS256","typ":"JWT","kid":"k1"}`

func TestVerifyRefuses(t *testing.T) {
	key := testKey()
	good := testClaims()
	pubDER, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	hs256 := func(secret []byte) func([]byte) []byte {
		return func(in []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(in)
			return m.Sum(nil)
		}
	}
	valid := craft(hdrK1, with(good), rs256(key))
	parts := strings.Split(valid, ".")

	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"alg none", craft(`{"alg":"none","kid":"k1"}`, with(good), nil), ErrAlgorithm},
		{"alg none empty signature", b64([]byte(`{"alg":"none","kid":"k1"}`)) + "." + b64([]byte(with(good))) + ".", ErrMalformed},
		{"HS256 with the public key DER as secret", craft(`{"alg":"HS256","kid":"k1"}`, with(good), hs256(pubDER)), ErrAlgorithm},
		{"HS256 with the public key modulus as secret", craft(`{"alg":"HS256","kid":"k1"}`, with(good), hs256(key.N.Bytes())), ErrAlgorithm},
		{"PS256 where only RS256 is allowed", craft(`{"alg":"PS256","kid":"k1"}`, with(good), ps256(key)), ErrAlgorithm},
		{"alg case variant", craft(`{"alg":"rs256","kid":"k1"}`, with(good), rs256(key)), ErrAlgorithm},
		{"unknown kid", craft(`{"alg":"RS256","kid":"k9"}`, with(good), rs256(key)), ErrUnknownKey},
		{"no kid", craft(`{"alg":"RS256"}`, with(good), rs256(key)), ErrUnknownKey},
		{"signed by another key", craft(hdrK1, with(good), rs256(otherKey())), ErrSignature},
		{"payload changed after signing", parts[0] + "." + b64([]byte(with(good, "oid", "other"))) + "." + parts[2], ErrSignature},
		{"signature truncated", parts[0] + "." + parts[1] + "." + b64(rs256(key)([]byte(parts[0] + "." + parts[1]))[:255]), ErrSignature},
		{"expired", craft(hdrK1, with(good, "exp", testNow.Add(-3*time.Minute).Unix()), rs256(key)), ErrExpired},
		{"expired within float", craft(hdrK1, with(good, "exp", float64(testNow.Add(-2*time.Minute).Unix())), rs256(key)), ErrExpired},
		{"not yet valid", craft(hdrK1, with(good, "nbf", testNow.Add(3*time.Minute).Unix()), rs256(key)), ErrNotYetValid},
		{"missing exp", craft(hdrK1, with(good, "exp", nil), rs256(key)), ErrMalformed},
		{"null exp", craft(hdrK1, strings.Replace(with(good), `"exp":`, `"exp":null,"x":`, 1), rs256(key)), ErrMalformed},
		{"string exp", craft(hdrK1, with(good, "exp", "99999999999"), rs256(key)), ErrMalformed},
		{"missing nbf", craft(hdrK1, with(good, "nbf", nil), rs256(key)), ErrMalformed},
		{"wrong issuer", craft(hdrK1, with(good, "iss", "https://evil/"), rs256(key)), ErrIssuer},
		{"missing issuer", craft(hdrK1, with(good, "iss", nil), rs256(key)), ErrIssuer},
		{"wrong audience", craft(hdrK1, with(good, "aud", "https://vault.azure.net"), rs256(key)), ErrAudience},
		{"audience path differs", craft(hdrK1, with(good, "aud", "https://management.azure.com/x"), rs256(key)), ErrAudience},
		{"aud array without a match", craft(hdrK1, with(good, "aud", []string{"a", "b"}), rs256(key)), ErrAudience},
		{"empty aud array", craft(hdrK1, with(good, "aud", []string{}), rs256(key)), ErrAudience},
		{"aud number", craft(hdrK1, with(good, "aud", 5), rs256(key)), ErrMalformed},
		{"malformed base64", "eyJ!" + valid[4:], ErrMalformed},
		{"std base64 alphabet", strings.Replace(valid, parts[2], base64.RawStdEncoding.EncodeToString([]byte{0xfb, 0xff, 0xfe}), 1), ErrMalformed},
		{"line break in segment", parts[0][:5] + "\n" + parts[0][5:] + "." + parts[1] + "." + parts[2], ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], ErrMalformed},
		{"four parts", valid + "." + parts[2], ErrMalformed},
		{"padding present", parts[0] + "." + parts[1] + "." + base64.URLEncoding.EncodeToString(rs256(key)([]byte(parts[0] + "." + parts[1]))[:31]), ErrMalformed},
		{"header array", craft(`["RS256"]`, with(good), rs256(key)), ErrMalformed},
		{"header null", craft(`null`, with(good), rs256(key)), ErrMalformed},
		{"payload string", craft(hdrK1, `"claims"`, rs256(key)), ErrMalformed},
		{"payload array", craft(hdrK1, `[1]`, rs256(key)), ErrMalformed},
		{"payload invalid JSON", craft(hdrK1, `{"aud":`, rs256(key)), ErrMalformed},
		{"crit header", craft(`{"alg":"RS256","kid":"k1","crit":["exp"]}`, with(good), rs256(key)), ErrMalformed},
		{"oversize", craft(hdrK1, with(good, "pad", strings.Repeat("x", MaxTokenSize)), rs256(key)), ErrMalformed},
		{"empty", "", ErrMalformed},
	}
	v := testVerifier()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %+v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestVerifierRefusesWithoutConfiguration(t *testing.T) {
	token := craft(hdrK1, with(testClaims()), rs256(testKey()))
	tests := []struct {
		name   string
		modify func(*Verifier)
		want   error
	}{
		{"nil ValidIssuer", func(v *Verifier) { v.ValidIssuer = nil }, ErrIssuer},
		{"no audiences", func(v *Verifier) { v.Audiences = nil }, ErrAudience},
		{"no key set", func(v *Verifier) { v.Keys = nil }, ErrUnknownKey},
		{"1024-bit key", func(v *Verifier) {
			v.Keys = JWKS{Keys: []JWK{RSAPublicJWK("k1", &genKey(1024).PublicKey, nil)}}
		}, ErrUnknownKey},
		{"negative leeway is none", func(v *Verifier) {
			v.Leeway = -1
			v.Now = func() time.Time { return testNow.Add(time.Hour) }
		}, ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := testVerifier()
			tt.modify(v)
			if _, err := v.Verify(token); !errors.Is(err, tt.want) {
				t.Fatalf("Verify error = %v, want %v", err, tt.want)
			}
		})
	}
}

// weakKeySet hands out a key without the JWKS's own size filter.
type weakKeySet struct{ pub *rsa.PublicKey }

func (w weakKeySet) PublicKey(string) (*rsa.PublicKey, bool) { return w.pub, true }

func TestVerifyRefusesSmallKey(t *testing.T) {
	small := genKey(1024)
	v := testVerifier()
	v.Keys = weakKeySet{&small.PublicKey}
	token := craft(hdrK1, with(testClaims()), rs256(small))
	if _, err := v.Verify(token); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "1024 bits") {
		t.Fatalf("Verify error = %v, want ErrSignature about 1024 bits", err)
	}
	if _, err := Sign(small, "k", "", testClaims()); err == nil {
		t.Fatal("Sign accepted a 1024-bit key")
	}
}

func TestVerifyAccepts(t *testing.T) {
	key := testKey()
	good := testClaims()
	tests := []struct {
		name    string
		payload string
		now     time.Time
		wantAud string
	}{
		{"as issued", with(good), testNow, "https://management.azure.com/"},
		{"aud array", with(good, "aud", []string{"https://vault.azure.net", "https://management.azure.com"}), testNow, "https://management.azure.com"},
		{"aud case and slash differ", with(good, "aud", "HTTPS://Management.Core.Windows.Net"), testNow, "HTTPS://Management.Core.Windows.Net"},
		{"expired within leeway", with(good), testNow.Add(time.Hour + time.Minute), "https://management.azure.com/"},
		{"nbf within leeway", with(good, "nbf", testNow.Add(time.Minute).Unix()), testNow, "https://management.azure.com/"},
		{"float dates", with(good, "exp", float64(testNow.Unix())+3600.5, "nbf", float64(testNow.Unix())), testNow, "https://management.azure.com/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := testVerifier()
			v.Now = func() time.Time { return tt.now }
			c, err := v.Verify(craft(hdrK1, tt.payload, rs256(key)))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Audience != tt.wantAud {
				t.Errorf("Audience = %q, want %q", c.Audience, tt.wantAud)
			}
			if c.ObjectID != "oid-1" || c.Issuer != testIssuer || c.Expiry == 0 || c.NotBefore == 0 {
				t.Errorf("claims not filled in: %+v", c)
			}
		})
	}
}

func TestSignVerify(t *testing.T) {
	key := testKey()
	want := Claims{
		Audience: "https://management.azure.com/", Issuer: testIssuer,
		IssuedAt: testNow.Unix(), NotBefore: testNow.Unix(), Expiry: testNow.Add(time.Hour).Unix(),
		AppID: "app", AppIDACR: "2", ObjectID: "oid", Subject: "oid", TenantID: "t", TokenID: "u", Version: "1.0",
		Roles: []string{"r"},
	}
	token, err := Sign(key, "k1", "k1", want)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Header; got.Alg != "RS256" || got.Typ != "JWT" || got.Kid != "k1" || got.X5t != "k1" {
		t.Errorf("header = %+v", got)
	}
	got, err := testVerifier().Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	if got.AppID != want.AppID || got.Expiry != want.Expiry || got.Roles[0] != "r" {
		t.Errorf("claims = %+v, want %+v", got, want)
	}
	if _, err := Sign(key, "k1", "", "not an object"); err == nil {
		t.Error("Sign accepted claims that are not an object")
	}
}

func TestVerifySignatureAllowList(t *testing.T) {
	key := testKey()
	p, err := Parse(craft(`{"alg":"PS256"}`, `{}`, ps256(key)))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.VerifySignature(&key.PublicKey, RS256, PS256); err != nil {
		t.Errorf("PS256 allowed: %v", err)
	}
	if err := p.VerifySignature(&key.PublicKey, RS256); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("PS256 not allowed: %v, want ErrAlgorithm", err)
	}
	if err := p.VerifySignature(&key.PublicKey, "PS256", "HS256"); !errors.Is(err, ErrAlgorithm) {
		t.Errorf("allowing HS256: %v, want ErrAlgorithm", err)
	}
	if err := p.VerifySignature(&otherKey().PublicKey, PS256); !errors.Is(err, ErrSignature) {
		t.Errorf("other key: %v, want ErrSignature", err)
	}
	if err := p.VerifySignature(nil, PS256); !errors.Is(err, ErrSignature) {
		t.Errorf("nil key: %v, want ErrSignature", err)
	}
}

func TestParseHeader(t *testing.T) {
	h := `{"alg":"PS256","typ":"JWT","x5t#S256":"abc+/=","x5c":["MIIB"],"x5t":"t"}`
	p, err := Parse(craft(h, `{"iss":"c"}`, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Header{Alg: "PS256", Typ: "JWT", X5tS256: "abc+/=", X5c: []string{"MIIB"}, X5t: "t"}
	if p.Header.Alg != want.Alg || p.Header.X5tS256 != want.X5tS256 || p.Header.X5c[0] != "MIIB" || p.Header.X5t != "t" {
		t.Errorf("Header = %+v, want %+v", p.Header, want)
	}
	if string(p.Payload) != `{"iss":"c"}` {
		t.Errorf("Payload = %s", p.Payload)
	}
	if _, err := Parse(craft(`{"typ":"JWT"}`, `{}`, nil)); !errors.Is(err, ErrMalformed) {
		t.Errorf("header without alg: %v, want ErrMalformed", err)
	}
}

func TestNormalizeAudience(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://management.azure.com/", "https://management.azure.com"},
		{"HTTPS://Management.Azure.COM", "https://management.azure.com"},
		{"https://Vault.Azure.Net/Path/", "https://vault.azure.net/Path"},
		{"https://host:8443/a?B=C", "https://host:8443/a?B=C"},
		{"api://AzureADTokenExchange", "api://azureadtokenexchange"},
		{"00000000-AAAA-0000-0000-000000000000", "00000000-AAAA-0000-0000-000000000000"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeAudience(tt.in); got != tt.want {
			t.Errorf("NormalizeAudience(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add(craft(hdrK1, with(testClaims()), rs256(testKey())))
	f.Add(craft(`{"alg":"none"}`, `{}`, nil))
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.AA")
	f.Fuzz(func(t *testing.T, token string) {
		p, err := Parse(token)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Parse error %v is not ErrMalformed", err)
			}
			return
		}
		if p.Header.Alg == "" || len(p.signature) == 0 || !json.Valid(p.Payload) {
			t.Fatalf("Parse accepted %q", token)
		}
		// Must not panic on any structurally valid input either.
		_ = p.VerifySignature(&testKey().PublicKey, RS256, PS256)
		_, _ = testVerifier().Verify(token)
	})
}
