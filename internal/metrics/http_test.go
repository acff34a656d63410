package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
)

// serve runs one request through the middleware and returns the response
// and the JSON log lines.
func serve(t *testing.T, o Options, h http.Handler, req *http.Request) (*http.Response, []map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	o.Logger = slog.New(slog.NewJSONHandler(&buf, nil))
	rec := httptest.NewRecorder()
	Middleware(o, h).ServeHTTP(rec, req)
	var lines []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
		if len(l) == 0 {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return rec.Result(), lines
}

func TestMiddlewareRequestIDs(t *testing.T) {
	guid := uuid.NewString()
	tests := []struct {
		name, sent, handlerEcho, want string
	}{
		{"GUID echoed", guid, "", guid},
		{"token echoed", "abc_123.x-y", "", "abc_123.x-y"},
		{"too long dropped", strings.Repeat("a", 65), "", ""},
		{"unsafe dropped", "a b<script>", "", ""},
		{"none sent", "", "", ""},
		// A part that echoes under looser rules is overruled.
		{"handler echo of bad id removed", "a\tb", "a\tb", ""},
		{"handler echo of good id kept", guid, guid, guid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.handlerEcho != "" {
					w.Header()["X-Ms-Client-Request-Id"] = []string{tt.handlerEcho}
				}
				w.WriteHeader(http.StatusAccepted)
			})
			req := httptest.NewRequest(http.MethodGet, "/x", nil)
			if tt.sent != "" {
				req.Header["X-Ms-Client-Request-Id"] = []string{tt.sent}
			}
			resp, lines := serve(t, Options{Service: "test"}, h, req)
			if got := resp.Header.Get(headerClientRequestID); got != tt.want {
				t.Errorf("x-ms-client-request-id = %q, want %q", got, tt.want)
			}
			id := resp.Header.Get(headerRequestID)
			if _, err := uuid.Parse(id); err != nil {
				t.Errorf("x-ms-request-id = %q, want a GUID", id)
			}
			if len(lines) != 1 {
				t.Fatalf("got %d log lines, want 1", len(lines))
			}
			if got := lines[0]["request_id"]; got != id {
				t.Errorf("logged request_id = %v, want the header's %q", got, id)
			}
			got, _ := lines[0]["client_request_id"].(string)
			if got != tt.want {
				t.Errorf("logged client_request_id = %q, want %q", got, tt.want)
			}
		})
	}
}

// A handler that sets its own request id (the control plane, Blob) has
// that id logged, so log and response agree.
func TestMiddlewareLogsHandlersRequestID(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(headerRequestID, "11111111-2222-3333-4444-555555555555")
		_, _ = w.Write([]byte("ok"))
	})
	resp, lines := serve(t, Options{Service: "test"}, h, httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := resp.Header.Get(headerRequestID), "11111111-2222-3333-4444-555555555555"; got != want {
		t.Errorf("header = %q, want %q", got, want)
	}
	if got, want := lines[0]["request_id"], "11111111-2222-3333-4444-555555555555"; got != want {
		t.Errorf("logged = %v, want %q", got, want)
	}
}

// The line carries the route class, never the path, query, headers or
// body: a secret's name, a SAS signature or a bearer token must not reach
// the log.
func TestMiddlewareNeverLogsRequestContent(t *testing.T) {
	const (
		bearer = "eyJhbGciOiJSUzI1NiJ9.c2VjcmV0LXRva2Vu.c2lnbmF0dXJl"
		name   = "db-password-prod"
		query  = "sig=SECRETSIGNATURE"
		body   = "client_secret=VERYSECRETVALUE"
		cookie = "session=COOKIEVALUE"
	)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	req := httptest.NewRequest(http.MethodPost, "https://kv.vault.localhost/secrets/"+name+"?"+query, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Cookie", cookie)
	var buf bytes.Buffer
	Middleware(Options{Service: "vault", Route: VaultRoute, Logger: slog.New(slog.NewTextHandler(&buf, nil))}, h).
		ServeHTTP(httptest.NewRecorder(), req)
	out := buf.String()
	for _, leak := range []string{bearer, "Bearer", "Authorization", name, query, "SECRETSIGNATURE", body, "VERYSECRETVALUE", "COOKIEVALUE"} {
		if strings.Contains(out, leak) {
			t.Errorf("log line contains %q:\n%s", leak, out)
		}
	}
	for _, want := range []string{"route=secrets/{name}", "status=403", "method=POST", "service=vault"} {
		if !strings.Contains(out, want) {
			t.Errorf("log line lacks %q:\n%s", want, out)
		}
	}
}

func TestMiddlewareStatusAndPanics(t *testing.T) {
	m := New()
	tests := []struct {
		name       string
		h          http.HandlerFunc
		wantStatus float64
		wantPanic  bool
	}{
		{"implicit 200", func(w http.ResponseWriter, r *http.Request) {}, 200, false},
		{"write", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("x")) }, 200, false},
		{"404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, 404, false},
		{"abort after headers", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
			panic(http.ErrAbortHandler)
		}, 200, true},
		{"panic before headers", func(w http.ResponseWriter, r *http.Request) { panic(errors.New("boom")) }, 500, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var lines []map[string]any
			panicked := func() (p bool) {
				defer func() { p = recover() != nil }()
				_, lines = serve(t, Options{Service: "test", Metrics: m}, tt.h, httptest.NewRequest(http.MethodGet, "/", nil))
				return false
			}()
			if panicked != tt.wantPanic {
				t.Fatalf("panicked = %v, want %v", panicked, tt.wantPanic)
			}
			if tt.wantPanic {
				return // serve did not return its lines; the count below covers it
			}
			if got := lines[0]["status"]; got != tt.wantStatus {
				t.Errorf("status = %v, want %v", got, tt.wantStatus)
			}
		})
	}
	got := map[string]uint64{}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "signet_http_request_duration_seconds" {
			continue
		}
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				if l.GetName() == "code" {
					got[l.GetValue()] += mt.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	if diff := cmp.Diff(map[string]uint64{"200": 3, "404": 1, "500": 1}, got); diff != "" {
		t.Errorf("requests by code (-want +got):\n%s", diff)
	}
}

func TestRouteClasses(t *testing.T) {
	tests := []struct {
		classify func(*http.Request) string
		method   string
		url      string
		want     string
	}{
		{LoginRoute, "POST", "/t/oauth2/v2.0/token", "token"},
		{LoginRoute, "POST", "/t/oauth2/token", "token"},
		{LoginRoute, "GET", "/t/v2.0/.well-known/openid-configuration", "discovery"},
		{LoginRoute, "GET", "/t/discovery/v2.0/keys", "keys"},
		{LoginRoute, "GET", "/anything/else", "other"},
		{ManagementRoute, "GET", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm", "resources"},
		{ManagementRoute, "GET", "/subscriptions/s/resourcegroups", "resourceGroups"},
		{ManagementRoute, "PUT", "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/x", "roleAssignments"},
		{ManagementRoute, "GET", "/subscriptions/s/providers/Signet.Audit/signIns", "audit"},
		{ManagementRoute, "GET", "/console/home", "console"},
		{MIRPRoute, "POST", "/mirp/v1/enroll", "enroll"},
		{MIRPRoute, "POST", "/mirp/v1/node/identities/abc/certificate", "certificate"},
		{VaultRoute, "GET", "/secrets/db-password", "secrets/{name}"},
		{VaultRoute, "GET", "/secrets/db-password/0123abcd", "secrets/{name}/{version}"},
		{VaultRoute, "GET", "/kv1/secrets/db-password/versions", "secrets/{name}/versions"},
		{VaultRoute, "POST", "/secrets/restore", "secrets/restore"},
		{VaultRoute, "GET", "/deletedsecrets", "deletedsecrets"},
		{VaultRoute, "GET", "/a/b/c/d/e", "other"},
		{BlobRoute, "PUT", "/acct/c/some/blob?comp=block&blockid=x", "blob?comp=block"},
		{BlobRoute, "PUT", "/acct/c?restype=container", "container"},
		{BlobRoute, "GET", "/acct/c?restype=container&comp=list", "container?comp=list"},
		{BlobRoute, "GET", "/acct/?comp=list", "account?comp=list"},
		{BlobRoute, "GET", "/acct/c/secret-name.txt", "blob"},
		{BlobRoute, "GET", "/acct/c/b?comp=" + strings.Repeat("x", 10), "other"},
		{AgentRoute, "GET", "/metadata/identity/oauth2/token?resource=x", "token"},
		{AgentRoute, "GET", "/msi/token", "token"},
		{AgentRoute, "GET", "/metadata/instance?api-version=1", "instance"},
	}
	for _, tt := range tests {
		got := tt.classify(httptest.NewRequest(tt.method, tt.url, nil))
		if got != tt.want {
			t.Errorf("%s %s: got %q, want %q", tt.method, tt.url, got, tt.want)
		}
	}
}
