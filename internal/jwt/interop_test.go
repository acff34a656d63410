package jwt

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
)

// A token from Sign must verify with an independent JOSE implementation.
func TestInteropSignVerifiesWithGoJose(t *testing.T) {
	key := testKey()
	claims := testClaims()
	token, err := Sign(key, "kid-1", "x5t-1", claims)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("go-jose ParseSigned: %v", err)
	}
	if got := obj.Signatures[0].Header.KeyID; got != "kid-1" {
		t.Errorf("go-jose kid = %q, want kid-1", got)
	}
	payload, err := obj.Verify(&key.PublicKey)
	if err != nil {
		t.Fatalf("go-jose Verify: %v", err)
	}
	var got map[string]any
	if err := json.Unmarshal(payload, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{}
	b, _ := json.Marshal(claims)
	json.Unmarshal(b, &want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("payload mismatch (-want +got):\n%s", diff)
	}
}

// Client assertions arrive PS256-signed by MSAL (golang-jwt) or msal-node;
// go-jose stands in for them here.
func TestInteropGoJoseAssertions(t *testing.T) {
	key := testKey()
	certDER := selfSigned(t, key)
	sum := sha256.Sum256(certDER)
	for _, alg := range []jose.SignatureAlgorithm{jose.PS256, jose.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			opts := (&jose.SignerOptions{}).WithType("JWT").
				WithHeader("x5t#S256", base64.StdEncoding.EncodeToString(sum[:])).
				WithHeader("x5c", []string{base64.StdEncoding.EncodeToString(certDER)})
			signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
			if err != nil {
				t.Fatal(err)
			}
			obj, err := signer.Sign([]byte(with(testClaims(), "aud", "https://login.local/t/oauth2/v2.0/token")))
			if err != nil {
				t.Fatal(err)
			}
			token, err := obj.CompactSerialize()
			if err != nil {
				t.Fatal(err)
			}
			p, err := Parse(token)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got, want := p.Header.X5tS256, base64.StdEncoding.EncodeToString(sum[:]); got != want {
				t.Errorf("x5t#S256 = %q, want %q", got, want)
			}
			if len(p.Header.X5c) != 1 {
				t.Errorf("x5c = %v", p.Header.X5c)
			}
			if err := p.VerifySignature(&key.PublicKey, RS256, PS256); err != nil {
				t.Fatalf("VerifySignature: %v", err)
			}
			if err := p.VerifySignature(&otherKey().PublicKey, RS256, PS256); err == nil {
				t.Fatal("verified with the wrong key")
			}
		})
	}
}

// The JWKS we publish must be readable by an independent implementation,
// including the x5t/x5c consistency go-jose checks.
func TestInteropJWKWithGoJose(t *testing.T) {
	key := testKey()
	certDER := selfSigned(t, key)
	set := JWKS{Keys: []JWK{RSAPublicJWK("kid-1", &key.PublicKey, certDER)}}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	var theirs jose.JSONWebKeySet
	if err := json.Unmarshal(b, &theirs); err != nil {
		t.Fatalf("go-jose cannot read our JWKS: %v\n%s", err, b)
	}
	k := theirs.Key("kid-1")
	if len(k) != 1 || !key.PublicKey.Equal(k[0].Key) || k[0].Use != "sig" || k[0].Algorithm != "RS256" {
		t.Fatalf("go-jose read %+v", k)
	}
	if got, want := set.Keys[0].X5t, ThumbprintSHA1(certDER); got != want {
		t.Errorf("x5t = %q, want %q", got, want)
	}

	// And the other way round: a JWKS written by go-jose is a KeySet.
	theirs.Keys[0].Certificates = nil
	theirs.Keys[0].CertificateThumbprintSHA1 = nil
	b, err = json.Marshal(theirs)
	if err != nil {
		t.Fatal(err)
	}
	var ours JWKS
	if err := json.Unmarshal(b, &ours); err != nil {
		t.Fatal(err)
	}
	pub, ok := ours.PublicKey("kid-1")
	if !ok || !pub.Equal(&key.PublicKey) {
		t.Fatalf("PublicKey(kid-1) = %v, %v", pub, ok)
	}
	if _, ok := ours.PublicKey("other"); ok {
		t.Error("PublicKey(other) found a key")
	}
	if _, ok := ours.PublicKey(""); ok {
		t.Error("PublicKey(\"\") found a key")
	}
}

func TestJWKSRejectsUnusableKeys(t *testing.T) {
	good := RSAPublicJWK("k", &testKey().PublicKey, nil)
	tests := []struct {
		name   string
		modify func(*JWK)
	}{
		{"kty EC", func(k *JWK) { k.Kty = "EC" }},
		{"use enc", func(k *JWK) { k.Use = "enc" }},
		{"alg HS256", func(k *JWK) { k.Alg = "HS256" }},
		{"bad n", func(k *JWK) { k.N = "!!" }},
		{"even e", func(k *JWK) { k.E = "Ag" }},
		{"e of 1", func(k *JWK) { k.E = "AQ" }},
		{"huge e", func(k *JWK) { k.E = "AQAAAAAB" }},
		{"small n", func(k *JWK) { k.N = k.N[:100] }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := good
			tt.modify(&k)
			if _, ok := (JWKS{Keys: []JWK{k}}).PublicKey("k"); ok {
				t.Fatal("unusable key accepted")
			}
		})
	}
}
