package arm

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/store"
)

func TestReaderCanReadButNotWrite(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	e.vm("rg", "vm", nil)
	e.principal("reader", tenant1, authz.ReaderRoleID, groupPath("rg"))
	e.must(http.StatusOK, "reader", http.MethodGet, vmPath("rg", "vm")+api, nil)
	e.must(http.StatusOK, "reader", http.MethodGet, groupPath("rg")+api, nil)
	e.must(http.StatusNoContent, "reader", http.MethodHead, groupPath("rg")+api, nil)
	e.must(http.StatusNotFound, "admin", http.MethodHead, groupPath("nope")+api, nil)
	r := e.must(http.StatusForbidden, "reader", http.MethodPut, vmPath("rg", "vm")+api, map[string]any{"location": "westeurope"})
	if r.code() != codeAuthorizationFailed || !strings.Contains(string(r.body), "Microsoft.Compute/virtualMachines/write") {
		t.Errorf("denial = %s, want AuthorizationFailed naming the action", r.body)
	}
	e.must(http.StatusForbidden, "reader", http.MethodDelete, vmPath("rg", "vm")+api, nil)
	// No permission at all: 403 whether or not the target exists.
	e.principal("nobody", tenant1, "", "")
	for _, p := range []string{vmPath("rg", "vm"), vmPath("rg", "missing"), vmPath("nogroup", "x")} {
		if r := e.do("nobody", http.MethodGet, p+api, nil); r.status != http.StatusForbidden {
			t.Errorf("GET %s without permission: %d, want 403", p, r.status)
		}
	}
	// Lists show only what the caller may read.
	e.group("hidden")
	var groups list[groupJSON]
	e.must(http.StatusOK, "reader", http.MethodGet, "/subscriptions/"+sub1+"/resourcegroups"+api, nil).decode(t, &groups)
	if len(groups.Value) != 1 || groups.Value[0].Name != "rg" {
		t.Errorf("reader's groups = %+v, want only rg", groups.Value)
	}
}

func TestContributorCannotAssignRoles(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	contributor := e.principal("contributor", tenant1, authz.ContributorRoleID, "/subscriptions/"+sub1)
	e.must(http.StatusCreated, "contributor", http.MethodPut, vmPath("rg", "vm")+api, map[string]any{"location": "westeurope"})
	r := e.must(http.StatusForbidden, "contributor", http.MethodPut, raPath(groupPath("rg"), directory.NewID())+raAPI, map[string]any{
		"properties": map[string]any{"roleDefinitionId": authz.OwnerRoleID, "principalId": contributor},
	})
	if r.code() != codeAuthorizationFailed {
		t.Errorf("code = %q, want AuthorizationFailed", r.code())
	}
}

func TestAttachingUserAssignedIdentityNeedsAssignAction(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	e.group("ids")
	id := e.uami("ids", "u")
	// A custom role that may write VMs but nothing about identities.
	e.must(http.StatusCreated, "admin", http.MethodPut, "/subscriptions/"+sub1+"/providers/Microsoft.Authorization/roleDefinitions/"+vmWriterRole+raAPI, map[string]any{
		"properties": map[string]any{
			"roleName": "VM Writer", "assignableScopes": []string{"/subscriptions/" + sub1},
			"permissions": []map[string]any{{"actions": []string{"Microsoft.Compute/virtualMachines/*"}}},
		},
	})
	op := e.principal("operator", tenant1, vmWriterRole, groupPath("rg"))
	body := map[string]any{"location": "westeurope", "identity": userAssigned(id.ID)}
	before := e.snapshot()
	r := e.must(http.StatusForbidden, "operator", http.MethodPut, vmPath("rg", "vm")+api, body)
	if r.code() != codeLinkedAuthorizationFailed || !strings.Contains(string(r.body), actionAssignIdentity) || !strings.Contains(string(r.body), id.ID) {
		t.Errorf("denial = %s, want LinkedAuthorizationFailed naming the action and the identity", r.body)
	}
	if diff := cmp.Diff(before, e.snapshot()); diff != "" {
		t.Errorf("refused request changed the store:\n%s", diff)
	}
	// Without identities the same caller may create the VM.
	e.must(http.StatusCreated, "operator", http.MethodPut, vmPath("rg", "plain")+api, map[string]any{"location": "westeurope"})

	e.grant(op, authz.ManagedIdentityOperatorRoleID, id.ID)
	e.must(http.StatusCreated, "operator", http.MethodPut, vmPath("rg", "vm")+api, body)
	// Re-sending the same identity is not a new attachment.
	e.write(func(tx store.Tx) error { _, err := tx.DeleteRoleAssignmentsForPrincipal(op); return err })
	e.grant(op, vmWriterRole, groupPath("rg"))
	e.must(http.StatusOK, "operator", http.MethodPut, vmPath("rg", "vm")+api, body)
}

const vmWriterRole = "0c6d7a52-5b1f-4d8e-9a3c-6f2e1b4d7a90"

func TestCrossTenantCallerIsRefused(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	id := e.uami("rg", "u")
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/subscriptions/" + sub1},
		{http.MethodGet, groupPath("rg")},
		{http.MethodPut, groupPath("evil")},
		{http.MethodGet, uamiPath("rg", "u")},
		{http.MethodGet, "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleAssignments"},
		{http.MethodGet, "/subscriptions/" + sub1 + "/providers/Signet.Audit/signIns"},
	} {
		r := e.do("admin2", c.method, c.path+api, map[string]any{"location": "x"})
		if r.status != http.StatusNotFound || r.code() != codeSubscriptionNotFound {
			t.Errorf("%s %s from tenant 2: %d %s, want 404 SubscriptionNotFound", c.method, c.path, r.status, r.code())
		}
	}
	var subs list[subscriptionJSON]
	e.must(http.StatusOK, "admin2", http.MethodGet, "/subscriptions"+api, nil).decode(t, &subs)
	if len(subs.Value) != 1 || subs.Value[0].SubscriptionID != sub2 {
		t.Errorf("tenant 2 sees %+v, want only its subscription", subs.Value)
	}
	// Tenant 2 cannot attach tenant 1's identity to its own VM.
	e.must(http.StatusCreated, "admin2", http.MethodPut, "/subscriptions/"+sub2+"/resourceGroups/rg"+api, map[string]any{"location": "x"})
	r := e.do("admin2", http.MethodPut, "/subscriptions/"+sub2+"/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"+api,
		map[string]any{"location": "x", "identity": userAssigned(id.ID)})
	if r.status != http.StatusForbidden || r.code() != codeLinkedAuthorizationFailed {
		t.Errorf("cross-tenant attach: %d %s, want 403 LinkedAuthorizationFailed", r.status, r.code())
	}
	// Nor assign roles to tenant 1's principals, even at the root.
	admin1 := e.tokens["admin"].ObjectID
	e.grant(e.tokens["admin2"].ObjectID, authz.OwnerRoleID, "/")
	r = e.do("admin2", http.MethodPut, raPath("/", directory.NewID())+raAPI, map[string]any{
		"properties": map[string]any{"roleDefinitionId": authz.OwnerRoleID, "principalId": admin1},
	})
	if r.status != http.StatusBadRequest || r.code() != codePrincipalNotFound {
		t.Errorf("assigning another tenant's principal: %d %s, want 400 PrincipalNotFound", r.status, r.code())
	}
	// A root listing shows nothing of tenant 1.
	var ras list[raJSON]
	e.must(http.StatusOK, "admin2", http.MethodGet, "/providers/Microsoft.Authorization/roleAssignments"+raAPI, nil).decode(t, &ras)
	for _, a := range ras.Value {
		if strings.Contains(a.Properties.Scope, sub1) || a.Properties.PrincipalID == admin1 {
			t.Errorf("tenant 2 sees tenant 1's assignment %+v", a)
		}
	}
}

func TestSubscriptionVisibility(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	e.principal("rgonly", tenant1, authz.ReaderRoleID, groupPath("rg"))
	e.principal("none", tenant1, "", "")
	var subs list[subscriptionJSON]
	e.must(http.StatusOK, "rgonly", http.MethodGet, "/subscriptions"+api, nil).decode(t, &subs)
	want := []subscriptionJSON{subscriptionOut(store.Subscription{ID: sub1, TenantID: tenant1, DisplayName: "one", State: "Enabled"})}
	if diff := cmp.Diff(want, subs.Value); diff != "" {
		t.Errorf("subscriptions of a group reader (-want +got):\n%s", diff)
	}
	subs = list[subscriptionJSON]{}
	e.must(http.StatusOK, "none", http.MethodGet, "/subscriptions"+api, nil).decode(t, &subs)
	if len(subs.Value) != 0 {
		t.Errorf("a principal without roles sees %+v", subs.Value)
	}
	e.must(http.StatusForbidden, "none", http.MethodGet, "/subscriptions/"+sub1+api, nil)
	e.must(http.StatusOK, "rgonly", http.MethodGet, "/subscriptions/"+sub1+api, nil)
}
