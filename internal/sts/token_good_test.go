package sts

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/store"
)

func TestTokenGranted(t *testing.T) {
	f := newFixture(t)
	v2, v1 := f.tokenURL(2), f.tokenURL(1)
	sp, mi := f.sp, f.mi
	ck, _ := testKeys(t)
	urlX5tS256 := func(der []byte) map[string]any {
		h := map[string]any{"alg": "RS256", "x5t#S256": nil}
		sum := sha256Sum(der)
		h["x5t#S256"] = base64.RawURLEncoding.EncodeToString(sum)
		return h
	}
	x5tSHA1 := func(der []byte) map[string]any {
		return map[string]any{"alg": "RS256", "x5t#S256": nil, "x5t": base64.RawURLEncoding.EncodeToString(sha1Thumbprint(der))}
	}
	iss1 := IssuerV1(f.ts.URL, f.tenant)
	iss2 := IssuerV2(f.ts.URL, f.tenant)

	tests := []struct {
		name      string
		req       func() *http.Request
		principal store.Principal
		endpoint  int // 1 or 2
		credType  string
		want      jwt.Claims // iat, nbf, exp, uti checked apart
		lifetime  time.Duration
	}{
		{
			name:      "v2 secret, v2 resource",
			req:       func() *http.Request { return formRequest(v2, secretForm(sp.ClientID, f.secret)) },
			principal: sp, endpoint: 2, credType: "clientSecret", lifetime: time.Hour,
			want: jwt.Claims{Audience: "api://signet-test", Issuer: iss2, AZP: sp.ClientID, AZPACR: "1", Version: "2.0"},
		},
		{
			name: "v2 secret by HTTP Basic, MSAL scopes, ARM resource gets v1",
			req: func() *http.Request {
				form := url.Values{
					"grant_type":   {"client_credentials"},
					"scope":        {"https://management.azure.com/.default openid offline_access profile"},
					"claims":       {`{"access_token":{"xms_cc":{"values":["CP1"]}}}`},
					"x-client-SKU": {"MSAL.Go"},
				}
				req := formRequest(v2, form)
				req.SetBasicAuth(url.QueryEscape(sp.ClientID), url.QueryEscape(f.secret))
				return req
			},
			principal: sp, endpoint: 2, credType: "clientSecret", lifetime: time.Hour,
			want: jwt.Claims{Audience: "https://management.azure.com", Issuer: iss1, AppID: sp.ClientID, AppIDACR: "1", Version: "1.0"},
		},
		{
			name: "v1 secret, resource keeps its trailing slash",
			req: func() *http.Request {
				return formRequest(v1, secretForm(sp.ClientID, f.secret, "scope", "", "resource", "https://management.core.windows.net/"))
			},
			principal: sp, endpoint: 1, credType: "clientSecret", lifetime: time.Hour,
			want: jwt.Claims{Audience: "https://management.core.windows.net/", Issuer: iss1, AppID: sp.ClientID, AppIDACR: "1", Version: "1.0"},
		},
		{
			name: "v1 secret, non-Azure resource stays v1",
			req: func() *http.Request {
				return formRequest(v1, secretForm(sp.ClientID, f.secret, "scope", "", "resource", "api://signet-test"))
			},
			principal: sp, endpoint: 1, credType: "clientSecret", lifetime: time.Hour,
			want: jwt.Claims{Audience: "api://signet-test", Issuer: iss1, AppID: sp.ClientID, AppIDACR: "1", Version: "1.0"},
		},
		{
			name: "v2 assertion PS256, std-base64 x5t#S256, managed identity",
			req: func() *http.Request {
				return formRequest(v2, assertionForm(f.assertion(mi.ClientID, f.miCert, assertion{}), "client_id", mi.ClientID, "client_info", "1"))
			},
			principal: mi, endpoint: 2, credType: "clientAssertion", lifetime: 24 * time.Hour,
			want: jwt.Claims{Audience: "api://signet-test", Issuer: iss2, AZP: mi.ClientID, AZPACR: "2", Version: "2.0", ManagedIdentity: mi.ResourceID},
		},
		{
			name: "v1 assertion RS256, base64url x5t#S256, vault host gets v1",
			req: func() *http.Request {
				a := f.assertion(sp.ClientID, f.certDER, assertion{header: urlX5tS256(f.certDER), claims: map[string]any{"aud": v1}})
				return formRequest(v1, assertionForm(a, "scope", "", "resource", "https://myvault.vault.azure.net"))
			},
			principal: sp, endpoint: 1, credType: "clientAssertion", lifetime: time.Hour,
			want: jwt.Claims{Audience: "https://myvault.vault.azure.net", Issuer: iss1, AppID: sp.ClientID, AppIDACR: "2", Version: "1.0"},
		},
		{
			name: "v2 assertion x5t SHA-1, aud on the alternate public URL, array aud",
			req: func() *http.Request {
				a := f.assertion(sp.ClientID, f.certDER, assertion{key: ck, header: x5tSHA1(f.certDER),
					claims: map[string]any{"aud": []string{"https://other.example", f.alt + "/" + f.tenant + "/oauth2/v2.0/token"}}})
				return formRequest(v2, assertionForm(a))
			},
			principal: sp, endpoint: 2, credType: "clientAssertion", lifetime: time.Hour,
			want: jwt.Claims{Audience: "api://signet-test", Issuer: iss2, AZP: sp.ClientID, AZPACR: "2", Version: "2.0"},
		},
	}
	verifier := &jwt.Verifier{
		Keys:        f.keys,
		ValidIssuer: func(iss string) bool { return iss == iss1 || iss == iss2 },
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.signIns()
			start := time.Now().Unix()
			r := f.do(tt.req())
			received := time.Now()
			end := received.Unix()
			if r.status != http.StatusOK {
				t.Fatalf("status = %d, body %s", r.status, r.raw)
			}
			for h, want := range map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "Pragma": "no-cache"} {
				if got := r.header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}

			// The response's fields and their JSON types.
			var body map[string]json.RawMessage
			if err := json.Unmarshal(r.raw, &body); err != nil {
				t.Fatal(err)
			}
			lifetime := int64(tt.lifetime / time.Second)
			// expires_in counts from the response, in whole seconds
			// rounded down: a client adding it to the time it got the
			// response never passes the token's exp.
			var left int64
			if err := json.Unmarshal(body["expires_in"], &left); err != nil || left > lifetime || left < lifetime-(end-start)-1 {
				t.Errorf("expires_in %s (%v), want a whole number of seconds in [%d, %d]", body["expires_in"], err, lifetime-(end-start)-1, lifetime)
			}
			wantFields := map[string]string{
				"token_type": `"Bearer"`, "expires_in": strconv.FormatInt(left, 10),
				"ext_expires_in": strconv.FormatInt(left, 10), "refresh_in": strconv.FormatInt(left/2, 10),
			}
			if tt.endpoint == 1 {
				wantFields["resource"] = strconv.Quote(tt.want.Audience)
			}
			gotFields := map[string]string{}
			for k, v := range body {
				if k != "access_token" && k != "expires_on" && k != "not_before" {
					gotFields[k] = string(v)
				}
			}
			if diff := cmp.Diff(wantFields, gotFields); diff != "" {
				t.Errorf("response fields (-want +got):\n%s", diff)
			}

			verifier.Audiences = []string{tt.want.Audience}
			var token string
			_ = json.Unmarshal(body["access_token"], &token)
			claims, err := verifier.Verify(token)
			if err != nil {
				t.Fatalf("token does not verify: %v", err)
			}
			want := tt.want
			want.ObjectID, want.Subject, want.TenantID = tt.principal.ObjectID, tt.principal.ObjectID, f.tenant
			want.IdentityProvider, want.IDType = want.Issuer, "app"
			if diff := cmp.Diff(want, *claims, cmpopts.IgnoreFields(jwt.Claims{}, "IssuedAt", "NotBefore", "Expiry", "TokenID")); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
			if claims.IssuedAt < start || claims.IssuedAt > end || claims.NotBefore != claims.IssuedAt || claims.Expiry-claims.IssuedAt != lifetime {
				t.Errorf("iat %d nbf %d exp %d: want iat in [%d, %d], nbf = iat, exp = iat + %d", claims.IssuedAt, claims.NotBefore, claims.Expiry, start, end, lifetime)
			}
			// A client's expiry (receipt + expires_in) is not after exp,
			// give or take this loopback round trip's tail.
			if over := received.Add(time.Duration(left) * time.Second).Sub(time.Unix(claims.Expiry, 0)); over > 100*time.Millisecond {
				t.Errorf("a client receiving expires_in %d takes the token to expire %v after its exp", left, over)
			}
			if raw, err := base64.RawURLEncoding.DecodeString(claims.TokenID); err != nil || len(raw) != 16 {
				t.Errorf("uti %q is not 16 bytes of base64url", claims.TokenID)
			}
			if tt.endpoint == 1 {
				var expOn, nbf string
				_ = json.Unmarshal(body["expires_on"], &expOn)
				_ = json.Unmarshal(body["not_before"], &nbf)
				if expOn != strconv.FormatInt(claims.Expiry, 10) || nbf != strconv.FormatInt(claims.IssuedAt, 10) {
					t.Errorf("expires_on %s not_before %s, want the token's exp %d and iat %d as strings", body["expires_on"], body["not_before"], claims.Expiry, claims.IssuedAt)
				}
			} else if _, ok := body["expires_on"]; ok {
				t.Errorf("v2 response carries expires_on")
			}

			var added []store.SignIn
			for id, rec := range f.signIns() {
				if _, ok := before[id]; !ok {
					added = append(added, rec)
				}
			}
			wantRec := []store.SignIn{{
				TenantID: f.tenant, PrincipalID: tt.principal.ObjectID, ClientID: tt.principal.ClientID,
				Resource: tt.want.Audience, Result: "success", Reason: "token issued", CallerAddress: "127.0.0.1",
				CredentialType: tt.credType, TokenID: claims.TokenID,
			}}
			if diff := cmp.Diff(wantRec, added, cmpopts.IgnoreFields(store.SignIn{}, "ID", "Time", "Seq", "PrevHash", "Hash")); diff != "" {
				t.Errorf("sign-in records (-want +got):\n%s", diff)
			}
		})
	}
}

func sha256Sum(b []byte) []byte {
	s := sha256Of(b)
	return s[:]
}
