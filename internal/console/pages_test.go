package console_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/server"
)

// These tests drive the console on a real `signet dev` (in process, free
// ports), through HTTPS with a cookie jar, as a browser would. They live in
// an external package: the server imports the console.

func startSignet(t *testing.T) *server.Running {
	t.Helper()
	r, err := server.Start(context.Background(), server.Config{
		Dev: true, DataDir: t.TempDir(),
		STSAddr: "127.0.0.1:0", ARMAddr: "127.0.0.1:0", MIRPAddr: "127.0.0.1:0",
		VaultAddr: "127.0.0.1:0", BlobAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatalf("starting signet: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// browser is an HTTPS client with a cookie jar that sends the headers a
// browser sends on same-origin form posts, and does not follow redirects
// by itself so tests can see them.
type browser struct {
	t    *testing.T
	base string // the management URL
	c    *http.Client
}

func newBrowser(t *testing.T, r *server.Running) *browser {
	t.Helper()
	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &browser{t: t, base: r.ARMURL, c: &http.Client{
		Transport: tr, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type page struct {
	status   int
	location string
	body     string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body)}
}

func (b *browser) get(pathOrURL string) page {
	b.t.Helper()
	if strings.HasPrefix(pathOrURL, "/") {
		pathOrURL = b.base + pathOrURL
	}
	req, _ := http.NewRequest(http.MethodGet, pathOrURL, nil)
	return b.do(req)
}

// post sends a form as a same-origin browser page would, with the CSRF
// token found on from.
func (b *browser) post(path string, from page, form url.Values) page {
	b.t.Helper()
	form = maps.Clone(form)
	if form == nil {
		form = url.Values{}
	}
	if m := csrfRE.FindStringSubmatch(from.body); m != nil && form.Get("csrf") == "" {
		form.Set("csrf", m[1])
	}
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return b.do(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// devLogin signs b in with a fresh one-time link.
func devLogin(t *testing.T, r *server.Running, b *browser) page {
	t.Helper()
	link, err := r.ConsoleLoginURL()
	if err != nil {
		t.Fatal(err)
	}
	form := b.get(link)
	code := regexp.MustCompile(`name="code" value="([^"]+)"`).FindStringSubmatch(form.body)
	if form.status != http.StatusOK || code == nil {
		t.Fatalf("login link: %d, code field found: %v", form.status, code != nil)
	}
	// The link page itself signed nothing in: GET never changes state.
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Fatalf("signed in by merely opening the link: %d", p.status)
	}
	p := b.post("/console/login", form, url.Values{"code": {code[1]}})
	if p.status != http.StatusSeeOther || p.location != "/console/" {
		t.Fatalf("redeeming the link: %d to %q: %s", p.status, p.location, p.body)
	}
	return b.get("/console/")
}

func TestDevLoginLinkIsSingleUse(t *testing.T) {
	r := startSignet(t)
	link, err := r.ConsoleLoginURL()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, r.ARMURL+"/console/login?code=") {
		t.Fatalf("login link %q is not on the management listener", link)
	}
	first, second := newBrowser(t, r), newBrowser(t, r)
	code := url.Values{"code": {strings.TrimPrefix(link, r.ARMURL+"/console/login?code=")}}
	f1, f2 := first.get(link), second.get(link)
	if p := first.post("/console/login", f1, code); p.status != http.StatusSeeOther {
		t.Fatalf("first use: %d", p.status)
	}
	p := second.post("/console/login", f2, code)
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "used up or expired") {
		t.Fatalf("second use: %d, want 401 with an explanation", p.status)
	}
	if p := second.get("/console/"); p.status != http.StatusSeeOther {
		t.Errorf("the second browser got a session: %d", p.status)
	}
	if p := first.get("/console/"); p.status != http.StatusOK || !strings.Contains(p.body, "Sign-ins per hour") {
		t.Errorf("overview after sign-in: %d", p.status)
	}
}

func TestServicePrincipalSignIn(t *testing.T) {
	r := startSignet(t)
	b := newBrowser(t, r)
	form := b.get("/console/login")
	creds := url.Values{"tenant": {r.Dev.TenantID}, "subscription": {r.Dev.SubscriptionID}, "clientId": {r.Dev.ClientID}}
	creds.Set("secret", "wrong")
	p := b.post("/console/login", form, creds)
	if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "refused these credentials") {
		t.Fatalf("wrong secret: %d", p.status)
	}
	if strings.Contains(p.body, "wrong") {
		t.Error("the sign-in page echoes the secret")
	}
	creds.Set("secret", r.Dev.ClientSecret)
	if p := b.post("/console/login", p, creds); p.status != http.StatusSeeOther {
		t.Fatalf("right secret: %d: %s", p.status, p.body)
	}
	home := b.get("/console/")
	if home.status != http.StatusOK || !strings.Contains(home.body, r.Dev.ClientID) {
		t.Fatalf("overview: %d, signed-in client id shown: %v", home.status, strings.Contains(home.body, r.Dev.ClientID))
	}
	// Signing out ends the session on the server, not just in the browser.
	if p := b.post("/console/logout", home, nil); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	if p := b.get("/console/"); p.status != http.StatusSeeOther {
		t.Errorf("after logout: %d, want a redirect to sign-in", p.status)
	}
}

// TestManageIdentities walks the operator's path: create a user-assigned
// identity, a VM, assign one to the other, grant and revoke a role, and
// read the logs.
func TestManageIdentities(t *testing.T) {
	r := startSignet(t)
	b := newBrowser(t, r)
	home := devLogin(t, r, b)

	p := b.post("/console/identities", home, url.Values{"name": {"billing-api"}, "group": {r.Dev.ResourceGroup}})
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/console/identities/") {
		t.Fatalf("create identity: %d to %q: %s", p.status, p.location, p.body)
	}
	identityPage := p.location
	if p := b.post("/console/resources", home, url.Values{"name": {"vm1"}, "group": {r.Dev.ResourceGroup}}); p.status != http.StatusSeeOther {
		t.Fatalf("create VM: %d: %s", p.status, p.body)
	}
	idp := b.get(identityPage)
	if idp.status != http.StatusOK || !strings.Contains(idp.body, "billing-api") {
		t.Fatalf("identity page: %d", idp.status)
	}
	identityID := "/subscriptions/" + r.Dev.SubscriptionID + "/resourceGroups/" + r.Dev.ResourceGroup +
		"/providers/Microsoft.ManagedIdentity/userAssignedIdentities/billing-api"
	vmID := "/subscriptions/" + r.Dev.SubscriptionID + "/resourceGroups/" + r.Dev.ResourceGroup +
		"/providers/Microsoft.Compute/virtualMachines/vm1"
	principal := strings.TrimPrefix(identityPage, "/console/identities/")
	p = b.post("/console/identities/assign", idp, url.Values{"identity": {identityID}, "resource": {vmID}, "principal": {principal}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("assign: %d: %s", p.status, p.body)
	}
	if res := b.get("/console/resources"); !regexp.MustCompile(`vm1</td>(?s:.*?)billing-api`).MatchString(res.body) {
		t.Error("the resources page does not show the VM holding the identity")
	}

	idp = b.get(identityPage)
	role := regexp.MustCompile(`<option value="([^"]+)"[^>]*>Reader</option>`).FindStringSubmatch(idp.body)
	if role == nil {
		t.Fatal("no Reader role in the role picker")
	}
	p = b.post("/console/roles", idp, url.Values{"principalId": {principal}, "role": {role[1]},
		"scope": {"/subscriptions/" + r.Dev.SubscriptionID}, "back": {identityPage}})
	if p.status != http.StatusSeeOther || p.location != identityPage {
		t.Fatalf("grant: %d to %q: %s", p.status, p.location, p.body)
	}
	idp = b.get(identityPage)
	if !strings.Contains(idp.body, "<td>Reader</td>") {
		t.Fatal("the identity page does not show the granted role")
	}
	roles := b.get("/console/roles")
	assignment := regexp.MustCompile(`billing-api</a>(?s:.*?)name="id" value="([^"]+)"`).FindStringSubmatch(roles.body)
	if assignment == nil {
		t.Fatal("the roles page does not list the assignment")
	}
	if p := b.post("/console/roles/delete", roles, url.Values{"id": {assignment[1]}}); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d: %s", p.status, p.body)
	}
	if idp := b.get(identityPage); strings.Contains(idp.body, "<td>Reader</td>") {
		t.Error("the role is still shown after deleting it")
	}

	// The console's own sign-ins (as the dev admin) are in the log.
	log := b.get("/console/signins?result=success&principalId=" + r.Dev.ObjectID)
	if log.status != http.StatusOK || !strings.Contains(log.body, r.Dev.ClientID) {
		t.Errorf("sign-in log: %d, admin sign-in shown: %v", log.status, strings.Contains(log.body, r.Dev.ClientID))
	}
	if act := b.get("/console/activity"); act.status != http.StatusOK || !strings.Contains(act.body, "Microsoft.Authorization/roleAssignments/delete") {
		t.Errorf("activity log: %d, role deletion shown: %v", act.status, strings.Contains(act.body, "roleAssignments/delete"))
	}
	if acc := b.get("/console/access"); acc.status != http.StatusOK {
		t.Errorf("access log: %d", acc.status)
	}
	if none := b.get("/console/signins?tokenId=no-such-token"); none.status != http.StatusOK || !strings.Contains(none.body, "No sign-ins match") {
		t.Errorf("sign-ins by an unknown token id: %d", none.status)
	}
	// A token id does not apply to the activity log; the page does not pass it on.
	if act := b.get("/console/activity?tokenId=x"); act.status != http.StatusOK {
		t.Errorf("activity with a token id: %d", act.status)
	}
	if bad := b.get("/console/signins?since=yesterday"); bad.status != http.StatusBadRequest {
		t.Errorf("bad since: %d, want 400", bad.status)
	}
}

func TestPostWithoutSessionIsRefused(t *testing.T) {
	r := startSignet(t)
	b := newBrowser(t, r)
	p := b.post("/console/identities", page{}, url.Values{"name": {"x"}, "group": {r.Dev.ResourceGroup}, "csrf": {"x"}})
	if p.status != http.StatusUnauthorized {
		t.Fatalf("POST without a session: %d, want 401", p.status)
	}
	// The control plane still answers next to the console.
	if p := b.get("/subscriptions"); p.status != http.StatusUnauthorized {
		t.Errorf("ARM without a token: %d, want 401", p.status)
	}
}
