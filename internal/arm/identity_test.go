package arm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/store"
)

func TestSystemAssignedIdentityDiesWithItsResource(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	vm := e.vm("rg", "vm1", map[string]any{"type": "SystemAssigned"})
	if vm.Identity == nil || vm.Identity.PrincipalID == "" || vm.Identity.TenantID != tenant1 {
		t.Fatalf("identity = %+v, want a principal in tenant 1", vm.Identity)
	}
	pid := vm.Identity.PrincipalID
	// Give the identity a credential and a role assignment, as MIRP and an
	// operator would.
	e.write(func(tx store.Tx) error {
		return tx.CreateCredential(store.Credential{ID: directory.NewID(), PrincipalID: pid, Kind: store.CredentialCertificate,
			CertificateDER: []byte{1}, ThumbprintSHA256: []byte("thumb"), CreatedAt: e.now})
	})
	e.must(http.StatusCreated, "admin", http.MethodPut, raPath(groupPath("rg"), directory.NewID())+raAPI, map[string]any{
		"properties": map[string]any{"roleDefinitionId": "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleDefinitions/" + authz.ReaderRoleID, "principalId": pid},
	})

	var def systemIdentityJSON
	e.must(http.StatusOK, "admin", http.MethodGet, vmPath("rg", "vm1")+"/providers/Microsoft.ManagedIdentity/identities/default"+api, nil).decode(t, &def)
	if def.Properties.PrincipalID != pid || def.Name != "default" || def.Type != "Microsoft.ManagedIdentity/identities" {
		t.Errorf("identities/default = %+v, want principal %s", def, pid)
	}

	e.must(http.StatusOK, "admin", http.MethodDelete, vmPath("rg", "vm1")+api, nil)
	if e.principalExists(pid) {
		t.Error("system-assigned principal survived its VM")
	}
	e.read(func(tx store.Tx) error {
		creds, err := tx.ListCredentials(pid)
		if err != nil {
			return err
		}
		ras, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{PrincipalID: pid})
		if err != nil {
			return err
		}
		if len(creds) != 0 || len(ras) != 0 {
			t.Errorf("after delete: %d credentials, %d role assignments, want none", len(creds), len(ras))
		}
		return nil
	})
	e.must(http.StatusNotFound, "admin", http.MethodGet, vmPath("rg", "vm1")+"/providers/Microsoft.ManagedIdentity/identities/default"+api, nil)
	e.must(http.StatusNoContent, "admin", http.MethodDelete, vmPath("rg", "vm1")+api, nil)
}

// failingStore makes one Tx method fail, to show that a resource deletion
// and its identity's deletion commit together or not at all.
type failingStore struct {
	store.Store
}

type failingTx struct {
	store.Tx
}

func (f failingStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	return f.Store.Write(ctx, func(tx store.Tx) error { return fn(failingTx{tx}) })
}

func (failingTx) DeleteResource(string) error { return errors.New("injected failure") }

func TestResourceDeletionIsOneTransaction(t *testing.T) {
	e := newEnv(t)
	e.group("rg2")
	vm := e.vm("rg2", "vm1", map[string]any{"type": "SystemAssigned"})
	e.srv.Store = failingStore{e.st}

	e.must(http.StatusInternalServerError, "admin", http.MethodDelete, vmPath("rg2", "vm1")+api, nil)
	if !e.principalExists(vm.Identity.PrincipalID) {
		t.Error("the principal was deleted although the resource deletion failed")
	}
	var got resourceJSON
	e.must(http.StatusOK, "admin", http.MethodGet, vmPath("rg2", "vm1")+api, nil).decode(t, &got)
	if diff := cmp.Diff(vm, got); diff != "" {
		t.Errorf("VM changed by a failed delete (-before +after):\n%s", diff)
	}
}

func TestUserAssignedIdentityOutlivesItsUsers(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	id := e.uami("rg", "shared")
	props := uamiPrincipal(t, id)
	for _, name := range []string{"a", "b", "c"} {
		vm := e.vm("rg", name, userAssigned(id.ID))
		got := vm.Identity.UserAssignedIdentities[id.ID]
		if diff := cmp.Diff(uamiRef{PrincipalID: props.PrincipalID, ClientID: props.ClientID}, got); diff != "" {
			t.Errorf("vm %s identity (-want +got):\n%s", name, diff)
		}
	}
	e.read(func(tx store.Tx) error {
		users, err := tx.ListIdentityUsers(id.ID)
		if len(users) != 3 {
			t.Errorf("identity users = %v, want 3", users)
		}
		return err
	})
	for _, name := range []string{"a", "b", "c"} {
		e.must(http.StatusOK, "admin", http.MethodDelete, vmPath("rg", name)+api, nil)
	}
	var after resourceJSON
	e.must(http.StatusOK, "admin", http.MethodGet, uamiPath("rg", "shared")+api, nil).decode(t, &after)
	if diff := cmp.Diff(props, uamiPrincipal(t, after)); diff != "" {
		t.Errorf("identity changed by deleting its users (-before +after):\n%s", diff)
	}
	if !e.principalExists(props.PrincipalID) {
		t.Error("user-assigned principal deleted with its users")
	}
	// A PUT on the existing identity keeps its principal.
	var again resourceJSON
	e.must(http.StatusOK, "admin", http.MethodPut, uamiPath("rg", "shared")+api, map[string]any{"location": "westeurope", "tags": map[string]string{"k": "v"}}).decode(t, &again)
	if diff := cmp.Diff(props, uamiPrincipal(t, again)); diff != "" {
		t.Errorf("PUT on an existing identity changed it (-before +after):\n%s", diff)
	}
}

func TestIdentityTypeNoneAndReenable(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	id := e.uami("rg", "u1")
	vm := e.vm("rg", "vm", map[string]any{
		"type":                   "systemassigned, userassigned",
		"userAssignedIdentities": map[string]any{id.ID: map[string]any{}},
	})
	if vm.Identity.Type != "SystemAssigned, UserAssigned" {
		t.Errorf("type = %q, want Compute's spelling", vm.Identity.Type)
	}
	first := vm.Identity.PrincipalID

	var none resourceJSON
	e.must(http.StatusOK, "admin", http.MethodPatch, vmPath("rg", "vm")+api, map[string]any{"identity": map[string]any{"type": "None"}}).decode(t, &none)
	if none.Identity != nil {
		t.Errorf("after type None: identity = %+v, want none", none.Identity)
	}
	if e.principalExists(first) {
		t.Error("type None left the system-assigned principal")
	}
	if !e.principalExists(uamiPrincipal(t, id).PrincipalID) {
		t.Error("type None deleted the user-assigned identity itself")
	}

	var again resourceJSON
	e.must(http.StatusOK, "admin", http.MethodPatch, vmPath("rg", "vm")+api, map[string]any{"identity": map[string]any{"type": "SystemAssigned"}}).decode(t, &again)
	if again.Identity == nil || again.Identity.PrincipalID == "" || again.Identity.PrincipalID == first {
		t.Errorf("re-enabled identity = %+v, want a new principal (old %s)", again.Identity, first)
	}
	// Properties survive identity changes; PATCH merges them.
	var merged resourceJSON
	e.must(http.StatusOK, "admin", http.MethodPatch, vmPath("rg", "vm")+api, map[string]any{"properties": map[string]any{"osProfile": map[string]any{"computerName": "x"}}}).decode(t, &merged)
	var props map[string]any
	if err := json.Unmarshal(merged.Properties, &props); err != nil {
		t.Fatal(err)
	}
	if props["hardwareProfile"] == nil || props["osProfile"] == nil || props["provisioningState"] != "Succeeded" {
		t.Errorf("merged properties = %v", props)
	}
	if merged.Identity == nil || merged.Identity.PrincipalID != again.Identity.PrincipalID {
		t.Errorf("PATCH without identity changed it: %+v", merged.Identity)
	}
}

func TestPatchUserAssignedNullDetaches(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	u1, u2 := e.uami("rg", "u1"), e.uami("rg", "u2")
	e.vm("rg", "vm", userAssigned(u1.ID))
	var got resourceJSON
	e.must(http.StatusOK, "admin", http.MethodPatch, vmPath("rg", "vm")+api, userAssignedPatch(map[string]any{u2.ID: map[string]any{}})).decode(t, &got)
	if len(got.Identity.UserAssignedIdentities) != 2 {
		t.Fatalf("after adding u2: %v, want u1 and u2", got.Identity.UserAssignedIdentities)
	}
	got = resourceJSON{} // decoding into a used map would merge
	e.must(http.StatusOK, "admin", http.MethodPatch, vmPath("rg", "vm")+api, userAssignedPatch(map[string]any{u1.ID: nil})).decode(t, &got)
	if _, ok := got.Identity.UserAssignedIdentities[u2.ID]; !ok || len(got.Identity.UserAssignedIdentities) != 1 {
		t.Errorf("after detaching u1: %v, want only u2", got.Identity.UserAssignedIdentities)
	}
}

func userAssignedPatch(m map[string]any) map[string]any {
	return map[string]any{"identity": map[string]any{"type": "UserAssigned", "userAssignedIdentities": m}}
}

func TestDeletingUserAssignedIdentityDetachesItEverywhere(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	e.group("other")
	id := e.uami("rg", "u")
	pid := uamiPrincipal(t, id).PrincipalID
	e.grant(pid, authz.ReaderRoleID, "/subscriptions/"+sub1)
	e.vm("rg", "plain", userAssigned(id.ID))
	both := e.vm("other", "both", map[string]any{"type": "SystemAssigned,UserAssigned", "userAssignedIdentities": map[string]any{id.ID: map[string]any{}}})

	e.must(http.StatusOK, "admin", http.MethodDelete, uamiPath("rg", "u")+api, nil)

	var plain, other resourceJSON
	e.must(http.StatusOK, "admin", http.MethodGet, vmPath("rg", "plain")+api, nil).decode(t, &plain)
	e.must(http.StatusOK, "admin", http.MethodGet, vmPath("other", "both")+api, nil).decode(t, &other)
	if plain.Identity != nil {
		t.Errorf("plain VM identity = %+v, want none", plain.Identity)
	}
	want := &identityJSON{Type: "SystemAssigned", PrincipalID: both.Identity.PrincipalID, TenantID: tenant1}
	if diff := cmp.Diff(want, other.Identity); diff != "" {
		t.Errorf("VM with both identities (-want +got):\n%s", diff)
	}
	if e.principalExists(pid) {
		t.Error("user-assigned principal survived its identity")
	}
	e.read(func(tx store.Tx) error {
		ras, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{PrincipalID: pid})
		if len(ras) != 0 {
			t.Errorf("role assignments of the deleted identity: %v", ras)
		}
		return err
	})
	e.must(http.StatusNoContent, "admin", http.MethodDelete, uamiPath("rg", "u")+api, nil)
}

func TestDeletingGroupDeletesItsResourcesAndIdentities(t *testing.T) {
	e := newEnv(t)
	e.group("keep")
	e.group("gone")
	id := e.uami("gone", "u")
	user := e.vm("keep", "user", userAssigned(id.ID))
	vm := e.vm("gone", "vm", map[string]any{"type": "SystemAssigned"})
	e.must(http.StatusOK, "admin", http.MethodDelete, groupPath("gone")+api, nil)
	e.must(http.StatusNotFound, "admin", http.MethodGet, groupPath("gone")+api, nil)
	if e.principalExists(vm.Identity.PrincipalID) || e.principalExists(uamiPrincipal(t, id).PrincipalID) {
		t.Error("identities of the deleted group's resources survived")
	}
	var got resourceJSON
	e.must(http.StatusOK, "admin", http.MethodGet, vmPath("keep", user.Name)+api, nil).decode(t, &got)
	if got.Identity != nil {
		t.Errorf("VM outside the group still uses its deleted identity: %+v", got.Identity)
	}
}

func TestSystemDataAndTimes(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	created := e.vm("rg", "vm", nil)
	e.now = e.now.Add(time.Hour)
	var patched resourceJSON
	e.must(http.StatusOK, "admin", http.MethodPatch, vmPath("rg", "vm")+api, map[string]any{"tags": map[string]string{"a": "b"}}).decode(t, &patched)
	client := e.tokens["admin"].AppID
	want := systemData{CreatedBy: client, CreatedByType: "Application", CreatedAt: created.SystemData.CreatedAt,
		LastModifiedBy: client, LastModifiedByType: "Application", LastModifiedAt: e.now}
	if diff := cmp.Diff(want, patched.SystemData); diff != "" {
		t.Errorf("systemData (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"a": "b"}, patched.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}
