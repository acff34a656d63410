package arm

import (
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
)

func TestRoleAssignmentListFilters(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	e.vm("rg", "vm", nil)
	p := e.principal("p", tenant1, "", "")
	q := e.principal("q", tenant1, "", "")
	put := func(name, scope, principal string) {
		e.must(http.StatusCreated, "admin", http.MethodPut, raPath(scope, name)+raAPI, map[string]any{
			"properties": map[string]any{"roleDefinitionId": authz.ReaderRoleID, "principalId": principal},
		})
	}
	const (
		atSub = "00000000-0000-4000-8000-000000000001"
		atRG  = "00000000-0000-4000-8000-000000000002"
		atVM  = "00000000-0000-4000-8000-000000000003"
		qAtRG = "00000000-0000-4000-8000-000000000004"
	)
	put(atSub, "/subscriptions/"+sub1, p)
	put(atRG, groupPath("rg"), p)
	put(atVM, vmPath("rg", "vm"), p)
	put(qAtRG, groupPath("rg"), q)
	admin := e.tokens["admin"].ObjectID // Owner at the subscription, from newEnv

	list := func(scope, filter string) []string {
		t.Helper()
		target := strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleAssignments" + raAPI
		if filter != "" {
			target += "&$filter=" + url.QueryEscape(filter)
		}
		var l struct {
			Value []raJSON `json:"value"`
		}
		e.must(http.StatusOK, "admin", http.MethodGet, target, nil).decode(t, &l)
		var names []string
		for _, a := range l.Value {
			if a.Properties.PrincipalID == admin {
				names = append(names, "admin")
				continue
			}
			names = append(names, a.Name)
		}
		sort.Strings(names)
		return names
	}
	tests := []struct {
		scope, filter string
		want          []string
	}{
		{groupPath("rg"), "", []string{atSub, atRG, atVM, qAtRG, "admin"}},
		{groupPath("rg"), "atScope()", []string{atSub, atRG, qAtRG, "admin"}},
		{groupPath("rg"), "principalId eq '" + p + "'", []string{atSub, atRG, atVM}},
		{groupPath("rg"), "atScope() and principalId eq '" + p + "'", []string{atSub, atRG}},
		{vmPath("rg", "vm"), "atScope()", []string{atSub, atRG, atVM, qAtRG, "admin"}},
		{"/subscriptions/" + sub1, "assignedTo('" + q + "')", []string{qAtRG}},
	}
	for _, tc := range tests {
		want := append([]string(nil), tc.want...)
		sort.Strings(want)
		if diff := cmp.Diff(want, list(tc.scope, tc.filter)); diff != "" {
			t.Errorf("list at %s with %q (-want +got):\n%s", tc.scope, tc.filter, diff)
		}
	}

	// GET by id at the wrong scope is not found; DELETE returns the body, then 204.
	e.must(http.StatusNotFound, "admin", http.MethodGet, raPath("/subscriptions/"+sub1, atRG)+raAPI, nil)
	var deleted raJSON
	e.must(http.StatusOK, "admin", http.MethodDelete, raPath(groupPath("rg"), atRG)+raAPI, nil).decode(t, &deleted)
	if deleted.Name != atRG || deleted.Properties.Scope != groupPath("rg") {
		t.Errorf("deleted = %+v", deleted)
	}
	e.must(http.StatusNoContent, "admin", http.MethodDelete, raPath(groupPath("rg"), atRG)+raAPI, nil)
}

func TestRoleAssignmentsFollowTheirScope(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	vm := e.vm("rg", "vm", nil)
	p := e.principal("p", tenant1, "", "")
	e.must(http.StatusCreated, "admin", http.MethodPut, raPath(vm.ID, directory.NewID())+raAPI, map[string]any{
		"properties": map[string]any{"roleDefinitionId": authz.ReaderRoleID, "principalId": p},
	})
	// A child scope below an existing resource is a valid scope.
	e.must(http.StatusCreated, "admin", http.MethodPut, raPath(vm.ID+"/extensions/e1", directory.NewID())+raAPI, map[string]any{
		"properties": map[string]any{"roleDefinitionId": authz.ReaderRoleID, "principalId": p},
	})
	e.must(http.StatusOK, "p", http.MethodGet, vmPath("rg", "vm")+api, nil)
	// Deleting and recreating the VM does not resurrect the grant.
	e.must(http.StatusOK, "admin", http.MethodDelete, vmPath("rg", "vm")+api, nil)
	e.vm("rg", "vm", nil)
	e.must(http.StatusForbidden, "p", http.MethodGet, vmPath("rg", "vm")+api, nil)
}

func TestCustomRoleDefinitions(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	sub := "/subscriptions/" + sub1
	id := directory.NewID()
	rdPath := sub + "/providers/Microsoft.Authorization/roleDefinitions/"
	body := map[string]any{"properties": map[string]any{
		"roleName": "VM Reader", "description": "reads VMs", "assignableScopes": []string{groupPath("rg")},
		"permissions": []map[string]any{{"actions": []string{"Microsoft.Compute/virtualMachines/read"}}},
	}}
	var created rdJSON
	e.must(http.StatusCreated, "admin", http.MethodPut, rdPath+id+raAPI, body).decode(t, &created)
	want := rdJSON{ID: rdPath + id, Name: id, Type: typeRD, Properties: rdProperties{
		RoleName: "VM Reader", Type: "CustomRole", Description: "reads VMs", AssignableScopes: []string{groupPath("rg")},
		Permissions: created.Properties.Permissions, CreatedOn: e.now, UpdatedOn: e.now,
	}}
	if diff := cmp.Diff(want, created); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	// Same name again under another id: conflict.
	r := e.must(http.StatusConflict, "admin", http.MethodPut, rdPath+directory.NewID()+raAPI, body)
	if r.code() != codeRoleDefinitionNameExists {
		t.Errorf("code = %s", r.code())
	}
	// Listed where assignable, filtered by name and type; not at the root.
	names := func(scope, filter string) []string {
		var l struct {
			Value []rdJSON `json:"value"`
		}
		target := strings.TrimSuffix(scope, "/") + "/providers/Microsoft.Authorization/roleDefinitions" + raAPI
		if filter != "" {
			target += "&$filter=" + url.QueryEscape(filter)
		}
		e.must(http.StatusOK, "admin", http.MethodGet, target, nil).decode(t, &l)
		var out []string
		for _, d := range l.Value {
			out = append(out, d.Properties.RoleName)
		}
		return out
	}
	if got := names(groupPath("rg"), "type eq 'CustomRole'"); !cmp.Equal(got, []string{"VM Reader"}) {
		t.Errorf("custom roles at rg = %v", got)
	}
	if got := names(sub, "roleName eq 'VM Reader'"); len(got) != 0 {
		t.Errorf("role assignable only at rg listed at the subscription: %v", got)
	}
	if got := names(sub, "roleName eq 'Managed Identity Operator'"); !cmp.Equal(got, []string{"Managed Identity Operator"}) {
		t.Errorf("built-in by name = %v", got)
	}
	// Assignable at rg, not at the subscription.
	p := e.principal("p", tenant1, "", "")
	e.must(http.StatusBadRequest, "admin", http.MethodPut, raPath(sub, directory.NewID())+raAPI, map[string]any{
		"properties": map[string]any{"roleDefinitionId": id, "principalId": p},
	})
	ra := directory.NewID()
	e.must(http.StatusCreated, "admin", http.MethodPut, raPath(groupPath("rg"), ra)+raAPI, map[string]any{
		"properties": map[string]any{"roleDefinitionId": id, "principalId": p},
	})
	// In use: cannot be deleted; then can.
	e.must(http.StatusConflict, "admin", http.MethodDelete, rdPath+id+raAPI, nil)
	e.must(http.StatusOK, "admin", http.MethodDelete, raPath(groupPath("rg"), ra)+raAPI, nil)
	e.must(http.StatusOK, "admin", http.MethodDelete, rdPath+id+raAPI, nil)
	e.must(http.StatusNoContent, "admin", http.MethodDelete, rdPath+id+raAPI, nil)
	// Tenant 2 cannot see or take over tenant 1's custom roles.
	e.must(http.StatusCreated, "admin", http.MethodPut, rdPath+id+raAPI, body)
	e.must(http.StatusNotFound, "admin2", http.MethodGet, "/subscriptions/"+sub2+"/providers/Microsoft.Authorization/roleDefinitions/"+id+raAPI, nil)
	hijack := map[string]any{"properties": map[string]any{
		"roleName": "Mine", "assignableScopes": []string{"/subscriptions/" + sub2},
		"permissions": []map[string]any{{"actions": []string{"*"}}},
	}}
	e.must(http.StatusConflict, "admin2", http.MethodPut, "/subscriptions/"+sub2+"/providers/Microsoft.Authorization/roleDefinitions/"+id+raAPI, hijack)
}

func TestPaging(t *testing.T) {
	e := newEnv(t)
	e.srv.pageSize = 2
	names := []string{"e", "a", "D", "c", "b"}
	for _, n := range names {
		e.group(n)
	}
	var got []string
	target := "/subscriptions/" + sub1 + "/resourcegroups" + api
	for pages := 0; target != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		var l list[groupJSON]
		e.must(http.StatusOK, "admin", http.MethodGet, target, nil).decode(t, &l)
		for _, g := range l.Value {
			got = append(got, g.Name)
		}
		target = ""
		if l.NextLink != "" {
			u, err := url.Parse(l.NextLink)
			if err != nil || u.Scheme != "https" || u.Query().Get("api-version") == "" {
				t.Fatalf("nextLink %q: want https with api-version", l.NextLink)
			}
			target = u.RequestURI()
		}
	}
	if diff := cmp.Diff([]string{"a", "b", "c", "D", "e"}, got); diff != "" {
		t.Errorf("paged groups (-want +got):\n%s", diff)
	}
}
