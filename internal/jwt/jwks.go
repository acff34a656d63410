package jwt

import (
	"crypto/rsa"
	"encoding/base64"
	"math/big"
)

// JWK is an RSA public key as published in a JWKS (RFC 7517 §4, RFC 7518 §6.3).
type JWK struct {
	Kty string   `json:"kty,omitempty"`
	Use string   `json:"use,omitempty"`
	Kid string   `json:"kid,omitempty"`
	X5t string   `json:"x5t,omitempty"`
	N   string   `json:"n,omitempty"`
	E   string   `json:"e,omitempty"`
	X5c []string `json:"x5c,omitempty"`
	Alg string   `json:"alg,omitempty"`
}

// JWKS is a JSON Web Key Set (RFC 7517 §5). It is a KeySet.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// RSAPublicJWK describes a signing key for a JWKS. certDER, when given, is a
// certificate over the key; it adds x5t (base64url SHA-1) and x5c (standard
// base64 DER, RFC 7517 §4.7), as Azure's JWKS carries both.
func RSAPublicJWK(kid string, pub *rsa.PublicKey, certDER []byte) JWK {
	k := JWK{
		Kty: "RSA",
		Use: "sig",
		Kid: kid,
		N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		Alg: RS256,
	}
	if len(certDER) > 0 {
		k.X5t = ThumbprintSHA1(certDER)
		k.X5c = []string{base64.StdEncoding.EncodeToString(certDER)}
	}
	return k
}

// PublicKey returns the RSA signing key with this kid. Keys that are not RSA,
// are marked for another use or algorithm, or do not decode are skipped.
func (s JWKS) PublicKey(kid string) (*rsa.PublicKey, bool) {
	if kid == "" {
		return nil, false
	}
	for i := range s.Keys {
		if s.Keys[i].Kid == kid {
			if pub, ok := s.Keys[i].rsaPublicKey(); ok {
				return pub, true
			}
		}
	}
	return nil, false
}

// rsaPublicKey decodes a usable RSA signing key from the JWK.
func (k *JWK) rsaPublicKey() (*rsa.PublicKey, bool) {
	if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != RS256 && k.Alg != PS256) {
		return nil, false
	}
	nb, err := base64.RawURLEncoding.DecodeString(k.N)
	if err != nil || len(nb) == 0 || nb[0] == 0 {
		return nil, false
	}
	eb, err := base64.RawURLEncoding.DecodeString(k.E)
	if err != nil || len(eb) == 0 || len(eb) > 4 || eb[0] == 0 {
		return nil, false
	}
	e := 0
	for _, b := range eb {
		e = e<<8 | int(b)
	}
	// The exponents real keys use are small odd numbers; anything else is
	// either broken or an attempt at something.
	if e < 3 || e%2 == 0 || e > 1<<31-1 {
		return nil, false
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: e}
	if pub.N.BitLen() < MinRSABits {
		return nil, false
	}
	return pub, true
}
