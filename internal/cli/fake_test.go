package cli

import (
	"bytes"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// armFake is an in-memory stand-in for Signet's STS and control plane,
// enough to drive the CLI: PUT stores, GET reads or lists by type under a
// scope, PATCH applies a JSON merge patch (RFC 7396), DELETE removes. It
// fills the ids the real server would (principal and client ids), records
// every request, and can be told to fail a route with an ARM error.
type armFake struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	objects  map[string]map[string]any // by lower-cased path
	requests []fakeRequest
	fail     map[string]armError         // by "METHOD /path"
	routes   map[string]http.HandlerFunc // by "METHOD /path"
}

type fakeRequest struct {
	Method, Path string
	Query        string
	Body         string
}

type armError struct {
	status        int
	code, message string
}

const (
	fakeTenant = "tenant-1"
	fakeSub    = "sub-1"
	fakeSecret = "secret-1"
	fakeToken  = "token-abc"
)

var builtinRoles = map[string]string{
	"acdd72a7-3385-48ef-bd42-f606fba81ae7": "Reader",
	"b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
	"4633458b-17de-408a-b874-0445c86b69e6": "Key Vault Secrets User",
}

func newARMFake(t *testing.T) *armFake {
	t.Helper()
	f := &armFake{t: t, objects: map[string]map[string]any{}, fail: map[string]armError{}, routes: map[string]http.HandlerFunc{}}
	for guid, name := range builtinRoles {
		id := "/providers/Microsoft.Authorization/roleDefinitions/" + guid
		f.objects[strings.ToLower(id)] = map[string]any{
			"id": id, "name": guid, "type": "Microsoft.Authorization/roleDefinitions",
			"properties": map[string]any{"roleName": name, "type": "BuiltInRole", "description": name + " role", "assignableScopes": []string{"/"}},
		}
	}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// env is a complete environment pointing the CLI at the fake.
func (f *armFake) env() map[string]string {
	caFile := filepath.Join(f.t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw}), 0o600); err != nil {
		f.t.Fatal(err)
	}
	return map[string]string{
		"SIGNET_URL":             f.srv.URL,
		"AZURE_AUTHORITY_HOST":   f.srv.URL,
		"AZURE_TENANT_ID":        fakeTenant,
		"SIGNET_SUBSCRIPTION_ID": fakeSub,
		"SIGNET_CLIENT_ID":       "admin-client",
		"SIGNET_CLIENT_SECRET":   fakeSecret,
		"SSL_CERT_FILE":          caFile,
		"HOME":                   f.t.TempDir(), // never the real ~/.signet
	}
}

// armRequests returns the control-plane requests (not token requests).
func (f *armFake) armRequests() []fakeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []fakeRequest
	for _, r := range f.requests {
		if !strings.HasSuffix(r.Path, "/oauth2/v2.0/token") {
			out = append(out, r)
		}
	}
	return out
}

// lastRequest returns the body of the last request with this method, decoded.
func (f *armFake) lastBody(method string) map[string]any {
	reqs := f.armRequests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method {
			var m map[string]any
			if err := json.Unmarshal([]byte(reqs[i].Body), &m); err != nil {
				f.t.Fatalf("%s body %q: %v", method, reqs[i].Body, err)
			}
			return m
		}
	}
	f.t.Fatalf("no %s request", method)
	return nil
}

func (f *armFake) put(path string, obj map[string]any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.store(path, obj)
}

func (f *armFake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, fakeRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body)})

	if r.Method == http.MethodPost && r.URL.Path == "/"+fakeTenant+"/oauth2/v2.0/token" {
		if form, err := url.ParseQuery(string(body)); err != nil || form.Get("client_secret") != fakeSecret {
			writeFakeJSON(w, 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."})
			return
		}
		writeFakeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": fakeToken})
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+fakeToken {
		writeARMError(w, armError{401, "InvalidAuthenticationToken", "missing or bad token"})
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeARMError(w, armError{400, "MissingApiVersionParameter", "api-version is required"})
		return
	}
	route := r.Method + " " + r.URL.Path
	if e, ok := f.fail[route]; ok {
		writeARMError(w, e)
		return
	}
	if h, ok := f.routes[route]; ok {
		h(w, r)
		return
	}
	key := strings.ToLower(r.URL.Path)
	switch r.Method {
	case http.MethodPut:
		var obj map[string]any
		if err := json.Unmarshal(body, &obj); err != nil {
			writeARMError(w, armError{400, "InvalidRequestContent", err.Error()})
			return
		}
		_, existed := f.objects[key]
		writeFakeJSON(w, map[bool]int{true: 200, false: 201}[existed], f.store(r.URL.Path, obj))
	case http.MethodPatch:
		obj, ok := f.objects[key]
		if !ok {
			writeARMError(w, armError{404, "ResourceNotFound", "not found"})
			return
		}
		var patch any
		if err := json.Unmarshal(body, &patch); err != nil {
			writeARMError(w, armError{400, "InvalidRequestContent", err.Error()})
			return
		}
		merged, _ := mergePatch(obj, patch).(map[string]any)
		writeFakeJSON(w, 200, f.store(r.URL.Path, merged))
	case http.MethodDelete:
		if _, ok := f.objects[key]; !ok {
			w.WriteHeader(204)
			return
		}
		delete(f.objects, key)
		w.WriteHeader(200)
	case http.MethodGet:
		if obj, ok := f.objects[key]; ok {
			writeFakeJSON(w, 200, obj)
			return
		}
		items, ok := f.list(r)
		if !ok {
			writeARMError(w, armError{404, "ResourceNotFound", fmt.Sprintf("The resource '%s' was not found.", r.URL.Path)})
			return
		}
		writeFakeJSON(w, 200, map[string]any{"value": items})
	default:
		writeARMError(w, armError{405, "MethodNotAllowed", r.Method})
	}
}

// store saves obj at path, filling in what the server owns.
func (f *armFake) store(path string, obj map[string]any) map[string]any {
	typ := typeOf(path)
	obj["id"], obj["name"], obj["type"] = path, path[strings.LastIndex(path, "/")+1:], typ
	props, _ := obj["properties"].(map[string]any)
	switch typ {
	case "Microsoft.ManagedIdentity/userAssignedIdentities":
		name := obj["name"].(string)
		obj["properties"] = map[string]any{"tenantId": fakeTenant, "principalId": "principal-" + name, "clientId": "client-" + name}
	case "Microsoft.Authorization/roleAssignments":
		props["scope"] = path[:strings.Index(strings.ToLower(path), "/providers/microsoft.authorization/")]
		if props["scope"] == "" {
			props["scope"] = "/"
		}
	}
	if ib, ok := obj["identity"].(map[string]any); ok {
		t, _ := ib["type"].(string)
		if t == "None" {
			obj["identity"] = map[string]any{"type": "None"}
		} else {
			if strings.Contains(t, "SystemAssigned") {
				ib["principalId"], ib["tenantId"] = "principal-system-"+obj["name"].(string), fakeTenant
			} else {
				delete(ib, "principalId")
				delete(ib, "tenantId")
			}
			uas, _ := ib["userAssignedIdentities"].(map[string]any)
			for id := range uas {
				if ua, ok := f.objects[strings.ToLower(id)]; ok {
					p := ua["properties"].(map[string]any)
					uas[id] = map[string]any{"principalId": p["principalId"], "clientId": p["clientId"]}
				}
			}
		}
	}
	f.objects[strings.ToLower(path)] = obj
	return obj
}

// list answers a collection GET: objects of the type the path names under
// the scope it names, honouring the $filter forms the CLI sends.
func (f *armFake) list(r *http.Request) ([]any, bool) {
	path := r.URL.Path
	scope, typ := path, ""
	if i := strings.LastIndex(strings.ToLower(path), "/providers/"); i >= 0 {
		scope, typ = path[:i], path[i+len("/providers/"):]
	} else if strings.HasSuffix(strings.ToLower(path), "/resourcegroups") {
		scope, typ = strings.TrimSuffix(path, path[len(path)-len("/resourceGroups"):]), "Microsoft.Resources/resourceGroups"
	}
	if strings.Count(typ, "/") != 1 {
		return nil, false
	}
	filter := r.URL.Query().Get("$filter")
	m := regexp.MustCompile(`^(roleName|principalId) eq '(.*)'$`).FindStringSubmatch(filter)
	var ids []string
	for key, obj := range f.objects {
		if !strings.EqualFold(obj["type"].(string), typ) {
			continue
		}
		// Role definitions are defined at the root and visible everywhere.
		if typ != "Microsoft.Authorization/roleDefinitions" && !strings.HasPrefix(key, strings.ToLower(scope)+"/") {
			continue
		}
		if m != nil {
			props, _ := obj["properties"].(map[string]any)
			if v, _ := props[m[1]].(string); !strings.EqualFold(v, strings.ReplaceAll(m[2], "''", "'")) {
				continue
			}
		}
		ids = append(ids, key)
	}
	slices.Sort(ids)
	items := []any{}
	for _, id := range ids {
		items = append(items, f.objects[id])
	}
	return items, true
}

func typeOf(path string) string {
	lower := strings.ToLower(path)
	i := strings.LastIndex(lower, "/providers/")
	if i < 0 {
		return "Microsoft.Resources/resourceGroups"
	}
	parts := strings.Split(path[i+len("/providers/"):], "/")
	return parts[0] + "/" + parts[1]
}

// mergePatch applies an RFC 7396 JSON merge patch.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

func writeFakeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeARMError(w http.ResponseWriter, e armError) {
	writeFakeJSON(w, e.status, map[string]any{"error": map[string]string{"code": e.code, "message": e.message}})
}

// result is what one CLI run produced.
type result struct {
	stdout, stderr string
	code           int
}

// run drives Main with args and env (the process environment).
func run(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(t.Context(), args, strings.NewReader(""), &stdout, &stderr, func(k string) string { return env[k] })
	return result{stdout.String(), stderr.String(), code}
}

// mustRun is run that fails the test unless the command succeeded quietly.
func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	res := run(t, env, args...)
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("signet %s: exit %d, stderr %q", strings.Join(args, " "), res.code, res.stderr)
	}
	return res.stdout
}
