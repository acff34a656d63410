package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/store"
)

type armIdentity struct {
	Type                   string                        `json:"type"`
	PrincipalID            string                        `json:"principalId,omitempty"`
	TenantID               string                        `json:"tenantId,omitempty"`
	UserAssignedIdentities map[string]*userAssignedValue `json:"userAssignedIdentities,omitempty"`
}

type userAssignedValue struct {
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

type armResource struct {
	ID       string       `json:"id,omitempty"`
	Name     string       `json:"name,omitempty"`
	Type     string       `json:"type,omitempty"`
	Location string       `json:"location"`
	Identity *armIdentity `json:"identity,omitempty"`
}

func (s *signet) vmPath(name string) string {
	return "/subscriptions/" + s.Dev.SubscriptionID + "/resourceGroups/" + s.Dev.ResourceGroup + "/providers/" + vmType + "/" + name
}

func (s *signet) putVM(t testing.TB, cred azcore.TokenCredential, name string, id *armIdentity) armResource {
	t.Helper()
	var out armResource
	if _, err := armDo(ctxT(t), t, s, cred, http.MethodPut, s.vmPath(name), computeAPI, armResource{Location: "local", Identity: id}, &out); err != nil {
		t.Fatalf("PUT vm %s: %v", name, err)
	}
	return out
}

func (s *signet) principalExists(t testing.TB, objectID string) bool {
	t.Helper()
	err := s.Store.Read(ctxT(t), func(tx store.Tx) error { _, err := tx.GetPrincipal(objectID); return err })
	return err == nil
}

func TestSystemAssignedIdentityLivesAndDiesWithItsVM(t *testing.T) {
	s := startSignet(t, "")
	ctx := ctxT(t)
	admin := s.adminCredential(t)

	vm := s.putVM(t, admin, "vm-sys", &armIdentity{Type: "SystemAssigned"})
	if vm.Identity == nil || vm.Identity.PrincipalID == "" || vm.Identity.TenantID != s.Dev.TenantID {
		t.Fatalf("VM identity = %+v, want a principal", vm.Identity)
	}
	principalID := vm.Identity.PrincipalID
	mi := s.principal(t, principalID)
	if mi.Kind != store.KindSystemAssigned || !strings.EqualFold(mi.ResourceID, s.vmPath("vm-sys")) {
		t.Fatalf("principal %+v", mi)
	}

	// The identity's credential (issued by MIRP in production; registered
	// here directly) gets a token carrying xms_mirid = the VM.
	cert, key := selfSignedCert(t, "vm-sys")
	s.addCertificate(t, &mi, cert, false)
	miCred, err := azidentity.NewClientCertificateCredential(s.Dev.TenantID, mi.ClientID, toCerts(cert), key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: s.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	c := s.verifyWithDiscovery(t, getToken(t, miCred, "https://vault.azure.net/.default").Token)
	if c.OID != principalID || !strings.EqualFold(c.MIRID, s.vmPath("vm-sys")) || c.AppIDACR != "2" {
		t.Errorf("MI token oid %q xms_mirid %q appidacr %q", c.OID, c.MIRID, c.AppIDACR)
	}
	checkCommonClaims(t, s, c, mi, 24*time.Hour)

	// A role assignment for it.
	ra, _ := armauthorization.NewRoleAssignmentsClient(s.Dev.SubscriptionID, admin, s.armOptions())
	scope := s.vmPath("vm-sys")
	_, err = ra.Create(ctx, "/subscriptions/"+s.Dev.SubscriptionID, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr("/subscriptions/" + s.Dev.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRoleID),
			PrincipalID:      &principalID, PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
		}}, nil)
	if err != nil {
		t.Fatalf("role assignment for the system-assigned identity: %v", err)
	}
	_ = scope

	// Deleting the VM deletes the principal, its credentials and its role
	// assignments, and the STS refuses its credential at once.
	if _, err := armDo(ctx, t, s, admin, http.MethodDelete, s.vmPath("vm-sys"), computeAPI, nil, nil); err != nil {
		t.Fatalf("DELETE vm: %v", err)
	}
	if s.principalExists(t, principalID) {
		t.Error("the system-assigned principal survived its VM")
	}
	if n := s.assignmentsOf(t, principalID); n != 0 {
		t.Errorf("%d role assignments survived the principal", n)
	}
	miCred2, _ := azidentity.NewClientCertificateCredential(s.Dev.TenantID, mi.ClientID, toCerts(cert), key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: s.clientOptions(), DisableInstanceDiscovery: true})
	if _, err := miCred2.GetToken(ctx, tokenOpts("https://vault.azure.net/.default")); err == nil {
		t.Error("the deleted identity's credential still gets tokens")
	}

	// Enabling again makes a new principal; disabling (None) removes it.
	vm = s.putVM(t, admin, "vm-sys", &armIdentity{Type: "SystemAssigned"})
	if vm.Identity.PrincipalID == principalID || vm.Identity.PrincipalID == "" {
		t.Errorf("re-enabled identity principal %q, want a new one", vm.Identity.PrincipalID)
	}
	second := vm.Identity.PrincipalID
	vm = s.putVM(t, admin, "vm-sys", &armIdentity{Type: "None"})
	if vm.Identity != nil && vm.Identity.Type != "None" {
		t.Errorf("after None: identity %+v", vm.Identity)
	}
	if s.principalExists(t, second) {
		t.Error("type None left the system-assigned principal behind")
	}
}

func TestUserAssignedIdentityOutlivesItsVMs(t *testing.T) {
	s := startSignet(t, "")
	ctx := ctxT(t)
	admin := s.adminCredential(t)
	msi, _ := armmsi.NewUserAssignedIdentitiesClient(s.Dev.SubscriptionID, admin, s.armOptions())
	uami, err := msi.CreateOrUpdate(ctx, s.Dev.ResourceGroup, "shared", armmsi.Identity{Location: to.Ptr("local")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"vm-a", "vm-b", "vm-c"} {
		vm := s.putVM(t, admin, name, &armIdentity{Type: "SystemAssigned, UserAssigned", UserAssignedIdentities: map[string]*userAssignedValue{*uami.ID: {}}})
		got := vm.Identity.UserAssignedIdentities
		var entry *userAssignedValue
		for k, v := range got {
			if strings.EqualFold(k, *uami.ID) {
				entry = v
			}
		}
		if entry == nil || entry.PrincipalID != *uami.Properties.PrincipalID || entry.ClientID != *uami.Properties.ClientID || vm.Identity.PrincipalID == "" {
			t.Fatalf("%s identity block %+v", name, vm.Identity)
		}
	}
	for _, name := range []string{"vm-a", "vm-b", "vm-c"} {
		if _, err := armDo(ctx, t, s, admin, http.MethodDelete, s.vmPath(name), computeAPI, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := msi.Get(ctx, s.Dev.ResourceGroup, "shared", nil); err != nil {
		t.Fatalf("the user-assigned identity did not survive its VMs: %v", err)
	}
	if !s.principalExists(t, *uami.Properties.PrincipalID) {
		t.Fatal("its principal is gone")
	}

	// type None removes all identities from a VM.
	vm := s.putVM(t, admin, "vm-d", &armIdentity{Type: "SystemAssigned,UserAssigned", UserAssignedIdentities: map[string]*userAssignedValue{*uami.ID: {}}})
	sys := vm.Identity.PrincipalID
	vm = s.putVM(t, admin, "vm-d", &armIdentity{Type: "None"})
	if vm.Identity != nil && (vm.Identity.Type != "None" || len(vm.Identity.UserAssignedIdentities) != 0) {
		t.Errorf("after None: %+v", vm.Identity)
	}
	if s.principalExists(t, sys) {
		t.Error("type None left the system-assigned principal")
	}
}

func (s *signet) assignmentsOf(t testing.TB, principalID string) int {
	t.Helper()
	var n int
	err := s.Store.Read(ctxT(t), func(tx store.Tx) error {
		as, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{PrincipalID: principalID})
		n = len(as)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
