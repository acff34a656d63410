package sts

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/oauth2"
	"github.com/signet-platform/signet/internal/store"
)

// maxAssertionLifetime bounds exp − nbf (or exp − iat) of a client
// assertion, which bounds how long its jti must be remembered. MSAL makes
// assertions that live 10 minutes.
const maxAssertionLifetime = time.Hour

// clientAssertion is a parsed, not yet verified, RFC 7523 client assertion.
// Nothing in it may be trusted before its signature is verified.
type clientAssertion struct {
	jws *jwt.Parsed
	// thumbprint names the signing certificate: SHA-256 of its DER from
	// x5t#S256 (sha256 true), else SHA-1 from x5t.
	thumbprint []byte
	sha256     bool

	Issuer    string
	Subject   string
	Audience  []string
	Expiry    *int64
	NotBefore *int64
	IssuedAt  *int64
	JTI       string
}

// parseAssertion parses a client_assertion: a compact JWS whose header names
// the signing certificate by x5t#S256 (MSAL Go: standard base64 with
// padding; msal-node: base64url) or x5t (SHA-1), and whose payload carries
// iss, sub, aud, exp and jti (RFC 7523 §3). It checks structure only.
func parseAssertion(raw string) (*clientAssertion, *oauth2.Error) {
	jws, err := jwt.Parse(raw)
	if err != nil {
		return nil, errInvalidClient(codeMalformedAssertion, "The client assertion is not a well-formed JWT.").WithCause(err)
	}
	a := &clientAssertion{jws: jws}
	switch {
	case jws.Header.X5tS256 != "":
		a.thumbprint, a.sha256 = decodeThumbprint(jws.Header.X5tS256, 32), true
	case jws.Header.X5t != "":
		a.thumbprint = decodeThumbprint(jws.Header.X5t, 20)
	}
	if a.thumbprint == nil {
		return nil, errInvalidClient(codeMalformedAssertion,
			"The client assertion header must name its certificate with x5t#S256 or x5t.")
	}

	var c struct {
		Iss string          `json:"iss"`
		Sub string          `json:"sub"`
		Aud json.RawMessage `json:"aud"`
		Exp json.RawMessage `json:"exp"`
		Nbf json.RawMessage `json:"nbf"`
		Iat json.RawMessage `json:"iat"`
		JTI string          `json:"jti"`
	}
	if err := json.Unmarshal(jws.Payload, &c); err != nil {
		return nil, errInvalidClient(codeMalformedAssertion, "The client assertion's claims are not valid.").WithCause(err)
	}
	a.Issuer, a.Subject, a.JTI = c.Iss, c.Sub, c.JTI
	if a.Audience, err = parseAudience(c.Aud); err != nil {
		return nil, errInvalidClient(codeMalformedAssertion, "The client assertion's aud claim is not valid.").WithCause(err)
	}
	for _, d := range []struct {
		name string
		raw  json.RawMessage
		dst  **int64
	}{{"exp", c.Exp, &a.Expiry}, {"nbf", c.Nbf, &a.NotBefore}, {"iat", c.Iat, &a.IssuedAt}} {
		if *d.dst, err = parseNumericDate(d.raw); err != nil {
			return nil, errInvalidClient(codeMalformedAssertion, "The client assertion's %s claim is not a NumericDate.", d.name).WithCause(err)
		}
	}
	for _, req := range []struct {
		name    string
		missing bool
	}{{"iss", a.Issuer == ""}, {"sub", a.Subject == ""}, {"aud", len(a.Audience) == 0}, {"exp", a.Expiry == nil}, {"jti", a.JTI == ""}} {
		if req.missing {
			return nil, errInvalidClient(codeMalformedAssertion, "The client assertion has no '%s' claim.", req.name)
		}
	}
	return a, nil
}

// decodeThumbprint accepts a certificate thumbprint in base64url or standard
// base64, padded or not, and returns it only if it has the expected size.
func decodeThumbprint(s string, size int) []byte {
	for _, enc := range []*base64.Encoding{base64.RawURLEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.StdEncoding} {
		if b, err := enc.Strict().DecodeString(s); err == nil && len(b) == size {
			return b
		}
	}
	return nil
}

// parseAudience takes aud as a string or an array of strings (RFC 7519 §4.1.3).
func parseAudience(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		if one == "" {
			return nil, nil
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, errors.New("aud is neither a string nor an array of strings")
	}
	return many, nil
}

// maxNumericDate is 9999-12-31T23:59:59Z. NumericDates outside [0,
// maxNumericDate] are refused, so differences between them (the lifetime
// check) can never overflow.
const maxNumericDate = 253402300799

// parseNumericDate takes a JSON number of seconds (RFC 7519 §2), possibly
// with a fraction, and returns whole seconds; nil when absent.
func parseNumericDate(raw json.RawMessage) (*int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	// json.Number also takes a string holding a number; a NumericDate is a
	// JSON number only.
	var n json.Number
	if raw[0] == '"' {
		return nil, errors.New("a NumericDate is a number, not a string")
	}
	if err := json.Unmarshal(raw, &n); err != nil {
		return nil, err
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > maxNumericDate {
		return nil, fmt.Errorf("%q is not a NumericDate between 1970 and 9999", string(n))
	}
	// Whole seconds from the text when it is an integer: float64 is exact
	// below 2^53, which maxNumericDate is, so this only drops a fraction.
	i := int64(math.Floor(f))
	return &i, nil
}

// assertionCheck is what the claims of an assertion are checked against.
type assertionCheck struct {
	ClientID  string   // the principal's client id
	Audiences []string // token endpoint URLs this request may be addressed to
	Now       time.Time
	Skew      time.Duration
}

// checkClaims applies RFC 7523 §3 to a signature-verified assertion: iss and
// sub are the client, aud names this token endpoint, exp is not past, nbf
// not future (both with skew), and the assertion lives at most
// maxAssertionLifetime. The jti replay check needs the store and is the
// caller's.
func (a *clientAssertion) checkClaims(c assertionCheck) *oauth2.Error {
	if a.Issuer != c.ClientID || a.Subject != c.ClientID {
		return errInvalidClient(codeAssertionSubject,
			"The client assertion's iss and sub claims must both be the client id '%s'.", c.ClientID)
	}
	if !audienceMatches(a.Audience, c.Audiences) {
		return errInvalidClient(codeAssertionAudience,
			"The client assertion's audience claim does not match this token endpoint.")
	}
	now, skew := c.Now.Unix(), int64(c.Skew/time.Second)
	exp := *a.Expiry
	if now-skew >= exp {
		return errInvalidClient(codeAssertionTime, "The client assertion is not within its valid time range: it expired at %s.", unixRFC3339(exp))
	}
	if a.NotBefore != nil && *a.NotBefore > now+skew {
		return errInvalidClient(codeAssertionTime, "The client assertion is not within its valid time range: it is not valid before %s.", unixRFC3339(*a.NotBefore))
	}
	start := now
	switch {
	case a.NotBefore != nil:
		start = *a.NotBefore
	case a.IssuedAt != nil:
		start = *a.IssuedAt
	}
	if exp-start > int64(maxAssertionLifetime/time.Second) {
		return errInvalidClient(codeAssertionTime, "The client assertion is valid for longer than %s.", maxAssertionLifetime)
	}
	return nil
}

func audienceMatches(got, want []string) bool {
	for _, g := range got {
		for _, w := range want {
			if strings.EqualFold(g, w) {
				return true
			}
		}
	}
	return false
}

func unixRFC3339(s int64) string { return time.Unix(s, 0).UTC().Format(time.RFC3339) }

// certCache holds the parsed certificates of certificate credentials, so the
// hot path never parses a certificate or key more than once. Credentials are
// immutable (created and deleted, never updated), and every lookup first goes
// through the principal's credential list (from the store, or the client
// cache while the principals generation says it is current), so a deleted
// credential is never used from here; its entry just lingers.
type certCache struct{ m sync.Map } // credential ID → *verifyingCert

type verifyingCert struct {
	der       []byte
	pub       *rsa.PublicKey
	notBefore time.Time
	notAfter  time.Time
}

func (c *certCache) get(cred store.Credential) (*verifyingCert, error) {
	if v, ok := c.m.Load(cred.ID); ok {
		if vc := v.(*verifyingCert); bytes.Equal(vc.der, cred.CertificateDER) {
			return vc, nil
		}
	}
	cert, err := x509.ParseCertificate(cred.CertificateDER)
	if err != nil {
		return nil, fmt.Errorf("credential %s: %w", cred.ID, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("credential %s: certificate key is %T, not RSA", cred.ID, cert.PublicKey)
	}
	vc := &verifyingCert{der: cred.CertificateDER, pub: pub, notBefore: cert.NotBefore, notAfter: cert.NotAfter}
	c.m.Store(cred.ID, vc)
	return vc, nil
}
