package agent

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// assertionLifetime is how long a client assertion is valid: MSAL's 10
// minutes (reference §6.4). The STS remembers jti for that long.
const assertionLifetime = 10 * time.Minute

var errNoCredential = errors.New("identity has no credential yet")

// clientAssertion builds the RFC 7523 §2.2 client assertion for id, signed
// with its key, in the shape MSAL Go produces (reference §6.4): header
// {alg: PS256, typ: JWT, x5t#S256: standard base64 of SHA-256(cert DER)},
// claims aud = the token endpoint URL, iss = sub = client id, a random jti,
// nbf = now, exp = now + 10 min.
func clientAssertion(id *Identity, tokenURL string, now time.Time) (string, error) {
	if id.Key == nil || id.Certificate == nil {
		return "", errNoCredential
	}
	if _, ok := id.Key.Public().(*rsa.PublicKey); !ok {
		// The STS accepts PS256 and RS256 only.
		return "", fmt.Errorf("identity key is %T, want an RSA key", id.Key.Public())
	}
	thumb := sha256.Sum256(id.Certificate.Raw)
	header, err := json.Marshal(struct {
		Alg     string `json:"alg"`
		Typ     string `json:"typ"`
		X5tS256 string `json:"x5t#S256"`
	}{"PS256", "JWT", base64.StdEncoding.EncodeToString(thumb[:])})
	if err != nil {
		return "", err
	}
	claims, err := json.Marshal(struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Iss string `json:"iss"`
		JTI string `json:"jti"`
		Nbf int64  `json:"nbf"`
		Sub string `json:"sub"`
	}{
		Aud: tokenURL, Exp: now.Add(assertionLifetime).Unix(), Iss: id.ClientID,
		JTI: uuid.NewString(), Nbf: now.Unix(), Sub: id.ClientID,
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signingInput := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signingInput))
	// RFC 7518 §3.5: PS256 uses MGF1 with SHA-256 and a salt as long as the
	// hash.
	sig, err := id.Key.Sign(rand.Reader, digest[:], &rsa.PSSOptions{
		SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256,
	})
	if err != nil {
		return "", fmt.Errorf("sign client assertion: %w", err)
	}
	return signingInput + "." + enc.EncodeToString(sig), nil
}
