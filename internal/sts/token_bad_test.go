package sts

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

func secretForm(clientID, secret string, extra ...string) url.Values {
	v := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {clientID},
		"client_secret": {secret},
		"scope":         {"api://signet-test/.default"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			v.Del(extra[i])
		} else {
			v.Set(extra[i], extra[i+1])
		}
	}
	return v
}

func rawRequest(method, url, contentType, body string) *http.Request {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		panic(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func formRequest(url string, form url.Values) *http.Request {
	return rawRequest(http.MethodPost, url, "application/x-www-form-urlencoded", form.Encode())
}

func TestTokenRefusals(t *testing.T) {
	f := newFixture(t)
	_, stranger := testKeys(t)
	now := time.Now()
	v2, v1 := f.tokenURL(2), f.tokenURL(1)
	sp := f.sp.ClientID
	// assertionReq posts an assertion for sp (or another client) to v2.
	assertionReq := func(clientID string, certDER []byte, a assertion, extra ...string) func() *http.Request {
		return func() *http.Request {
			return formRequest(v2, assertionForm(f.assertion(clientID, certDER, a), extra...))
		}
	}
	replayed := f.assertion(sp, f.certDER, assertion{})

	tests := []struct {
		name   string
		setup  func(t *testing.T)
		req    func() *http.Request
		status int
		err    string
		code   int
		// recorded says a failure sign-in must be written (false only when
		// the tenant is unknown or the request is not a token request).
		recorded bool
	}{
		{name: "wrong content type", req: func() *http.Request {
			return rawRequest(http.MethodPost, v2, "application/json", `{"grant_type":"client_credentials"}`)
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "no content type", req: func() *http.Request {
			return rawRequest(http.MethodPost, v2, "", secretForm(sp, f.secret).Encode())
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "bad percent encoding", req: func() *http.Request {
			return rawRequest(http.MethodPost, v2, "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=%zz")
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "semicolon separator", req: func() *http.Request {
			return rawRequest(http.MethodPost, v2, "application/x-www-form-urlencoded", "grant_type=client_credentials;client_id="+sp)
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "duplicated grant_type", req: func() *http.Request {
			return rawRequest(http.MethodPost, v2, "application/x-www-form-urlencoded",
				secretForm(sp, f.secret).Encode()+"&grant_type=client_credentials")
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "duplicated client_secret", req: func() *http.Request {
			return rawRequest(http.MethodPost, v2, "application/x-www-form-urlencoded",
				secretForm(sp, f.secret).Encode()+"&client_secret=other")
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "missing grant_type", req: func() *http.Request { return formRequest(v2, secretForm(sp, f.secret, "grant_type", "")) },
			status: 400, err: "invalid_request", code: 900144, recorded: true},
		{name: "unsupported grant", req: func() *http.Request { return formRequest(v2, secretForm(sp, f.secret, "grant_type", "password")) },
			status: 400, err: "unsupported_grant_type", code: 70003, recorded: true},
		{name: "oversized body", req: func() *http.Request {
			return formRequest(v2, secretForm(sp, f.secret, "padding", strings.Repeat("x", 70<<10)))
		}, status: 413, err: "invalid_request", code: 90100, recorded: true},
		{name: "GET on token endpoint", req: func() *http.Request {
			return rawRequest(http.MethodGet, v2+"?"+secretForm(sp, f.secret).Encode(), "", "")
		},
			status: 405, err: "invalid_request", code: 900561},
		{name: "unknown tenant", req: func() *http.Request {
			return formRequest(strings.Replace(v2, f.tenant, uuid.NewString(), 1), secretForm(sp, f.secret))
		}, status: 400, err: "invalid_tenant", code: 90002},
		{name: "tenant not a GUID", req: func() *http.Request {
			return formRequest(strings.Replace(v2, f.tenant, "contoso.onmicrosoft.com", 1), secretForm(sp, f.secret))
		}, status: 400, err: "invalid_tenant", code: 90002},
		{name: "unknown client", req: func() *http.Request { return formRequest(v2, secretForm(uuid.NewString(), f.secret)) },
			status: 400, err: "unauthorized_client", code: 700016, recorded: true},
		{name: "client id not a GUID", req: func() *http.Request { return formRequest(v2, secretForm("app'; drop table", f.secret)) },
			status: 400, err: "unauthorized_client", code: 700016, recorded: true},
		{name: "wrong secret", req: func() *http.Request { return formRequest(v2, secretForm(sp, "wrong")) },
			status: 401, err: "invalid_client", code: 7000215, recorded: true},
		{name: "secret of another principal", req: func() *http.Request { return formRequest(v2, secretForm(sp, "disabled-secret")) },
			status: 401, err: "invalid_client", code: 7000215, recorded: true},
		{name: "disabled principal", req: func() *http.Request { return formRequest(v2, secretForm(f.disabled.ClientID, "disabled-secret")) },
			status: 400, err: "unauthorized_client", code: 7000112, recorded: true},
		{name: "expired secret", req: func() *http.Request { return formRequest(v2, secretForm(f.expired.ClientID, "expired-secret")) },
			status: 401, err: "invalid_client", code: 7000222, recorded: true},
		{name: "missing client_id with secret", req: func() *http.Request { return formRequest(v2, secretForm("", f.secret, "client_id", "")) },
			status: 400, err: "invalid_request", code: 90014, recorded: true},
		{name: "neither secret nor assertion", req: func() *http.Request { return formRequest(v2, secretForm(sp, f.secret, "client_secret", "")) },
			status: 400, err: "invalid_request", code: 90014, recorded: true},
		{name: "secret and assertion", req: assertionReq(sp, f.certDER, assertion{}, "client_secret", f.secret),
			status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "Basic and client_secret", req: func() *http.Request {
			req := formRequest(v2, secretForm(sp, f.secret))
			req.SetBasicAuth(sp, f.secret)
			return req
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "malformed Basic header", req: func() *http.Request {
			req := formRequest(v2, secretForm(sp, "", "client_secret", ""))
			req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("no-colon")))
			return req
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "Bearer authorization", req: func() *http.Request {
			req := formRequest(v2, secretForm(sp, f.secret))
			req.Header.Set("Authorization", "Bearer x")
			return req
		}, status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "wrong assertion type", req: assertionReq(sp, f.certDER, assertion{}, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"),
			status: 400, err: "invalid_request", code: 90100, recorded: true},
		{name: "assertion without type", req: assertionReq(sp, f.certDER, assertion{}, "client_assertion_type", ""),
			status: 400, err: "invalid_request", code: 90014, recorded: true},
		{name: "malformed assertion", req: func() *http.Request { return formRequest(v2, assertionForm("not.a.jwt")) },
			status: 401, err: "invalid_client", code: 50027, recorded: true},
		{name: "alg none", req: assertionReq(sp, f.certDER, assertion{header: map[string]any{"alg": "none"}}),
			status: 401, err: "invalid_client", code: 50027, recorded: true},
		{name: "HS256 keyed with the public key", req: assertionReq(sp, f.certDER, assertion{header: map[string]any{"alg": "HS256"}}),
			status: 401, err: "invalid_client", code: 700027, recorded: true},
		{name: "signed by another key", req: assertionReq(sp, f.certDER, assertion{key: stranger}),
			status: 401, err: "invalid_client", code: 700027, recorded: true},
		{name: "unknown certificate", req: assertionReq(sp, selfSigned(t, stranger, "x", now.Add(-time.Hour), now.Add(time.Hour)), assertion{key: stranger}),
			status: 401, err: "invalid_client", code: 700027, recorded: true},
		{name: "certificate of another principal", req: assertionReq(sp, f.miCert, assertion{}),
			status: 401, err: "invalid_client", code: 700027, recorded: true},
		{name: "expired certificate", req: assertionReq(f.expired.ClientID, f.expCert, assertion{}),
			status: 401, err: "invalid_client", code: 700027, recorded: true},
		{name: "no thumbprint header", req: assertionReq(sp, f.certDER, assertion{header: map[string]any{"x5t#S256": nil}}),
			status: 401, err: "invalid_client", code: 50027, recorded: true},
		{name: "wrong aud", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"aud": "https://login.microsoftonline.com/" + f.tenant + "/oauth2/v2.0/token"}}),
			status: 401, err: "invalid_client", code: 700023, recorded: true},
		{name: "aud of another tenant", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"aud": strings.Replace(v2, f.tenant, uuid.NewString(), 1)}}),
			status: 401, err: "invalid_client", code: 700023, recorded: true},
		{name: "expired assertion", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"nbf": now.Add(-20 * time.Minute).Unix(), "exp": now.Add(-10 * time.Minute).Unix()}}),
			status: 401, err: "invalid_client", code: 700024, recorded: true},
		{name: "not yet valid", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"nbf": now.Add(10 * time.Minute).Unix(), "exp": now.Add(20 * time.Minute).Unix()}}),
			status: 401, err: "invalid_client", code: 700024, recorded: true},
		{name: "lifetime too long", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"exp": now.Add(2 * time.Hour).Unix()}}),
			status: 401, err: "invalid_client", code: 700024, recorded: true},
		{name: "lifetime too long by iat", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"nbf": nil, "iat": now.Unix(), "exp": now.Add(2 * time.Hour).Unix()}}),
			status: 401, err: "invalid_client", code: 700024, recorded: true},
		{name: "missing exp", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"exp": nil}}),
			status: 401, err: "invalid_client", code: 50027, recorded: true},
		{name: "missing jti", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"jti": nil}}),
			status: 401, err: "invalid_client", code: 50027, recorded: true},
		{name: "iss differs from sub", req: assertionReq(sp, f.certDER, assertion{claims: map[string]any{"sub": f.mi.ClientID}}),
			status: 401, err: "invalid_client", code: 700021, recorded: true},
		{name: "client_id differs from iss", req: assertionReq(sp, f.certDER, assertion{}, "client_id", f.mi.ClientID),
			status: 401, err: "invalid_client", code: 700021, recorded: true},
		{name: "replayed jti", setup: func(t *testing.T) {
			if r := f.post(v2, assertionForm(replayed), nil); r.status != 200 {
				t.Fatalf("first use: status %d: %s", r.status, r.raw)
			}
		}, req: func() *http.Request { return formRequest(v2, assertionForm(replayed)) },
			status: 401, err: "invalid_client", code: 50013, recorded: true},
		{name: "scope without .default", req: func() *http.Request {
			return formRequest(v2, secretForm(sp, f.secret, "scope", "api://signet-test/read"))
		},
			status: 400, err: "invalid_scope", code: 70011, recorded: true},
		{name: "only OIDC scopes", req: func() *http.Request {
			return formRequest(v2, secretForm(sp, f.secret, "scope", "openid profile offline_access"))
		},
			status: 400, err: "invalid_scope", code: 70011, recorded: true},
		{name: "two resources", req: func() *http.Request {
			return formRequest(v2, secretForm(sp, f.secret, "scope", "api://a/.default https://management.azure.com/.default"))
		}, status: 400, err: "invalid_scope", code: 70011, recorded: true},
		{name: "resource on v2", req: func() *http.Request { return formRequest(v2, secretForm(sp, f.secret, "resource", "api://a")) },
			status: 400, err: "invalid_request", code: 901002, recorded: true},
		{name: "v1 without resource", req: func() *http.Request { return formRequest(v1, secretForm(sp, f.secret, "scope", "")) },
			status: 400, err: "invalid_resource", code: 500011, recorded: true},
		{name: "v1 resource not a URI", req: func() *http.Request {
			return formRequest(v1, secretForm(sp, f.secret, "scope", "", "resource", "management"))
		},
			status: 400, err: "invalid_resource", code: 500011, recorded: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			before := f.signIns()
			signedBefore := f.signer.signed.Load()
			req := tt.req()
			req.Header.Set("client-request-id", "0b4f1c4e-7a1e-4c39-9d0e-2c3f5a6b7c8d")
			r := f.do(req)

			if r.status != tt.status {
				t.Errorf("status = %d, want %d (body %s)", r.status, tt.status, r.raw)
			}
			if got := r.body["error"]; got != tt.err {
				t.Errorf("error = %v, want %q", got, tt.err)
			}
			wantCodes := []any{json.Number(fmt.Sprint(tt.code))}
			if diff := cmp.Diff(wantCodes, r.body["error_codes"]); diff != "" {
				t.Errorf("error_codes (-want +got):\n%s", diff)
			}
			desc, _ := r.body["error_description"].(string)
			if want := fmt.Sprintf("AADSTS%d: ", tt.code); !strings.HasPrefix(desc, want) {
				t.Errorf("error_description = %q, want prefix %q", desc, want)
			}
			if got, want := r.body["correlation_id"], "0b4f1c4e-7a1e-4c39-9d0e-2c3f5a6b7c8d"; got != want {
				t.Errorf("correlation_id = %v, want %v", got, want)
			}
			if _, ok := r.body["access_token"]; ok {
				t.Errorf("refusal carries an access_token")
			}
			if got := f.signer.signed.Load() - signedBefore; got != 0 {
				t.Errorf("%d tokens signed for a refused request", got)
			}
			if ct := r.header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}

			var added []string
			for id, rec := range f.signIns() {
				if _, ok := before[id]; !ok {
					added = append(added, id)
					if rec.Result != "failure" || rec.ErrorCode != fmt.Sprintf("AADSTS%d", tt.code) || rec.TokenID != "" {
						t.Errorf("sign-in record = %+v, want a failure with AADSTS%d and no token id", rec, tt.code)
					}
					if rec.CallerAddress != "127.0.0.1" {
						t.Errorf("sign-in caller address = %q, want 127.0.0.1", rec.CallerAddress)
					}
				}
			}
			want := 0
			if tt.recorded {
				want = 1
			}
			if len(added) != want {
				t.Errorf("%d sign-in records written, want %d", len(added), want)
			}
		})
	}
}
