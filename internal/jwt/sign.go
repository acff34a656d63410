package jwt

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
)

// Sign returns a compact RS256 JWS over claims (RFC 7515 §3.1) with header
// {"alg":"RS256","typ":"JWT","kid":kid,"x5t":x5t}; empty kid or x5t are left
// out. Azure's tokens carry the key id in both (reference section 7).
//
// key should be precomputed (as x509.ParsePKCS8PrivateKey and
// rsa.GenerateKey leave it); Sign never modifies it, so one key may sign
// concurrently.
func Sign(key *rsa.PrivateKey, kid, x5t string, claims any) (string, error) {
	if key == nil {
		return "", errors.New("jwt: sign: no key")
	}
	if err := checkKeySize(&key.PublicKey); err != nil {
		return "", fmt.Errorf("jwt: sign: %w", err)
	}
	header, err := json.Marshal(Header{Alg: RS256, Typ: "JWT", Kid: kid, X5t: x5t})
	if err != nil {
		return "", fmt.Errorf("jwt: sign: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jwt: sign: encode claims: %w", err)
	}
	// json.Marshal output is valid JSON; only its kind needs checking.
	if len(payload) == 0 || payload[0] != '{' {
		return "", errors.New("jwt: sign: claims must encode as a JSON object")
	}
	enc := base64.RawURLEncoding
	sigLen := enc.EncodedLen(key.Size())
	buf := make([]byte, 0, enc.EncodedLen(len(header))+enc.EncodedLen(len(payload))+sigLen+2)
	buf = enc.AppendEncode(buf, header)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	digest := sha256.Sum256(buf)
	// PKCS #1 v1.5 signing is deterministic; the reader is only for blinding
	// in older Go versions.
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("jwt: sign: %w", err)
	}
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, sig)
	return string(buf), nil
}

// ThumbprintSHA1 returns the x5t of a certificate: base64url (unpadded)
// SHA-1 of its DER (RFC 7515 §4.1.7). SHA-1 is what the header field is
// defined over; it identifies, it does not protect.
func ThumbprintSHA1(certDER []byte) string {
	sum := sha1.Sum(certDER)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ThumbprintSHA256 returns the x5t#S256 of a certificate: base64url
// (unpadded) SHA-256 of its DER (RFC 7515 §4.1.8).
func ThumbprintSHA256(certDER []byte) string {
	sum := sha256.Sum256(certDER)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
