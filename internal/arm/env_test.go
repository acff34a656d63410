package arm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/audit"
	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// Fixed ids of the test world: two tenants, one subscription each.
const (
	tenant1 = "11111111-1111-4111-8111-111111111111"
	tenant2 = "22222222-2222-4222-8222-222222222222"
	sub1    = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	sub2    = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"
	api     = "?api-version=2024-11-30"
	raAPI   = "?api-version=2022-04-01"
)

// tokenVerifier maps opaque test tokens to claims: real JWT verification is
// covered by the jwt package and the end-to-end tests.
type tokenVerifier map[string]*jwt.Claims

func (v tokenVerifier) Verify(token string) (*jwt.Claims, error) {
	if c, ok := v[token]; ok {
		return c, nil
	}
	return nil, errors.New("unknown test token")
}

// env is a control plane on a real SQLite store with the real authorizer
// and audit recorder.
type env struct {
	t      *testing.T
	st     store.Store
	srv    *Server
	h      http.Handler
	tokens tokenVerifier
	now    time.Time
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, tokens: tokenVerifier{}, now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	rec := audit.NewRecorder(st, nil)
	t.Cleanup(func() { rec.Close() })
	e.srv = &Server{
		Store:      st,
		Verifier:   e.tokens,
		Authorizer: &authz.Authorizer{Store: st},
		Activity:   rec,
		Now:        func() time.Time { return e.now },
		LoginURL:   "https://login.signet.test",
	}
	e.h = e.srv.Handler()
	e.write(func(tx store.Tx) error {
		if err := authz.SeedBuiltIns(tx); err != nil {
			return err
		}
		for _, tn := range []string{tenant1, tenant2} {
			if err := tx.CreateTenant(store.Tenant{ID: tn, DisplayName: "t", CreatedAt: e.now}); err != nil {
				return err
			}
		}
		if err := tx.CreateSubscription(store.Subscription{ID: sub1, TenantID: tenant1, DisplayName: "one", State: "Enabled", CreatedAt: e.now}); err != nil {
			return err
		}
		return tx.CreateSubscription(store.Subscription{ID: sub2, TenantID: tenant2, DisplayName: "two", State: "Enabled", CreatedAt: e.now})
	})
	// The admin of each tenant owns its subscription.
	e.principal("admin", tenant1, authz.OwnerRoleID, "/subscriptions/"+sub1)
	e.principal("admin2", tenant2, authz.OwnerRoleID, "/subscriptions/"+sub2)
	return e
}

// principal creates a service principal with a token named token and, when
// role is set, assigns it role at scope. It returns the object id.
func (e *env) principal(token, tenant, role, scope string) string {
	e.t.Helper()
	p := directory.NewServicePrincipal(tenant, token, e.now)
	e.write(func(tx store.Tx) error { return tx.CreatePrincipal(p) })
	e.tokens[token] = &jwt.Claims{ObjectID: p.ObjectID, TenantID: tenant, AppID: p.ClientID}
	if role != "" {
		e.grant(p.ObjectID, role, scope)
	}
	return p.ObjectID
}

// grant assigns a role directly in the store.
func (e *env) grant(principalID, role, scope string) {
	e.t.Helper()
	e.write(func(tx store.Tx) error {
		return tx.CreateRoleAssignment(store.RoleAssignment{
			ID: directory.NewID(), Scope: scope, RoleDefinitionID: role, PrincipalID: principalID,
			PrincipalType: "ServicePrincipal", CreatedAt: e.now,
		})
	})
}

func (e *env) write(fn func(tx store.Tx) error) {
	e.t.Helper()
	if err := e.st.Write(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) read(fn func(tx store.Tx) error) {
	e.t.Helper()
	if err := e.st.Read(context.Background(), fn); err != nil {
		e.t.Fatal(err)
	}
}

// response is one answer of the handler.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value (or v when given).
func (r response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r response) code() string {
	var b errorBody
	_ = json.Unmarshal(r.body, &b)
	return b.Error.Code
}

// do sends a request as the holder of token; body may be a string (sent
// as is) or a value (marshalled).
func (e *env) do(token, method, target string, body any) response {
	e.t.Helper()
	return e.doWith(token, method, target, body, "")
}

// doWith is do with a Content-Type other than application/json.
func (e *env) doWith(token, method, target string, body any, contentType string) response {
	e.t.Helper()
	auth := ""
	if token != "" {
		auth = "Bearer " + token
	}
	return e.send(auth, method, target, body, contentType)
}

// send is do with a raw Authorization header.
func (e *env) send(auth, method, target string, body any, contentType string) response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	r := httptest.NewRequest(method, "https://management.signet.test"+target, rd)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if contentType == "" && rd != nil {
		contentType = "application/json"
	}
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return response{status: w.Code, header: w.Header(), body: w.Body.Bytes()}
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, token, method, target string, body any) response {
	e.t.Helper()
	r := e.do(token, method, target, body)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d; body %s", method, target, r.status, want, r.body)
	}
	return r
}

// Paths in subscription one.
func groupPath(rg string) string { return "/subscriptions/" + sub1 + "/resourceGroups/" + rg }
func vmPath(rg, name string) string {
	return groupPath(rg) + "/providers/Microsoft.Compute/virtualMachines/" + name
}
func uamiPath(rg, name string) string {
	return groupPath(rg) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" + name
}
func raPath(scope, name string) string {
	return strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments/" + name
}

func (e *env) group(rg string) {
	e.t.Helper()
	e.must(http.StatusCreated, "admin", http.MethodPut, groupPath(rg)+api, map[string]any{"location": "westeurope"})
}

// vm creates a VM with the given identity block (nil: none).
func (e *env) vm(rg, name string, identity map[string]any) resourceJSON {
	e.t.Helper()
	body := map[string]any{"location": "westeurope", "properties": map[string]any{"hardwareProfile": map[string]any{"vmSize": "Standard_B1s"}}}
	if identity != nil {
		body["identity"] = identity
	}
	var out resourceJSON
	e.must(http.StatusCreated, "admin", http.MethodPut, vmPath(rg, name)+api, body).decode(e.t, &out)
	return out
}

func (e *env) uami(rg, name string) resourceJSON {
	e.t.Helper()
	var out resourceJSON
	e.must(http.StatusCreated, "admin", http.MethodPut, uamiPath(rg, name)+api, map[string]any{"location": "westeurope"}).decode(e.t, &out)
	return out
}

func userAssigned(ids ...string) map[string]any {
	m := map[string]any{}
	for _, id := range ids {
		m[id] = map[string]any{}
	}
	return map[string]any{"type": "UserAssigned", "userAssignedIdentities": m}
}

func (e *env) principalExists(id string) bool {
	e.t.Helper()
	var found bool
	e.read(func(tx store.Tx) error {
		_, err := tx.GetPrincipal(id)
		found = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	return found
}

func uamiPrincipal(t *testing.T, r resourceJSON) uamiProperties {
	t.Helper()
	var p uamiProperties
	if err := json.Unmarshal(r.Properties, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// snapshot captures everything a bad request must leave untouched (the
// activity log aside, which records the refusal).
func (e *env) snapshot() string {
	e.t.Helper()
	var b strings.Builder
	e.read(func(tx store.Tx) error {
		for _, sub := range []string{sub1, sub2} {
			gs, err := tx.ListResourceGroups(sub)
			if err != nil {
				return err
			}
			rs, err := tx.ListResources(sub, "", "")
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "groups %+v\nresources %+v\n", gs, rs)
			for _, r := range rs {
				ids, err := tx.ListResourceIdentities(r.ID)
				if err != nil {
					return err
				}
				fmt.Fprintf(&b, "identities %s %v\n", r.ID, ids)
			}
		}
		for _, tn := range []string{tenant1, tenant2} {
			ps, err := tx.ListPrincipals(tn)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "principals %+v\n", ps)
		}
		ras, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{})
		if err != nil {
			return err
		}
		rds, err := tx.ListRoleDefinitions()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "assignments %+v\nroles %d\n", ras, len(rds))
		return nil
	})
	return b.String()
}
