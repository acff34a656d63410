package client

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   Error
	}{
		{"arm", 403, `{"error":{"code":"AuthorizationFailed","message":"no"}}`, Error{StatusCode: 403, Code: "AuthorizationFailed", Message: "no"}},
		{"entra", 401, `{"error":"invalid_client","error_description":"AADSTS7000215: bad secret","error_codes":[7000215]}`, Error{StatusCode: 401, Code: "invalid_client", Message: "AADSTS7000215: bad secret"}},
		{"key vault", 403, `{"error":{"code":"Forbidden","message":"Caller is not authorized","innererror":{"code":"ForbiddenByRbac"}}}`,
			Error{StatusCode: 403, Code: "Forbidden", InnerCode: "ForbiddenByRbac", Message: "Caller is not authorized"}},
		{"text", 502, "bad gateway\n", Error{StatusCode: 502, Code: "Bad Gateway", Message: "bad gateway"}},
		{"empty", 500, "", Error{StatusCode: 500, Code: "Internal Server Error", Message: ""}},
		{"json without error", 400, `{"message":"x"}`, Error{StatusCode: 400, Code: "Bad Request", Message: `{"message":"x"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := decodeError(tt.status, []byte(tt.body))
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("decodeError (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := (&Error{StatusCode: 403, Code: "AuthorizationFailed", Message: "no"}).Error(), "AuthorizationFailed: no"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestTokenRequestAndCache(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	ctx := t.Context()

	tok, err := c.Token(ctx, "https://vault.azure.net")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Token != "tok-1" || time.Until(tok.ExpiresOn) < 59*time.Minute {
		t.Errorf("Token = %q expiring in %v, want tok-1 expiring in ~1h", tok.Token, time.Until(tok.ExpiresOn))
	}
	// Same resource (as a resource or as its scope): cached. Another resource
	// (a trailing slash makes another aud, as with the az CLI): a new request.
	for _, r := range []string{"https://vault.azure.net/.default"} {
		if got, err := c.Token(ctx, r); err != nil || got.Token != "tok-1" {
			t.Errorf("Token(%q) = %q, %v; want cached tok-1", r, got.Token, err)
		}
	}
	if got, err := c.Token(ctx, ManagementResource); err != nil || got.Token != "tok-2" {
		t.Errorf("Token(management) = %q, %v; want tok-2", got.Token, err)
	}

	reqs := f.recorded()
	if len(reqs) != 2 {
		t.Fatalf("token requests = %d, want 2", len(reqs))
	}
	form, _ := url.ParseQuery(reqs[1].Body)
	want := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {"client-1"},
		"client_secret": {"secret-1"},
		"scope":         {"https://management.azure.com//.default"},
	}
	if diff := cmp.Diff(want, form); diff != "" {
		t.Errorf("token form (-want +got):\n%s", diff)
	}
	if got, want := reqs[1].Method+" "+reqs[1].Path, "POST /tenant-1/oauth2/v2.0/token"; got != want {
		t.Errorf("token request = %q, want %q", got, want)
	}
}

// roundTripFunc serves requests in memory, so synctest's fake clock applies.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func inMemory(h http.Handler) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	})
}

func TestTokenRefreshesFiveMinutesBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		issued := 0
		c, err := New(Config{ManagementURL: "https://m.test", AuthorityHost: "https://l.test", TenantID: "t"})
		if err != nil {
			t.Fatal(err)
		}
		c.http.Transport = inMemory(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			issued++
			// v1-style string expires_in must be accepted too.
			writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": "3600", "access_token": "t" + string(rune('0'+issued))})
		}))
		get := func() string {
			tok, err := c.Token(t.Context(), ManagementResource)
			if err != nil {
				t.Fatal(err)
			}
			return tok.Token
		}
		if got := get(); got != "t1" {
			t.Fatalf("first token = %q", got)
		}
		time.Sleep(55*time.Minute - time.Second)
		if got := get(); got != "t1" {
			t.Errorf("token just before the margin = %q, want cached t1", got)
		}
		time.Sleep(time.Second)
		if got := get(); got != "t2" {
			t.Errorf("token at 5 min before expiry = %q, want refreshed t2", got)
		}
	})
}

func TestTokenErrors(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		wantErr string
	}{
		{"entra error", 401, `{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}`, "invalid_client: AADSTS7000215: Invalid client secret provided."},
		{"no token", 200, `{"token_type":"Bearer","expires_in":10}`, "no access_token"},
		{"bad expiry", 200, `{"token_type":"Bearer","expires_in":"soon","access_token":"x"}`, "invalid expires_in"},
		{"not bearer", 200, `{"token_type":"pop","expires_in":10,"access_token":"x"}`, "not Bearer"},
		{"redirect not followed", 302, ``, "Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			f.handle("POST /tenant-1/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 302 {
					w.Header().Set("Location", "https://elsewhere.test/")
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			})
			_, err := f.client(t).Token(t.Context(), ManagementResource)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Token error = %v, want containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "secret-1") {
				t.Errorf("error %q leaks the client secret", err)
			}
		})
	}
}

func TestARMErrorDecoded(t *testing.T) {
	f := newFake(t)
	f.handle("GET /subscriptions/sub-1/resourceGroups/rg", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 404, map[string]any{"error": map[string]string{"code": "ResourceGroupNotFound", "message": "Resource group 'rg' could not be found."}})
	})
	_, err := f.client(t).GetResourceGroup(t.Context(), "rg")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("GetResourceGroup error = %v, want *Error", err)
	}
	if diff := cmp.Diff(Error{StatusCode: 404, Code: "ResourceGroupNotFound", Message: "Resource group 'rg' could not be found."}, *e); diff != "" {
		t.Errorf("error (-want +got):\n%s", diff)
	}
}

func TestListFollowsNextLink(t *testing.T) {
	f := newFake(t)
	path := "/subscriptions/sub-1/providers/Microsoft.ManagedIdentity/userAssignedIdentities"
	f.handle("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("page") == "2" {
			writeJSON(w, 200, map[string]any{"value": []any{map[string]any{"name": "b", "extra": 1}}})
			return
		}
		writeJSON(w, 200, map[string]any{
			"value":    []any{map[string]any{"name": "a", "properties": map[string]string{"clientId": "c-a"}}},
			"nextLink": f.srv.URL + path + "?api-version=2023-01-31&page=2",
		})
	})
	got, err := f.client(t).ListUserAssignedIdentities(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "a" || got[0].Properties.ClientID != "c-a" || got[1].Name != "b" {
		t.Fatalf("ListUserAssignedIdentities = %+v", got)
	}
	// Raw keeps fields the type does not model.
	if !strings.Contains(string(got[1].Raw), `"extra":1`) {
		t.Errorf("Raw = %s, want the server's object", got[1].Raw)
	}
	for _, r := range f.armRequests() {
		if r.Auth != "Bearer tok-1" || r.Query["api-version"][0] != APIVersionMSI {
			t.Errorf("request %s?%v auth %q, want bearer tok-1 and api-version %s", r.Path, r.Query, r.Auth, APIVersionMSI)
		}
	}
}

func TestListRefusesForeignNextLink(t *testing.T) {
	f := newFake(t)
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("token sent to another origin: %s", r.Header.Get("Authorization"))
	}))
	defer other.Close()
	f.handle("GET /subscriptions/sub-1/resourceGroups", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"value": []any{}, "nextLink": other.URL + "/subscriptions/sub-1/resourceGroups"})
	})
	if _, err := f.client(t).ListResourceGroups(t.Context()); err == nil || !strings.Contains(err.Error(), "leaves the control plane") {
		t.Errorf("ListResourceGroups error = %v, want refusal of a foreign nextLink", err)
	}
}

func TestListPaging(t *testing.T) {
	tests := []struct {
		name      string
		list      func(c *Client) (int, error)
		wantCount int
		wantGets  int
		wantErr   string
	}{
		{
			name: "a nextLink to itself is refused",
			list: func(c *Client) (int, error) {
				gs, err := c.ListResourceGroups(t.Context())
				return len(gs), err
			},
			wantGets: 1,
			wantErr:  "paging does not end",
		},
		{
			name: "a log stops paging once it has top records",
			list: func(c *Client) (int, error) {
				es, err := c.ListActivity(t.Context(), ActivityFilter{Top: 3})
				return len(es), err
			},
			wantCount: 3,
			wantGets:  2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			for _, path := range []string{"/subscriptions/sub-1/resourceGroups", "/subscriptions/sub-1/providers/Microsoft.Insights/eventtypes/management/values"} {
				f.handle("GET "+path, func(w http.ResponseWriter, r *http.Request) {
					// Two records a page, and a nextLink: to the page itself for
					// resource groups, else to an endless run of further pages.
					next := f.srv.URL + r.URL.RequestURI()
					if !strings.HasSuffix(r.URL.Path, "/resourceGroups") {
						next = f.srv.URL + r.URL.Path + "?api-version=x&page=" + r.URL.Query().Get("page") + "1"
					}
					writeJSON(w, 200, map[string]any{
						"value":    []any{map[string]any{"name": "x"}, map[string]any{"name": "y"}},
						"nextLink": next,
					})
				})
			}
			n, err := tt.list(f.client(t))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got, want := n, tt.wantCount; got != want {
				t.Errorf("records = %d, want %d", got, want)
			}
			if got, want := len(f.armRequests()), tt.wantGets; got != want {
				t.Errorf("GETs = %d, want %d", got, want)
			}
		})
	}
}

func TestCreateRoleAssignment(t *testing.T) {
	f := newFake(t)
	var gotPath, gotBody string
	fallback := f.srv.Config.Handler
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			gotPath = r.URL.Path
			b, _ := io.ReadAll(r.Body)
			gotBody = string(b)
			writeJSON(w, 201, map[string]any{"id": r.URL.Path, "name": "x", "properties": map[string]string{"principalId": "p-1"}})
			return
		}
		fallback.ServeHTTP(w, r)
	})
	c := f.client(t)
	got, err := c.CreateRoleAssignment(t.Context(), "/subscriptions/sub-1/resourceGroups/rg", RoleAssignmentProperties{
		RoleDefinitionID: c.RoleDefinitionID("acdd72a7-3385-48ef-bd42-f606fba81ae7"),
		PrincipalID:      "p-1",
	})
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !re.MatchString(gotPath) {
		t.Errorf("PUT path = %q, want a new v4 GUID under the scope", gotPath)
	}
	want := `{"properties":{"roleDefinitionId":"/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7","principalId":"p-1","principalType":"ServicePrincipal"}}`
	if strings.TrimSpace(gotBody) != want {
		t.Errorf("PUT body = %s, want %s", gotBody, want)
	}
	if got.Properties.PrincipalID != "p-1" {
		t.Errorf("decoded assignment = %+v", got)
	}
}

func TestRequestShapes(t *testing.T) {
	f := newFake(t)
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.serve(httptest.NewRecorder(), r) // record only
		if strings.HasSuffix(r.URL.Path, "/token") {
			writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "tok"})
			return
		}
		writeJSON(w, 200, map[string]any{"value": []any{}})
	})
	c := f.client(t)
	ctx := context.Background()
	since := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	vm := "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	steps := []func() error{
		func() error { _, err := c.PutResourceGroup(ctx, "rg", ResourceGroup{Location: "westus"}); return err },
		func() error { return c.DeleteResourceGroup(ctx, "rg") },
		func() error { _, err := c.ListResources(ctx, "rg", TypeVirtualMachine); return err },
		func() error {
			_, err := c.PatchResource(ctx, vm, Resource{Identity: &Identity{Type: IdentityUserAssigned, UserAssignedIdentities: map[string]*UserAssignedIdentity{"/u1": {}, "/u2": nil}}})
			return err
		},
		func() error {
			_, err := c.ListRoleDefinitions(ctx, "/subscriptions/sub-1", "Key Vault Secrets User")
			return err
		},
		func() error { _, err := c.ListRoleDefinitions(ctx, "/", "O'Brien"); return err },
		func() error { _, err := c.ListRoleAssignments(ctx, "/subscriptions/sub-1", "p-1"); return err },
		func() error {
			return c.DeleteRoleAssignment(ctx, "/subscriptions/sub-1/providers/Microsoft.Authorization/roleAssignments/g-1")
		},
		func() error {
			_, err := c.ListSignIns(ctx, SignInFilter{Since: since, PrincipalID: "p-1", Result: "failure", Top: 5})
			return err
		},
		func() error { _, err := c.ListActivity(ctx, ActivityFilter{Since: since, Top: 7}); return err },
		func() error { _, err := c.RotateSigningKeys(ctx); return err },
	}
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
	}
	type shape struct{ Method, Path, Query, Body string }
	var got []shape
	for _, r := range f.armRequests() {
		got = append(got, shape{r.Method, r.Path, url.Values(r.Query).Encode(), strings.TrimSpace(r.Body)})
	}
	want := []shape{
		{"PUT", "/subscriptions/sub-1/resourceGroups/rg", "api-version=2021-04-01", `{"location":"westus"}`},
		{"DELETE", "/subscriptions/sub-1/resourceGroups/rg", "api-version=2021-04-01", ""},
		{"GET", "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines", "api-version=2024-03-01", ""},
		{"PATCH", vm, "api-version=2024-03-01", `{"identity":{"type":"UserAssigned","userAssignedIdentities":{"/u1":{},"/u2":null}}}`},
		{"GET", "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions", "%24filter=roleName+eq+%27Key+Vault+Secrets+User%27&api-version=2022-04-01", ""},
		{"GET", "/providers/Microsoft.Authorization/roleDefinitions", "%24filter=roleName+eq+%27O%27%27Brien%27&api-version=2022-04-01", ""},
		{"GET", "/subscriptions/sub-1/providers/Microsoft.Authorization/roleAssignments", "%24filter=principalId+eq+%27p-1%27&api-version=2022-04-01", ""},
		{"DELETE", "/subscriptions/sub-1/providers/Microsoft.Authorization/roleAssignments/g-1", "api-version=2022-04-01", ""},
		{"GET", "/subscriptions/sub-1/providers/Signet.Audit/signIns", "api-version=2024-01-01&principalId=p-1&result=failure&since=2025-01-02T03%3A04%3A05Z&top=5", ""},
		{"GET", "/subscriptions/sub-1/providers/Microsoft.Insights/eventtypes/management/values", "api-version=2015-04-01&since=2025-01-02T03%3A04%3A05Z&top=7", ""},
		{"POST", "/providers/Signet.Keys/rotate", "api-version=2024-01-01", ""},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

func TestRejectsUnsafePaths(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	ctx := t.Context()
	errs := []error{
		func() error { _, err := c.GetResourceGroup(ctx, "../x"); return err }(),
		func() error { _, err := c.GetResourceGroup(ctx, ""); return err }(),
		func() error {
			_, err := c.GetResource(ctx, "/subscriptions/s/../../providers/Signet.Keys/rotate")
			return err
		}(),
		func() error { _, err := c.GetResource(ctx, "relative/id"); return err }(),
		c.DeleteRoleAssignment(ctx, "/subscriptions/sub-1/resourceGroups/rg"),
		func() error { _, err := c.ListResources(ctx, "rg", "nonsense"); return err }(),
		func() error { _, err := c.WithSubscription("").ListResourceGroups(ctx); return err }(),
	}
	for i, err := range errs {
		if err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	if n := len(f.armRequests()); n != 0 {
		t.Errorf("%d requests reached the server, want 0", n)
	}
}

func TestAPIVersionFor(t *testing.T) {
	tests := map[string]string{
		"/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/virtualMachines/v":                APIVersionCompute,
		"/subscriptions/s/resourceGroups/g/providers/microsoft.managedidentity/userAssignedIdentities/u": APIVersionMSI,
		"Microsoft.Compute/virtualMachines":                                     APIVersionCompute,
		"/subscriptions/s/resourceGroups/g/providers/Contoso.Widgets/widgets/w": APIVersionResources,
	}
	for in, want := range tests {
		if got := apiVersionFor(in); got != want {
			t.Errorf("apiVersionFor(%q) = %q, want %q", in, got, want)
		}
	}
}
