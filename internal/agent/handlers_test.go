package agent

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type reqSpec struct {
	method, target, remote string
	header                 map[string]string
}

func do(h http.Handler, rs reqSpec) *httptest.ResponseRecorder {
	if rs.method == "" {
		rs.method = http.MethodGet
	}
	r := httptest.NewRequest(rs.method, rs.target, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	if rs.remote != "" {
		r.RemoteAddr = rs.remote
	}
	for k, v := range rs.header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("body %q: %v", w.Body.String(), err)
	}
	return m
}

var md = map[string]string{"Metadata": "true"}

func withMD(kv ...string) map[string]string {
	h := map[string]string{"Metadata": "true"}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i]] = kv[i+1]
	}
	return h
}

func errBody(code, desc string) map[string]any {
	return map[string]any{"error": code, "error_description": desc}
}

const tokenPath = "/metadata/identity/oauth2/token"

func TestIMDSBadRequests(t *testing.T) {
	a := newTestAgent(t)
	_, hostUser, _, appUser := testIdentities(t)
	ok := tokenPath + "?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
	versionErr := func(msg string) map[string]any {
		return map[string]any{"error": msg, "newest-versions": []any{"2025-04-07", "2024-07-17", "2023-07-01"}}
	}
	for _, tc := range []struct {
		name       string
		req        reqSpec
		wantStatus int
		wantBody   map[string]any // nil: not compared
	}{
		{"probe", reqSpec{target: tokenPath}, 400, errBody("bad_request_102", "Required metadata header not specified")},
		{"no metadata header", reqSpec{target: ok}, 400, errBody("bad_request_102", "Required metadata header not specified")},
		{"metadata True", reqSpec{target: ok, header: map[string]string{"Metadata": "True"}}, 400, errBody("bad_request_102", "Required metadata header not specified")},
		{"x-forwarded-for", reqSpec{target: ok, header: withMD("X-Forwarded-For", "10.1.1.1")}, 400,
			errBody("bad_request_proxied", "Requests carrying X-Forwarded-For, Forwarded or Via headers are refused")},
		{"forwarded", reqSpec{target: ok, header: withMD("Forwarded", "for=10.1.1.1")}, 400, nil},
		{"via", reqSpec{target: ok, header: withMD("Via", "1.1 proxy")}, 400, nil},
		{"foreign source", reqSpec{target: ok, header: md, remote: "10.9.9.9:1234"}, 403,
			errBody("forbidden", "Requests are accepted only from this host")},
		{"post", reqSpec{method: http.MethodPost, target: ok, header: md}, 405, errBody("method_not_allowed", "Only GET is supported")},
		{"unknown path", reqSpec{target: "/metadata/other", header: md}, 404, nil},
		{"no api-version", reqSpec{target: tokenPath + "?resource=x", header: md}, 400,
			versionErr("Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds")},
		{"old api-version", reqSpec{target: tokenPath + "?api-version=2017-12-01&resource=x", header: md}, 400,
			versionErr("Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds")},
		{"bad api-version", reqSpec{target: tokenPath + "?api-version=2019-13-45&resource=x", header: md}, 400, nil},
		{"no resource", reqSpec{target: tokenPath + "?api-version=2018-02-01", header: md}, 400,
			errBody("invalid_request", "Required query variable 'resource' is missing")},
		{"duplicate resource", reqSpec{target: ok + "&resource=y", header: md}, 400,
			errBody("invalid_request", "Malformed query string: duplicate query parameter")},
		{"duplicate api-version", reqSpec{target: ok + "&api-version=2018-02-01", header: md}, 400, nil},
		{"bad escape", reqSpec{target: ok + "&client_id=%zz", header: md}, 400,
			errBody("invalid_request", "Malformed query string: malformed query string")},
		{"semicolon", reqSpec{target: ok + ";client_id=x", header: md}, 400, nil},
		{"control character", reqSpec{target: ok + "&client_id=a%0Ab", header: md}, 400, nil},
		{"oversized", reqSpec{target: ok + "&pad=" + strings.Repeat("a", 4096), header: md}, 400,
			errBody("invalid_request", "Malformed query string: query string too long")},
		{"too many params", reqSpec{target: ok + strings.Repeat("&p", 1) + func() string {
			var b strings.Builder
			for i := range 20 {
				b.WriteString("&p" + strconv.Itoa(i) + "=1")
			}
			return b.String()
		}(), header: md}, 400, nil},
		{"two selectors", reqSpec{target: ok + "&client_id=" + hostUser.ClientID + "&object_id=" + hostUser.ObjectID, header: md}, 400,
			errBody("invalid_request", "Only one of client_id, object_id, msi_res_id, mi_res_id may be specified")},
		{"unknown client_id", reqSpec{target: ok + "&client_id=99999999-9999-4999-8999-999999999999", header: md}, 400,
			errBody("invalid_request", "Identity not found")},
		{"unknown object_id", reqSpec{target: ok + "&object_id=99999999-9999-4999-8999-999999999999", header: md}, 400,
			errBody("invalid_request", "Identity not found")},
		{"unknown msi_res_id", reqSpec{target: ok + "&msi_res_id=%2Fsubscriptions%2Fx", header: md}, 400,
			errBody("invalid_request", "Identity not found")},
		{"app's identity is not the host's", reqSpec{target: ok + "&client_id=" + appUser.ClientID, header: md}, 400,
			errBody("invalid_request", "Identity not found")},
		{"instance without header", reqSpec{target: "/metadata/instance?api-version=2021-02-01"}, 400, nil},
		{"instance without version", reqSpec{target: "/metadata/instance", header: md}, 400, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(a.imds, tc.req)
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tc.wantStatus, w.Body)
			}
			got := decode(t, w)
			if tc.wantBody != nil {
				if diff := cmp.Diff(tc.wantBody, got); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
		})
	}
	if got := a.sts.calls.Load(); got != 0 {
		t.Errorf("bad requests reached the STS %d times", got)
	}
}

func TestIMDSSuccess(t *testing.T) {
	a := newTestAgent(t)
	hostSystem, hostUser, _, _ := testIdentities(t)
	for _, tc := range []struct {
		name, query string
		want        Identity
	}{
		{"system", "", hostSystem},
		{"client_id upper-case", "&client_id=" + strings.ToUpper(hostUser.ClientID), hostUser},
		{"object_id", "&object_id=" + hostUser.ObjectID, hostUser},
		{"msi_res_id", "&msi_res_id=" + hostUser.ResourceID, hostUser},
		{"mi_res_id", "&mi_res_id=" + strings.ToLower(hostUser.ResourceID), hostUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The resource is echoed exactly, trailing slash and all.
			resource := "https://management.core.windows.net/"
			w := do(a.imds, reqSpec{target: tokenPath + "?api-version=2019-08-15&resource=" + resource + tc.query, header: md})
			if w.Code != 200 {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			got := decode(t, w)
			for k, v := range got {
				if _, ok := v.(string); !ok {
					t.Errorf("%s = %v (%T), want a string", k, v, v)
				}
			}
			now := time.Now().Unix()
			want := map[string]any{
				"access_token":   "tok." + tc.want.ClientID + ".https://management.core.windows.net/.default.",
				"client_id":      tc.want.ClientID,
				"expires_in":     "86400",
				"expires_on":     strconv.FormatInt(now+86400, 10),
				"ext_expires_in": "86400",
				"not_before":     strconv.FormatInt(now, 10),
				"refresh_in":     "43200",
				"resource":       resource,
				"token_type":     "Bearer",
			}
			// Times may tick over a second; tokens carry a serial number.
			approx := cmp.Comparer(func(x, y string) bool {
				if strings.HasPrefix(x, "tok.") || strings.HasPrefix(y, "tok.") {
					return strings.HasPrefix(x, y) || strings.HasPrefix(y, x)
				}
				xi, xerr := strconv.ParseInt(x, 10, 64)
				yi, yerr := strconv.ParseInt(y, 10, 64)
				if xerr == nil && yerr == nil {
					return xi-yi <= 1 && yi-xi <= 1
				}
				return x == y
			})
			if diff := cmp.Diff(want, got, approx); diff != "" {
				t.Errorf("body (-want +got):\n%s", diff)
			}
		})
	}
	// Both spellings of the resource share one token.
	w1 := decode(t, do(a.imds, reqSpec{target: tokenPath + "?api-version=2018-02-01&resource=https://vault.azure.net", header: md}))
	w2 := decode(t, do(a.imds, reqSpec{target: tokenPath + "?api-version=2018-02-01&resource=https://vault.azure.net/", header: md}))
	if w1["access_token"] != w2["access_token"] || w2["resource"] != "https://vault.azure.net/" {
		t.Errorf("trailing slash: tokens %v and %v, resource %v", w1["access_token"], w2["access_token"], w2["resource"])
	}
}

func TestIMDSSourceAllowList(t *testing.T) {
	a := newTestAgent(t)
	a.imds.Sources.Allowed = []netip.Prefix{netip.MustParsePrefix("172.17.0.0/16")}
	target := tokenPath + "?api-version=2018-02-01&resource=https://vault.azure.net"
	for remote, want := range map[string]int{
		"172.17.0.5:5000":       200,
		"172.18.0.5:5000":       403,
		"[::1]:5000":            200,
		"[fe80::1]:5000":        403,
		"not-an-address":        403,
		"[::ffff:172.17.0.9]:1": 200,
	} {
		if got := do(a.imds, reqSpec{target: target, header: md, remote: remote}).Code; got != want {
			t.Errorf("from %s: status %d, want %d", remote, got, want)
		}
	}
}

func TestIMDSInstance(t *testing.T) {
	a := newTestAgent(t)
	w := do(a.imds, reqSpec{target: "/metadata/instance?api-version=2021-02-01&format=json", header: md})
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	want := map[string]any{"compute": map[string]any{
		"name": "host1", "resourceId": testHost, "subscriptionId": "0b1f6471-1bf0-4dda-aec3-111122223333",
		"resourceGroupName": "rg", "location": "local", "vmId": "vm-1",
	}}
	if diff := cmp.Diff(want, decode(t, w)); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

func TestIMDSRateLimit(t *testing.T) {
	a := newTestAgent(t)
	a.imds.RateLimit = NewRateLimit(3, 5)
	target := tokenPath + "?api-version=2018-02-01&resource=https://vault.azure.net"
	var codes []int
	for range 5 {
		codes = append(codes, do(a.imds, reqSpec{target: target, header: md}).Code)
	}
	if diff := cmp.Diff([]int{200, 200, 200, 429, 429}, codes); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	w := do(a.imds, reqSpec{target: target, header: md})
	if w.Header().Get("Retry-After") != "1" {
		t.Errorf("Retry-After = %q, want 1", w.Header().Get("Retry-After"))
	}
}

func TestAppService(t *testing.T) {
	a := newTestAgent(t)
	_, hostUser, appSystem, appUser := testIdentities(t)
	base := "/msi/token?api-version=2019-08-01&resource=https://vault.azure.net"
	hdr := map[string]string{"X-IDENTITY-HEADER": a.secret}
	for _, tc := range []struct {
		name       string
		req        reqSpec
		wantStatus int
		wantMsg    string
		wantClient string
	}{
		{"system", reqSpec{target: base, header: hdr}, 200, "", appSystem.ClientID},
		{"client_id", reqSpec{target: base + "&client_id=" + appUser.ClientID, header: hdr}, 200, "", appUser.ClientID},
		{"principal_id", reqSpec{target: base + "&principal_id=" + appUser.ObjectID, header: hdr}, 200, "", appUser.ClientID},
		{"mi_res_id", reqSpec{target: base + "&mi_res_id=" + appUser.ResourceID, header: hdr}, 200, "", appUser.ClientID},
		{"legacy", reqSpec{target: "/msi/token?api-version=2017-09-01&resource=https://vault.azure.net&clientid=" + appUser.ClientID,
			header: map[string]string{"secret": a.secret}}, 200, "", appUser.ClientID},
		{"legacy empty clientid", reqSpec{target: "/msi/token?api-version=2017-09-01&resource=https://vault.azure.net&clientid=",
			header: map[string]string{"secret": a.secret}}, 200, "", appSystem.ClientID},
		{"missing header", reqSpec{target: base}, 401, "The X-IDENTITY-HEADER header is missing", ""},
		{"wrong header", reqSpec{target: base, header: map[string]string{"X-IDENTITY-HEADER": "nope"}}, 403,
			"The identity header does not match any application on this host", ""},
		{"legacy with new header", reqSpec{target: "/msi/token?api-version=2017-09-01&resource=x", header: hdr}, 401, "The secret header is missing", ""},
		{"bad api-version", reqSpec{target: "/msi/token?api-version=2018-02-01&resource=x", header: hdr}, 400, "", ""},
		{"no resource", reqSpec{target: "/msi/token?api-version=2019-08-01", header: hdr}, 400, "The resource query parameter is required", ""},
		{"host identity from app", reqSpec{target: base + "&client_id=" + hostUser.ClientID, header: hdr}, 400, "Identity not found", ""},
		{"proxied", reqSpec{target: base, header: map[string]string{"X-IDENTITY-HEADER": a.secret, "X-Forwarded-For": "1.2.3.4"}}, 400, "", ""},
		{"post", reqSpec{method: http.MethodPost, target: base, header: hdr}, 405, "Only GET is supported", ""},
		{"duplicate", reqSpec{target: base + "&resource=y", header: hdr}, 400, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := do(a.app, tc.req)
			if w.Code != tc.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tc.wantStatus, w.Body)
			}
			got := decode(t, w)
			if tc.wantStatus != 200 {
				if got["statusCode"] != float64(tc.wantStatus) || got["correlationId"] == "" {
					t.Errorf("error body %v, want statusCode %d and a correlationId", got, tc.wantStatus)
				}
				if tc.wantMsg != "" && got["message"] != tc.wantMsg {
					t.Errorf("message = %q, want %q", got["message"], tc.wantMsg)
				}
				return
			}
			// expires_in is an integer, expires_on unix seconds in a string
			// (what both MSAL Go and msal-node parse, reference §2).
			if _, ok := got["expires_in"].(float64); !ok {
				t.Errorf("expires_in = %#v, want a number", got["expires_in"])
			}
			if s, ok := got["expires_on"].(string); !ok || len(s) != 10 {
				t.Errorf("expires_on = %#v, want unix seconds as a string", got["expires_on"])
			}
			if got["client_id"] != tc.wantClient || got["token_type"] != "Bearer" || got["resource"] != "https://vault.azure.net" {
				t.Errorf("body %v, want client %s", got, tc.wantClient)
			}
		})
	}
}

func TestArcChallenge(t *testing.T) {
	a := newTestAgent(t)
	_, hostUser, _, _ := testIdentities(t)
	target := ArcTokenPath + "?api-version=2020-06-01&resource=https://vault.azure.net&client_id=" + hostUser.ClientID

	challenge := func() (path, contents string) {
		t.Helper()
		w := do(a.arc, reqSpec{target: target, header: md})
		if w.Code != 401 {
			t.Fatalf("status %d, want 401: %s", w.Code, w.Body)
		}
		path, ok := strings.CutPrefix(w.Header().Get("WWW-Authenticate"), "Basic realm=")
		if !ok || filepath.Dir(path) != a.arc.KeyDir || !strings.HasSuffix(path, ".key") {
			t.Fatalf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 || fi.Size() > 4096 || fi.Size() < 32 {
			t.Errorf("key file mode %v size %d", fi.Mode().Perm(), fi.Size())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return path, string(b)
	}

	path, key := challenge()
	w := do(a.arc, reqSpec{target: target, header: withMD("Authorization", "Basic "+key)})
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := decode(t, w)
	for k, want := range map[string]string{"client_id": hostUser.ClientID, "object_id": hostUser.ObjectID, "msi_res_id": hostUser.ResourceID} {
		if got[k] != want {
			t.Errorf("%s = %v, want %s (the identity echo azidentity requires)", k, got[k], want)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("key file still exists after use: %v", err)
	}
	// Single use: the same key again gets a fresh challenge.
	w = do(a.arc, reqSpec{target: target, header: withMD("Authorization", "Basic "+key)})
	if w.Code != 401 || strings.Contains(w.Header().Get("WWW-Authenticate"), path) {
		t.Errorf("reused key: status %d, challenge %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	for _, auth := range []string{"Basic wrong", "Bearer " + key, "Basic ", key} {
		if w := do(a.arc, reqSpec{target: target, header: withMD("Authorization", auth)}); w.Code != 401 {
			t.Errorf("Authorization %q: status %d, want 401", auth, w.Code)
		}
	}
	if w := do(a.arc, reqSpec{target: target}); w.Code != 400 {
		t.Errorf("no Metadata header: status %d, want 400", w.Code)
	}
	// An unknown identity is a final 400 once the caller has proved itself.
	_, key = challenge()
	w = do(a.arc, reqSpec{target: strings.Replace(target, hostUser.ClientID, "99999999-9999-4999-8999-999999999999", 1),
		header: withMD("Authorization", "Basic "+key)})
	if diff := cmp.Diff(errBody("invalid_request", "Identity not found"), decode(t, w)); w.Code != 400 || diff != "" {
		t.Errorf("unknown identity: status %d, body (-want +got):\n%s", w.Code, diff)
	}
}

func TestArcPendingKeysBounded(t *testing.T) {
	a := newTestAgent(t)
	a.arc.MaxPendingKeys = 3
	target := ArcTokenPath + "?api-version=2020-06-01&resource=x"
	var codes []int
	for range 4 {
		codes = append(codes, do(a.arc, reqSpec{target: target, header: md}).Code)
	}
	if diff := cmp.Diff([]int{401, 401, 401, 429}, codes); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	a.arc.Close()
	left, _ := os.ReadDir(a.arc.KeyDir)
	if len(left) != 0 {
		t.Errorf("%d key files left after Close", len(left))
	}
}

func TestArcRefusesUnsafeKeyDir(t *testing.T) {
	a := newTestAgent(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	a.arc.KeyDir = dir
	w := do(a.arc, reqSpec{target: ArcTokenPath + "?api-version=2020-06-01&resource=x", header: md})
	if w.Code != 500 || w.Header().Get("WWW-Authenticate") != "" {
		t.Errorf("status %d, challenge %q; want 500 and none", w.Code, w.Header().Get("WWW-Authenticate"))
	}
}

// Set (a restored secret) and Issue share one table: a later secret for an
// app replaces the earlier one, whichever made it, and Revoke forgets it.
func TestAppSecretTableSet(t *testing.T) {
	tab := NewAppSecretTable()
	tab.Set("", "host-secret")
	tab.Set(testApp, "restored")
	issued, err := tab.Issue(testApp)
	if err != nil {
		t.Fatal(err)
	}
	tab.Revoke("")
	for _, tc := range []struct {
		secret, app string
		ok          bool
	}{
		{"restored", "", false}, // replaced by Issue
		{issued, testApp, true},
		{"host-secret", "", false}, // revoked
	} {
		app, ok := tab.AppForSecret(tc.secret)
		if app != tc.app || ok != tc.ok {
			t.Errorf("AppForSecret(%q) = %q, %v; want %q, %v", tc.secret, app, ok, tc.app, tc.ok)
		}
	}
}
