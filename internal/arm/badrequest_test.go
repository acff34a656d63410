package arm

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/store"
)

// TestBadRequestsChangeNothing sends malformed control-plane requests as
// the subscription owner and checks ARM's status and code, and that the
// store is unchanged afterwards.
func TestBadRequestsChangeNothing(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	id := e.uami("rg", "u")
	e.vm("rg", "vm", map[string]any{"type": "SystemAssigned"})
	admin := e.tokens["admin"].ObjectID
	existing := directory.NewID()
	e.must(http.StatusCreated, "admin", http.MethodPut, raPath(groupPath("rg"), existing)+raAPI, map[string]any{
		"properties": map[string]any{"roleDefinitionId": authz.ReaderRoleID, "principalId": admin},
	})
	subScope := "/subscriptions/" + sub1
	vm := vmPath("rg", "vm") + api
	newVM := vmPath("rg", "vm2") + api
	ra := func(roleDef, principal string) map[string]any {
		return map[string]any{"properties": map[string]any{"roleDefinitionId": roleDef, "principalId": principal}}
	}

	tests := []struct {
		name        string
		method      string
		path        string
		body        any
		contentType string // overrides application/json when set
		wantStatus  int
		wantCode    string
	}{
		{"missing api-version", http.MethodPut, vmPath("rg", "vm2"), map[string]any{"location": "x"}, "", 400, codeMissingAPIVersion},
		{"path outside ARM", http.MethodGet, "/foo/bar" + api, nil, "", 400, codeInvalidResourceID},
		{"empty segment", http.MethodPut, "/subscriptions/" + sub1 + "//resourceGroups/x" + api, map[string]any{"location": "x"}, "", 400, codeInvalidResourceID},
		{"dot-dot segment", http.MethodPut, groupPath("..") + api, map[string]any{"location": "x"}, "", 400, codeInvalidResourceID},
		{"resource without name pair", http.MethodPut, groupPath("rg") + "/providers/Microsoft.Compute" + api, map[string]any{"location": "x"}, "", 400, codeInvalidResourceID},
		{"unknown namespace", http.MethodPut, groupPath("rg") + "/providers/Microsoft.Nope/things/x" + api, map[string]any{"location": "x"}, "", 400, codeNoRegisteredProvider},
		{"unknown type", http.MethodPut, groupPath("rg") + "/providers/Microsoft.Compute/disks/d" + api, map[string]any{"location": "x"}, "", 400, codeInvalidResourceType},
		{"child resource type", http.MethodPut, vmPath("rg", "vm") + "/extensions/e" + api, map[string]any{"location": "x"}, "", 400, codeInvalidResourceType},
		{"syntax error", http.MethodPut, newVM, `{"location": "x",}`, "", 400, codeInvalidRequestContent},
		{"truncated JSON", http.MethodPut, newVM, `{"location": "x"`, "", 400, codeInvalidRequestContent},
		{"trailing data", http.MethodPut, newVM, `{"location": "x"} {}`, "", 400, codeInvalidRequestContent},
		{"wrong type for location", http.MethodPut, newVM, `{"location": 5}`, "", 400, codeInvalidRequestContent},
		{"wrong type for tags", http.MethodPut, newVM, `{"location": "x", "tags": {"a": 1}}`, "", 400, codeInvalidRequestContent},
		{"properties not an object", http.MethodPut, newVM, `{"location": "x", "properties": [1]}`, "", 400, codeInvalidRequestContent},
		{"empty body", http.MethodPut, newVM, "", "", 400, codeInvalidRequestContent},
		{"missing location", http.MethodPut, newVM, `{"tags": {}}`, "", 400, codeLocationRequired},
		{"text body", http.MethodPut, newVM, `location=x`, "text/plain", 415, codeUnsupportedMediaType},
		{"oversized body", http.MethodPut, newVM, `{"location": "x", "tags": {"a": "` + strings.Repeat("a", maxBodyBytes) + `"}}`, "", 413, codeRequestTooLarge},
		{"unknown identity type", http.MethodPut, newVM, `{"location": "x", "identity": {"type": "Magic"}}`, "", 400, codeInvalidRequestContent},
		{"identity without type", http.MethodPut, newVM, `{"location": "x", "identity": {}}`, "", 400, codeInvalidRequestContent},
		{"missing user-assigned identity", http.MethodPut, newVM, map[string]any{"location": "x", "identity": userAssigned(uamiPath("rg", "ghost"))}, "", 400, codeInvalidIdentity},
		{"identity id of the wrong type", http.MethodPut, newVM, map[string]any{"location": "x", "identity": userAssigned(vmPath("rg", "vm"))}, "", 400, codeInvalidIdentity},
		{"UserAssigned without identities", http.MethodPut, newVM, `{"location": "x", "identity": {"type": "UserAssigned"}}`, "", 400, codeInvalidIdentity},
		{"identities without UserAssigned", http.MethodPatch, vm, map[string]any{"identity": map[string]any{"type": "SystemAssigned", "userAssignedIdentities": map[string]any{id.ID: map[string]any{}}}}, "", 400, codeInvalidIdentity},
		{"PATCH of a missing resource", http.MethodPatch, newVM, `{"tags": {}}`, "", 404, codeResourceNotFound},
		{"resource in a missing group", http.MethodPut, vmPath("nogroup", "x") + api, `{"location": "x"}`, "", 404, codeResourceGroupNotFound},
		{"missing subscription", http.MethodPut, "/subscriptions/" + directory.NewID() + "/resourceGroups/x" + api, `{"location": "x"}`, "", 404, codeSubscriptionNotFound},
		{"bad group name", http.MethodPut, groupPath("bad*name") + api, `{"location": "x"}`, "", 400, "InvalidResourceGroupName"},
		{"wrong method", http.MethodPost, vm, `{}`, "", 405, codeMethodNotAllowed},
		{"wrong method on a collection", http.MethodPut, "/subscriptions" + api, `{}`, "", 405, codeMethodNotAllowed},
		{"bad role assignment GUID", http.MethodPut, raPath(subScope, "not-a-guid") + raAPI, ra(authz.ReaderRoleID, admin), "", 400, codeInvalidRoleAssignmentID},
		{"unknown role definition", http.MethodPut, raPath(subScope, directory.NewID()) + raAPI, ra(directory.NewID(), admin), "", 400, codeRoleDefinitionDoesNotExist},
		{"malformed role definition id", http.MethodPut, raPath(subScope, directory.NewID()) + raAPI, ra("/foo/bar", admin), "", 400, codeInvalidRoleDefinitionID},
		{"unknown principal", http.MethodPut, raPath(subScope, directory.NewID()) + raAPI, ra(authz.ReaderRoleID, directory.NewID()), "", 400, codePrincipalNotFound},
		{"duplicate assignment", http.MethodPut, raPath(groupPath("rg"), directory.NewID()) + raAPI, ra(authz.ReaderRoleID, admin), "", 409, codeRoleAssignmentExists},
		{"assignment id reused", http.MethodPut, raPath(groupPath("rg"), existing) + raAPI, ra(authz.OwnerRoleID, admin), "", 409, codeConflict},
		{"assignment with a condition", http.MethodPut, raPath(subScope, directory.NewID()) + raAPI, map[string]any{"properties": map[string]any{"roleDefinitionId": authz.ReaderRoleID, "principalId": admin, "condition": "true"}}, "", 400, codeInvalidRequestContent},
		{"assignment at a missing scope", http.MethodPut, raPath(groupPath("nogroup"), directory.NewID()) + raAPI, ra(authz.ReaderRoleID, admin), "", 404, codeResourceGroupNotFound},
		{"assignment at a bad scope", http.MethodPut, "/subscriptions/" + sub1 + "/resourceGroups/providers/Microsoft.Authorization/roleAssignments/" + directory.NewID() + raAPI, ra(authz.ReaderRoleID, admin), "", 400, codeInvalidResourceID},
		{"bad $filter", http.MethodGet, "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleAssignments" + raAPI + "&$filter=foo%20gt%201", nil, "", 400, codeInvalidQueryParameter},
		{"delete a built-in role", http.MethodDelete, "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleDefinitions/" + authz.ReaderRoleID + raAPI, nil, "", 400, codeCannotModifyBuiltInRole},
		{"change a built-in role", http.MethodPut, "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleDefinitions/" + authz.OwnerRoleID + raAPI, `{"properties": {}}`, "", 400, codeCannotModifyBuiltInRole},
		{"bad skiptoken", http.MethodGet, "/subscriptions/" + sub1 + "/resourcegroups" + api + "&$skiptoken=!!!", nil, "", 400, codeInvalidQueryParameter},
		{"bad since", http.MethodGet, "/subscriptions/" + sub1 + "/providers/Signet.Audit/signIns" + api + "&since=yesterday", nil, "", 400, codeInvalidQueryParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot()
			r := e.doWith("admin", tc.method, tc.path, tc.body, tc.contentType)
			if r.status != tc.wantStatus || r.code() != tc.wantCode {
				t.Errorf("got %d %s, want %d %s; body %.300s", r.status, r.code(), tc.wantStatus, tc.wantCode, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
			if diff := cmp.Diff(before, e.snapshot()); diff != "" {
				t.Errorf("bad request changed the store:\n%s", diff)
			}
		})
	}
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, header string
		wantCode     string
	}{
		{"no header", "", codeAuthenticationFailed},
		{"not bearer", "Basic YWxhZGRpbjpvcGVuc2VzYW1l", codeAuthenticationFailed},
		{"empty bearer", "Bearer ", codeAuthenticationFailed},
		{"bad token", "Bearer forged", codeInvalidAuthenticationToken},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.send(tc.header, http.MethodPut, groupPath("rg")+api, `{"location":"x"}`, "")
			if r.status != http.StatusUnauthorized || r.code() != tc.wantCode {
				t.Errorf("got %d %s, want 401 %s", r.status, r.code(), tc.wantCode)
			}
			ch := r.header.Get("WWW-Authenticate")
			for _, want := range []string{`Bearer authorization_uri="https://login.signet.test/"`, `error="invalid_token"`, `error_description="`} {
				if !strings.Contains(ch, want) {
					t.Errorf("WWW-Authenticate = %q, want it to contain %q", ch, want)
				}
			}
		})
	}
	// Unauthenticated requests leave no activity record and change nothing.
	var n int
	e.read(func(tx store.Tx) error {
		as, err := tx.ListActivity(store.AuditFilter{})
		n = len(as)
		return err
	})
	if n != 0 {
		t.Errorf("%d activity records for unauthenticated requests, want 0", n)
	}
	// A token without an object id is refused too.
	e.tokens["anon"] = &jwt.Claims{TenantID: tenant1}
	if r := e.do("anon", http.MethodGet, "/subscriptions"+api, nil); r.status != http.StatusUnauthorized {
		t.Errorf("token without oid: %d, want 401", r.status)
	}
}
