package jwt

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// KeySet finds a token-signing public key by its kid. A JWKS, a
// RemoteKeySet and the keys package's Manager are key sets.
type KeySet interface {
	PublicKey(kid string) (*rsa.PublicKey, bool)
}

// DefaultLeeway is the clock skew Verifier tolerates when Leeway is zero.
const DefaultLeeway = 2 * time.Minute

// Verifier checks Signet access tokens for a relying party.
type Verifier struct {
	Keys KeySet
	// ValidIssuer reports whether iss is an issuer this relying party trusts.
	// Required: a nil ValidIssuer rejects every token.
	ValidIssuer func(iss string) bool
	// Audiences are the aud values this relying party answers to, compared
	// after NormalizeAudience. Empty rejects every token.
	Audiences []string
	// Leeway is the clock skew tolerated on exp and nbf: DefaultLeeway when
	// zero, none when negative.
	Leeway time.Duration
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

// Verify checks, in this order: structure, alg (RS256 only), key by kid,
// signature, exp and nbf (both required), issuer, audience. It returns the
// claims with Audience set to the token's aud value that matched.
func (v *Verifier) Verify(token string) (*Claims, error) {
	claims, _, _, err := v.verify(token)
	return claims, err
}

// verify is Verify that also returns the kid and the key that checked the
// signature, for CachingVerifier to tie its entry to.
func (v *Verifier) verify(token string) (_ *Claims, kid string, _ *rsa.PublicKey, _ error) {
	p, err := Parse(token)
	if err != nil {
		return nil, "", nil, err
	}
	if p.Header.Alg != RS256 {
		return nil, "", nil, fmt.Errorf("%w: %q (access tokens are RS256)", ErrAlgorithm, p.Header.Alg)
	}
	if v.Keys == nil {
		return nil, "", nil, fmt.Errorf("%w: verifier has no key set", ErrUnknownKey)
	}
	kid = p.Header.Kid
	pub, ok := v.Keys.PublicKey(kid)
	if !ok {
		return nil, "", nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, kid)
	}
	if err := p.VerifySignature(pub, RS256); err != nil {
		return nil, "", nil, err
	}

	// The fields declared here are shallower than Claims' and so take the
	// claims they name: aud may be a string or an array (RFC 7519 §4.1.3),
	// and the dates may be non-integer NumericDates and must be told apart
	// from absent ones.
	var c struct {
		Claims
		Aud audience     `json:"aud"`
		Exp *numericDate `json:"exp"`
		Nbf *numericDate `json:"nbf"`
		Iat *numericDate `json:"iat"`
	}
	if err := json.Unmarshal(p.Payload, &c); err != nil {
		return nil, "", nil, fmt.Errorf("%w: claims: %v", ErrMalformed, err)
	}
	if c.Exp == nil {
		return nil, "", nil, fmt.Errorf("%w: no exp claim", ErrMalformed)
	}
	if c.Nbf == nil {
		return nil, "", nil, fmt.Errorf("%w: no nbf claim", ErrMalformed)
	}
	// Written so that nothing overflows, whatever the token says.
	nowS, leewayS := v.now().Unix(), int64(v.leeway()/time.Second)
	if nowS-leewayS >= int64(*c.Exp) {
		return nil, "", nil, fmt.Errorf("%w: exp %s", ErrExpired, time.Unix(int64(*c.Exp), 0).UTC().Format(time.RFC3339))
	}
	if nowS+leewayS < int64(*c.Nbf) {
		return nil, "", nil, fmt.Errorf("%w: nbf %s", ErrNotYetValid, time.Unix(int64(*c.Nbf), 0).UTC().Format(time.RFC3339))
	}
	if v.ValidIssuer == nil || !v.ValidIssuer(c.Issuer) {
		return nil, "", nil, fmt.Errorf("%w: %q", ErrIssuer, c.Issuer)
	}
	matched, ok := v.matchAudience(c.Aud)
	if !ok {
		return nil, "", nil, fmt.Errorf("%w: %q", ErrAudience, []string(c.Aud))
	}

	claims := c.Claims
	claims.Audience = matched
	claims.Expiry = int64(*c.Exp)
	claims.NotBefore = int64(*c.Nbf)
	if c.Iat != nil {
		claims.IssuedAt = int64(*c.Iat)
	}
	return &claims, kid, pub, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// leeway is Leeway resolved: DefaultLeeway when zero, none when negative.
func (v *Verifier) leeway() time.Duration {
	switch {
	case v.Leeway == 0:
		return DefaultLeeway
	case v.Leeway < 0:
		return 0
	default:
		return v.Leeway
	}
}

func (v *Verifier) matchAudience(auds []string) (string, bool) {
	for _, a := range auds {
		na := NormalizeAudience(a)
		for _, want := range v.Audiences {
			if na == NormalizeAudience(want) {
				return a, true
			}
		}
	}
	return "", false
}

// NormalizeAudience returns the form in which audiences are compared: for an
// absolute URL the scheme and host are lower-cased (RFC 3986 §6.2.2.1), and
// one trailing "/" is dropped, so "https://Management.Azure.com/" matches
// "https://management.azure.com". Paths and other audiences (GUIDs,
// api://…) keep their case.
func NormalizeAudience(s string) string {
	s = strings.TrimSuffix(s, "/")
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || scheme == "" {
		return s
	}
	host, path := rest, ""
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	return strings.ToLower(scheme) + "://" + strings.ToLower(host) + path
}

// audience decodes aud whether it is one string or an array of strings.
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var list []string
		if err := json.Unmarshal(b, &list); err != nil {
			return errors.New("aud is not a string or an array of strings")
		}
		*a = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("aud is not a string or an array of strings")
	}
	*a = audience{s}
	return nil
}

// numericDate is an RFC 7519 §2 NumericDate, truncated to whole seconds.
type numericDate int64

func (d *numericDate) UnmarshalJSON(b []byte) error {
	// json.Number would also take a quoted number; RFC 7519 does not.
	var n json.Number
	if len(b) == 0 || b[0] == '"' || json.Unmarshal(b, &n) != nil {
		return errors.New("date claim is not a number")
	}
	if i, err := n.Int64(); err == nil {
		*d = numericDate(i)
		return nil
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || f >= math.MaxInt64 || f <= math.MinInt64 {
		return errors.New("date claim is out of range")
	}
	*d = numericDate(math.Floor(f))
	return nil
}
