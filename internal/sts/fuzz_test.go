package sts

import (
	"encoding/base64"
	"testing"
	"time"
)

// FuzzParseTokenRequest: any content type, Authorization header and body
// either parse into a form with a grant type or fail with a 4xx OAuth error;
// never a panic.
func FuzzParseTokenRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "", []byte("grant_type=client_credentials&client_id=a&client_secret=b&scope=api%3A%2F%2Fx%2F.default+openid"))
	f.Add("application/x-www-form-urlencoded", "Basic "+base64.StdEncoding.EncodeToString([]byte("a%3A:b")), []byte("grant_type=client_credentials"))
	f.Add("application/x-www-form-urlencoded", "", []byte("grant_type=a&grant_type=b"))
	f.Add("application/x-www-form-urlencoded", "", []byte("a=%zz;b"))
	f.Add("text/plain", "Bearer x", []byte{0xff, 0})
	f.Fuzz(func(t *testing.T, contentType, authorization string, body []byte) {
		form, oerr := parseTokenRequest(contentType, authorization, body)
		if oerr != nil {
			if oerr.Status < 400 || oerr.Status > 499 || oerr.Code == "" || oerr.AADSTS == 0 {
				t.Fatalf("bad error value: %+v", oerr)
			}
			return
		}
		if form.GrantType == "" {
			t.Fatalf("parsed a form without grant_type: %+v", form)
		}
		if form.Basic && (form.ClientID == "" || form.ClientSecret == "") {
			t.Fatalf("Basic credentials with an empty part: %+v", form)
		}
	})
}

// FuzzParseAssertion: any string either fails to parse with a client
// error, or parses into an assertion whose claim checks run without
// panicking (whatever the numbers in it).
func FuzzParseAssertion(f *testing.F) {
	ck, _ := testKeys(f)
	now := time.Now()
	der := selfSigned(f, ck, "fuzz", now.Add(-time.Hour), now.Add(time.Hour))
	sum := sha256Of(der)
	good := signJWS(f, ck,
		map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(sum[:])},
		map[string]any{"iss": "c", "sub": "c", "aud": "https://h/t/oauth2/v2.0/token", "jti": "j", "nbf": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()})
	f.Add(good)
	f.Add(signJWS(f, ck,
		map[string]any{"alg": "RS256", "x5t": base64.RawURLEncoding.EncodeToString(sha1Thumbprint(der))},
		map[string]any{"iss": "c", "sub": "c", "aud": []string{"x"}, "jti": "j", "iat": 1e300, "exp": -9.2e18}))
	f.Add("e30.e30.AA")
	f.Add("..")
	f.Fuzz(func(t *testing.T, raw string) {
		a, oerr := parseAssertion(raw)
		if oerr != nil {
			if oerr.Status != 401 || oerr.AADSTS != codeMalformedAssertion {
				t.Fatalf("bad error value: %+v", oerr)
			}
			return
		}
		if a.Expiry == nil || a.JTI == "" || a.Issuer == "" || a.Subject == "" || len(a.Audience) == 0 || a.thumbprint == nil {
			t.Fatalf("parsed an assertion missing a required part: %+v", a)
		}
		_ = a.checkClaims(assertionCheck{
			ClientID: "c", Audiences: []string{"https://h/t/oauth2/v2.0/token"}, Now: now, Skew: 2 * time.Minute,
		})
	})
}

func TestParseNumericDate(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want int64
		ok   bool
	}{
		{"1700000000", 1700000000, true},
		{"1700000000.9", 1700000000, true},
		{"1.7e9", 1700000000, true},
		{"-1", 0, false},
		{"9223372036854775807", 0, false},
		{"253402300800", 0, false},
		{`"1700000000"`, 0, false},
		{"1e300", 0, false},
	} {
		got, err := parseNumericDate([]byte(tc.raw))
		if (err == nil) != tc.ok || (tc.ok && (got == nil || *got != tc.want)) {
			t.Errorf("parseNumericDate(%s) = %v, %v; want %d, ok %v", tc.raw, got, err, tc.want, tc.ok)
		}
	}
}
