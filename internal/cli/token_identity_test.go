package cli

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// agentFake plays the local agent's IMDS and App Service endpoints and
// records what the CLI sent.
type agentFake struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []agentRequest
	// answers are served in order; the last repeats.
	answers []agentAnswer
}

type agentRequest struct {
	Path, Metadata, IdentityHeader string
	Query                          map[string]string
}

type agentAnswer struct {
	status     int
	retryAfter string
	body       string
}

const miTenant = "7e000000-0000-4000-8000-00000000000a"

// miJWT is a token whose payload names a tenant; the CLI does not verify it.
var miJWT = "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(`{"tid":"`+miTenant+`"}`)) + ".sig"

func newAgentFake(t *testing.T, answers ...agentAnswer) *agentFake {
	f := &agentFake{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = strings.Join(v, ",")
		}
		f.mu.Lock()
		f.got = append(f.got, agentRequest{Path: r.URL.Path, Metadata: r.Header.Get("Metadata"),
			IdentityHeader: r.Header.Get("X-Identity-Header"), Query: q})
		a := f.answers[min(len(f.got), len(f.answers))-1]
		f.mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		w.Write([]byte(a.body))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *agentFake) requests() []agentRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]agentRequest(nil), f.got...)
}

func tokenBody(expiresOn int64) string {
	b, _ := json.Marshal(map[string]string{"access_token": miJWT, "expires_on": strconv.FormatInt(expiresOn, 10),
		"expires_in": "86400", "resource": "https://vault.azure.net", "token_type": "Bearer"})
	return string(b)
}

func TestTokenGetIdentity(t *testing.T) {
	exp := time.Now().Add(24 * time.Hour).Truncate(time.Second)
	ok := agentAnswer{status: 200, body: tokenBody(exp.Unix())}
	const uami = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/u"
	tests := []struct {
		name     string
		appSvc   bool // IDENTITY_ENDPOINT and IDENTITY_HEADER set, as under `signet run`
		args     []string
		answers  []agentAnswer
		want     []agentRequest
		wantErr  string // stderr; "" for success
		wantCode int
	}{
		{
			name: "IMDS, system-assigned", answers: []agentAnswer{ok},
			want: []agentRequest{{Path: imdsTokenPath, Metadata: "true",
				Query: map[string]string{"api-version": "2018-02-01", "resource": "https://vault.azure.net"}}},
		},
		{
			name: "IMDS, by resource id", args: []string{"--resource-id", uami}, answers: []agentAnswer{ok},
			want: []agentRequest{{Path: imdsTokenPath, Metadata: "true",
				Query: map[string]string{"api-version": "2018-02-01", "resource": "https://vault.azure.net", "msi_res_id": uami}}},
		},
		{
			name: "App Service, by client id", appSvc: true, args: []string{"--client-id", "c1"}, answers: []agentAnswer{ok},
			want: []agentRequest{{Path: "/msi/token", IdentityHeader: "app-secret",
				Query: map[string]string{"api-version": "2019-08-01", "resource": "https://vault.azure.net", "client_id": "c1"}}},
		},
		{
			name: "App Service, by resource id", appSvc: true, args: []string{"--resource-id", uami}, answers: []agentAnswer{ok},
			want: []agentRequest{{Path: "/msi/token", IdentityHeader: "app-secret",
				Query: map[string]string{"api-version": "2019-08-01", "resource": "https://vault.azure.net", "mi_res_id": uami}}},
		},
		{
			name: "retries a 503 with Retry-After", answers: []agentAnswer{{status: 503, retryAfter: "0", body: `{}`}, ok},
			want: []agentRequest{
				{Path: imdsTokenPath, Metadata: "true", Query: map[string]string{"api-version": "2018-02-01", "resource": "https://vault.azure.net"}},
				{Path: imdsTokenPath, Metadata: "true", Query: map[string]string{"api-version": "2018-02-01", "resource": "https://vault.azure.net"}},
			},
		},
		{
			name: "identity not found", args: []string{"--object-id", "o1"},
			answers: []agentAnswer{{status: 400, body: `{"error":"invalid_request","error_description":"Identity not found"}`}},
			want: []agentRequest{{Path: imdsTokenPath, Metadata: "true",
				Query: map[string]string{"api-version": "2018-02-01", "resource": "https://vault.azure.net", "object_id": "o1"}}},
			wantErr: "signet: managed identity endpoint answered 400: invalid_request: Identity not found\n", wantCode: exitError,
		},
		{
			name: "App Service error shape", appSvc: true,
			answers: []agentAnswer{{status: 403, body: `{"statusCode":403,"message":"The identity header does not match any application on this host"}`}},
			want: []agentRequest{{Path: "/msi/token", IdentityHeader: "app-secret",
				Query: map[string]string{"api-version": "2019-08-01", "resource": "https://vault.azure.net"}}},
			wantErr: "signet: managed identity endpoint answered 403: The identity header does not match any application on this host\n", wantCode: exitError,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newAgentFake(t, tt.answers...)
			env := map[string]string{"HOME": t.TempDir(), imdsAddrVar: strings.TrimPrefix(f.srv.URL, "http://")}
			if tt.appSvc {
				env["IDENTITY_ENDPOINT"], env["IDENTITY_HEADER"] = f.srv.URL+"/msi/token", "app-secret"
			}
			res := run(t, env, append([]string{"token", "get", "--identity", "--resource", "https://vault.azure.net", "--output", "json"}, tt.args...)...)
			if diff := cmp.Diff(tt.want, f.requests()); diff != "" {
				t.Errorf("requests to the agent (-want +got):\n%s", diff)
			}
			if tt.wantErr != "" {
				if res.code != tt.wantCode || res.stderr != tt.wantErr {
					t.Errorf("exit %d stderr %q, want exit %d stderr %q", res.code, res.stderr, tt.wantCode, tt.wantErr)
				}
				return
			}
			if res.code != 0 || res.stderr != "" {
				t.Fatalf("exit %d stderr %q", res.code, res.stderr)
			}
			var got tokenOutput
			if err := json.Unmarshal([]byte(res.stdout), &got); err != nil {
				t.Fatal(err)
			}
			want := tokenOutput{AccessToken: miJWT, ExpiresOn: exp.UTC().Format(time.RFC3339), ExpiresOnTS: exp.Unix(),
				TokenType: "Bearer", Tenant: miTenant}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTokenGetIdentityUsage(t *testing.T) {
	env := map[string]string{"HOME": t.TempDir(), imdsAddrVar: "127.0.0.1:1"}
	for _, tt := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"--client-id", "c"}, "signet: --client-id, --object-id and --resource-id need --identity\n"},
		{[]string{"--identity", "--client-id", "c", "--object-id", "o"}, "signet: give at most one of --client-id, --object-id and --resource-id\n"},
	} {
		res := run(t, env, append([]string{"token", "get"}, tt.args...)...)
		if res.code != exitUsage || !strings.HasPrefix(res.stderr, tt.wantErr) {
			t.Errorf("token get %v: exit %d stderr %q, want exit 2 and %q", tt.args, res.code, res.stderr, tt.wantErr)
		}
	}
	res := run(t, env, "token", "get", "--identity")
	if res.code != exitError || !strings.Contains(res.stderr, "is `signet agent` running?") {
		t.Errorf("no agent: exit %d stderr %q, want a hint that no agent answered", res.code, res.stderr)
	}
}
