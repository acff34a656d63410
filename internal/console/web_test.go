package console

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/client"
)

const origin = "https://console.test"

// newTestServer is a console whose services are never reached: these tests
// stop at the session and CSRF checks, before any call goes out.
func newTestServer(t *testing.T) *Server {
	t.Helper()
	cfg := client.Config{ManagementURL: origin, AuthorityHost: "https://login.test", TenantID: "t", SubscriptionID: "s"}
	return &Server{Base: cfg, DevAdmin: &cfg}
}

// signIn puts a session straight into the store.
func signIn(t *testing.T, s *Server) *session {
	t.Helper()
	s.init()
	c, err := client.New(s.Base)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := s.sessions.create(c, "operator")
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func do(s *Server, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, r)
	return w
}

func postForm(path string, form url.Values) *http.Request {
	r := httptest.NewRequest(http.MethodPost, origin+path, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

func TestNoSessionGoesToSignIn(t *testing.T) {
	s := newTestServer(t)
	for _, p := range []string{"/console/", "/console/identities", "/console/roles", "/console/signins", "/console/identities/abc"} {
		w := do(s, httptest.NewRequest(http.MethodGet, origin+p, nil))
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/console/login" {
			t.Errorf("GET %s: %d to %q, want 303 to /console/login", p, w.Code, w.Header().Get("Location"))
		}
	}
	// A forged or stale cookie is no session either.
	r := httptest.NewRequest(http.MethodGet, origin+"/console/", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: "forged"})
	if w := do(s, r); w.Code != http.StatusSeeOther {
		t.Errorf("forged cookie: %d, want 303", w.Code)
	}
	for _, p := range []string{"/console/identities", "/console/roles", "/console/roles/delete", "/console/logout"} {
		w := do(s, postForm(p, url.Values{"csrf": {"x"}}))
		if w.Code != http.StatusUnauthorized {
			t.Errorf("POST %s without a session: %d, want 401", p, w.Code)
		}
	}
}

// wrongLast is token with its last character changed (always changed: the
// last character of 32 bytes in base64url is one of 16, so a fixed
// replacement would match one token in 16).
func wrongLast(token string) string {
	last := token[len(token)-1]
	repl := "A"
	if last == 'A' {
		repl = "Q"
	}
	return token[:len(token)-1] + repl
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	tests := []struct {
		name    string
		csrf    func(*session) string
		headers map[string]string
		want    int
	}{
		{"same origin with the token", func(s *session) string { return s.csrf }, map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"no browser headers, with the token", func(s *session) string { return s.csrf }, nil, http.StatusSeeOther},
		{"missing token", func(*session) string { return "" }, map[string]string{"Origin": origin}, http.StatusForbidden},
		{"wrong token", func(s *session) string { return wrongLast(s.csrf) }, map[string]string{"Origin": origin}, http.StatusForbidden},
		{"another session's token", func(*session) string { return "Zm9yZ2Vk" }, nil, http.StatusForbidden},
		{"foreign Origin", func(s *session) string { return s.csrf }, map[string]string{"Origin": "https://evil.test"}, http.StatusForbidden},
		{"Sec-Fetch-Site cross-site", func(s *session) string { return s.csrf }, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"Sec-Fetch-Site same-site", func(s *session) string { return s.csrf }, map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://sub.console.test"}, http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t)
			sess := signIn(t, s)
			// Logout is the state change under test: it ends the session.
			r := postForm("/console/logout", url.Values{"csrf": {tt.csrf(sess)}})
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: sess.id})
			for k, v := range tt.headers {
				r.Header.Set(k, v)
			}
			w := do(s, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d", w.Code, tt.want)
			}
			ended := s.sessions.get(sess.id) == nil
			if wantEnded := tt.want == http.StatusSeeOther; ended != wantEnded {
				t.Errorf("session ended = %v, want %v", ended, wantEnded)
			}
		})
	}
}

func TestLoginFormNeedsItsCSRFCookie(t *testing.T) {
	s := newTestServer(t)
	s.init()
	code, err := s.codes.issue()
	if err != nil {
		t.Fatal(err)
	}
	// A cross-site page cannot read the login cookie, so it cannot echo it:
	// the code must survive the forged attempt.
	r := postForm("/console/login", url.Values{"csrf": {"guess"}, "code": {code}})
	r.AddCookie(&http.Cookie{Name: loginCookie, Value: "the-real-one"})
	if w := do(s, r); w.Code != http.StatusForbidden {
		t.Fatalf("login with a mismatched token: %d, want 403", w.Code)
	}
	r = postForm("/console/login", url.Values{"csrf": {"x"}, "code": {code}})
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if w := do(s, r); w.Code != http.StatusForbidden {
		t.Fatalf("cross-site login: %d, want 403", w.Code)
	}
	if !s.codes.redeem(code) {
		t.Error("a refused login spent the one-time code")
	}
	if s.sessions.len() != 0 {
		t.Error("a refused login made a session")
	}
}

func TestSecurityHeaders(t *testing.T) {
	s := newTestServer(t)
	sess := signIn(t, s)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"Cache-Control":           "no-store",
		"X-Frame-Options":         "DENY",
	}
	reqs := map[string]*http.Request{
		"login page":   httptest.NewRequest(http.MethodGet, origin+"/console/login", nil),
		"redirect":     httptest.NewRequest(http.MethodGet, origin+"/console/", nil),
		"not found":    httptest.NewRequest(http.MethodGet, origin+"/console/nope", nil),
		"refused post": postForm("/console/logout", url.Values{}),
		"stale csrf":   withCookie(postForm("/console/logout", url.Values{"csrf": {"x"}}), sess.id),
		"cross-site": func() *http.Request {
			r := postForm("/console/login", nil)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			return r
		}(),
		"stylesheet 404": httptest.NewRequest(http.MethodGet, origin+"/console/static/nope.css", nil),
	}
	for name, r := range reqs {
		w := do(s, r)
		got := map[string]string{}
		for k := range want {
			got[k] = w.Header().Get(k)
		}
		if name == "stylesheet 404" {
			delete(got, "Cache-Control")
		}
		wantHere := maps(want, name == "stylesheet 404")
		if d := cmp.Diff(wantHere, got); d != "" {
			t.Errorf("%s: headers (-want +got):\n%s", name, d)
		}
	}
	w := do(s, httptest.NewRequest(http.MethodGet, origin+"/console/static/style.css", nil))
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/css") {
		t.Errorf("stylesheet: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
	if w.Header().Get("X-Content-Type-Options") != "nosniff" {
		t.Error("stylesheet without nosniff")
	}
}

func maps(m map[string]string, dropCache bool) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if dropCache && k == "Cache-Control" {
			continue
		}
		out[k] = v
	}
	return out
}

func withCookie(r *http.Request, id string) *http.Request {
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: id})
	return r
}

func TestLoginPageCookie(t *testing.T) {
	s := newTestServer(t)
	w := do(s, httptest.NewRequest(http.MethodGet, origin+"/console/login?code=abc", nil))
	if w.Code != http.StatusOK {
		t.Fatalf("login page: %d", w.Code)
	}
	var c *http.Cookie
	for _, ck := range w.Result().Cookies() {
		if ck.Name == loginCookie {
			c = ck
		}
	}
	if c == nil || !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Domain != "" {
		t.Fatalf("login cookie %+v: want __Host-, Secure, HttpOnly, SameSite=Strict, Path=/", c)
	}
	body := w.Body.String()
	if !strings.Contains(body, `name="csrf" value="`+c.Value+`"`) || !strings.Contains(body, `name="code" value="abc"`) {
		t.Error("the sign-in form does not carry its token and the code")
	}
}

// TestTemplatesEscapeHostileNames: names come from the control plane,
// which any principal with write access can fill; they must render inert.
func TestTemplatesEscapeHostileNames(t *testing.T) {
	s := newTestServer(t)
	sess := signIn(t, s)
	hostile := `<script>alert(1)</script>`
	attr := `x" onmouseover="alert(1)`
	v := identitiesView{Groups: []string{hostile}, Identities: []identityRow{{
		Kind: "User-assigned", Name: hostile, ResourceID: "/subscriptions/s/resourceGroups/" + attr + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/x",
		PrincipalID: `javascript:alert(1)`, ClientID: hostile,
		AssignedTo: []string{"/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/" + hostile},
		Roles:      []roleRow{{RoleName: hostile, Scope: attr}},
	}}}
	w := httptest.NewRecorder()
	s.render(w, httptest.NewRequest(http.MethodGet, origin+"/console/identities", nil), http.StatusOK, "identities", sess, hostile, v)
	body := w.Body.String()
	for _, bad := range []string{"<script>", `" onmouseover="`, `href="/console/identities/javascript:`} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains %q unescaped", bad)
		}
	}
	if !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("the hostile name is not shown escaped")
	}
}

func TestEveryPageRenders(t *testing.T) {
	s := newTestServer(t)
	sess := signIn(t, s)
	data := map[string]any{
		"overview":   overviewView{Chart: hourlyChart(nil, fixedHour)},
		"identities": identitiesView{},
		"identity":   identityView{Identity: identityRow{Kind: "User-assigned", Name: "id"}},
		"resources":  resourcesView{},
		"roles":      rolesView{},
		"signins":    logView{},
		"activity":   logView{},
		"access":     logView{Note: "none"},
		"login":      loginView{},
		"error":      "oops",
	}
	for name := range s.pages {
		d, ok := data[name]
		if !ok {
			t.Errorf("page %s has no render test", name)
			continue
		}
		var buf bytes.Buffer
		if err := s.pages[name].execute(&buf, view{Title: name, Page: name, Signed: true, CSRF: sess.csrf, Data: d}); err != nil {
			t.Errorf("page %s: %v", name, err)
		}
	}
}

// TestRefusalsArePolite: what the control plane refuses is shown with its
// status and a message that says what to do; internal failures are not
// described to the browser.
func TestRefusalsArePolite(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantText   string
		notText    string
	}{
		{"forbidden", &client.Error{StatusCode: 403, Code: "AuthorizationFailed", Message: "no write"}, 403, "not allowed to do this", ""},
		{"not found", &client.Error{StatusCode: 404, Code: "ResourceNotFound", Message: "gone"}, 404, "ResourceNotFound: gone", ""},
		{"control plane down", &client.Error{StatusCode: 503, Code: "Busy"}, 502, "failed to answer", ""},
		{"internal", errors.New("secret detail of a bug"), 500, "Something went wrong", "secret detail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t)
			sess := signIn(t, s)
			w := httptest.NewRecorder()
			s.renderError(w, httptest.NewRequest(http.MethodGet, origin+"/console/roles", nil), sess, tt.err)
			if w.Code != tt.wantStatus {
				t.Errorf("status %d, want %d", w.Code, tt.wantStatus)
			}
			if body := w.Body.String(); !strings.Contains(body, tt.wantText) || tt.notText != "" && strings.Contains(body, tt.notText) {
				t.Errorf("body does not say %q (or leaks %q):\n%s", tt.wantText, tt.notText, body)
			}
		})
	}
}
