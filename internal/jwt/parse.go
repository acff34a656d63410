package jwt

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Sentinel errors; every error from this package wraps one of them with detail.
var (
	ErrMalformed   = errors.New("jwt: malformed token")
	ErrAlgorithm   = errors.New("jwt: signing algorithm not allowed")
	ErrUnknownKey  = errors.New("jwt: unknown signing key")
	ErrSignature   = errors.New("jwt: invalid signature")
	ErrExpired     = errors.New("jwt: token expired")
	ErrNotYetValid = errors.New("jwt: token not yet valid")
	ErrIssuer      = errors.New("jwt: issuer not accepted")
	ErrAudience    = errors.New("jwt: audience not accepted")
)

// Algorithms this package can verify. Nothing else can be allowed.
const (
	RS256 = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3
	PS256 = "PS256" // RSASSA-PSS with SHA-256, RFC 7518 §3.5
)

// MaxTokenSize bounds the compact serialization Parse accepts. Signet's tokens
// and client assertions (even with an x5c chain) are a few KiB.
const MaxTokenSize = 16 << 10

// MinRSABits is the smallest RSA modulus accepted for verification or signing.
const MinRSABits = 2048

// Header is the JOSE header of a JWS (RFC 7515 §4.1).
type Header struct {
	Alg     string   `json:"alg"`
	Typ     string   `json:"typ,omitempty"`
	Kid     string   `json:"kid,omitempty"`
	X5t     string   `json:"x5t,omitempty"`
	X5tS256 string   `json:"x5t#S256,omitempty"`
	X5c     []string `json:"x5c,omitempty"`
}

// Parsed is a compact JWS whose structure has been checked but whose
// signature has not: nothing in it may be trusted before VerifySignature.
type Parsed struct {
	Header  Header
	Payload []byte // the decoded JSON object

	signingInput []byte
	signature    []byte
}

// Parse checks that token is a compact JWS (RFC 7515 §7.1): exactly three
// parts of unpadded base64url, a header and a payload that are JSON objects,
// at most MaxTokenSize bytes. Any failure is ErrMalformed.
func Parse(token string) (*Parsed, error) {
	if len(token) > MaxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes exceeds the %d-byte limit", ErrMalformed, len(token), MaxTokenSize)
	}
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return nil, fmt.Errorf("%w: not a compact JWS (want 3 dot-separated parts)", ErrMalformed)
	}
	p, s, ok := strings.Cut(rest, ".")
	if !ok || strings.Contains(s, ".") {
		return nil, fmt.Errorf("%w: not a compact JWS (want 3 dot-separated parts)", ErrMalformed)
	}
	headerJSON, err := decodeSegment(h)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	payload, err := decodeSegment(p)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	sig, err := decodeSegment(s)
	if err != nil {
		return nil, fmt.Errorf("%w: signature: %v", ErrMalformed, err)
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: empty signature", ErrMalformed)
	}
	if !isJSONObject(headerJSON) {
		return nil, fmt.Errorf("%w: header is not a JSON object", ErrMalformed)
	}
	if !isJSONObject(payload) {
		return nil, fmt.Errorf("%w: payload is not a JSON object", ErrMalformed)
	}
	var hdr struct {
		Header
		// RFC 7515 §4.1.11: a recipient must reject a token whose "crit" names
		// an extension it does not understand, and we understand none.
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(headerJSON, &hdr); err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if hdr.Crit != nil {
		return nil, fmt.Errorf("%w: header has critical extensions", ErrMalformed)
	}
	if hdr.Alg == "" {
		return nil, fmt.Errorf("%w: header has no alg", ErrMalformed)
	}
	return &Parsed{
		Header:       hdr.Header,
		Payload:      payload,
		signingInput: []byte(token[:len(h)+1+len(p)]),
		signature:    sig,
	}, nil
}

// decodeSegment decodes unpadded base64url strictly. The standard decoder
// skips CR and LF even in strict mode, so the alphabet is checked first:
// a token has exactly one encoding.
func decodeSegment(seg string) ([]byte, error) {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return nil, fmt.Errorf("byte %d is not in the unpadded base64url alphabet", i)
		}
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// VerifySignature checks the signature with pub. The header's alg must be one
// of allowed, and only RS256 and PS256 may be allowed: asking for anything
// else is a programming error and fails with ErrAlgorithm too.
func (p *Parsed) VerifySignature(pub *rsa.PublicKey, allowed ...string) error {
	for _, a := range allowed {
		if a != RS256 && a != PS256 {
			return fmt.Errorf("%w: %q can never be allowed", ErrAlgorithm, a)
		}
	}
	if !slices.Contains(allowed, p.Header.Alg) {
		return fmt.Errorf("%w: %q (allowed: %s)", ErrAlgorithm, p.Header.Alg, strings.Join(allowed, ", "))
	}
	if err := checkKeySize(pub); err != nil {
		return err
	}
	digest := sha256.Sum256(p.signingInput)
	var err error
	switch p.Header.Alg {
	case RS256:
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], p.signature)
	case PS256:
		// RFC 7518 §3.5 fixes the salt at the hash length; signers differ in
		// practice and the salt length does not affect PSS's security, so
		// accept whatever salt the signature encodes.
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], p.signature, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	if err != nil {
		return fmt.Errorf("%w: %s signature does not verify", ErrSignature, p.Header.Alg)
	}
	return nil
}

func checkKeySize(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil {
		return fmt.Errorf("%w: no RSA key", ErrSignature)
	}
	if n := pub.N.BitLen(); n < MinRSABits {
		return fmt.Errorf("%w: RSA key has %d bits, at least %d required", ErrSignature, n, MinRSABits)
	}
	return nil
}
