package authz

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/signet-platform/signet/internal/store"
)

const (
	alice = "11111111-1111-1111-1111-111111111111"
	bob   = "22222222-2222-2222-2222-222222222222"

	sub1    = "/subscriptions/s1"
	groupA  = sub1 + "/resourceGroups/rg-a"
	groupB  = sub1 + "/resourceGroups/rg-b"
	vm1     = groupA + "/providers/Microsoft.Compute/virtualMachines/vm1"
	vm2     = groupA + "/providers/Microsoft.Compute/virtualMachines/vm2"
	vault   = groupA + "/providers/Microsoft.KeyVault/vaults/kv1"
	secret1 = vault + "/secrets/s1"
	secret2 = vault + "/secrets/s2"
	account = groupA + "/providers/Microsoft.Storage/storageAccounts/st1"
	contnr  = account + "/blobServices/default/containers/c1"
	uami    = groupB + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"

	customSecretsNoDeleteID = "c0c0c0c0-0000-4000-8000-000000000001"
	customNarrowScopeID     = "c0c0c0c0-0000-4000-8000-000000000002"

	blobRead       = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read"
	containerWrite = "Microsoft.Storage/storageAccounts/blobServices/containers/write"
	getSecret      = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	assignUAMI     = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"
	assignUAMIStar = "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action"
)

// testRoles is every built-in role plus two custom ones.
func testRoles() map[string]store.RoleDefinition {
	roles := make(map[string]store.RoleDefinition)
	for _, r := range BuiltInRoles {
		roles[r.ID] = r
	}
	roles[customSecretsNoDeleteID] = store.RoleDefinition{
		ID: customSecretsNoDeleteID, RoleName: "Secrets Except Delete", RoleType: "CustomRole",
		AssignableScopes: []string{sub1},
		Permissions: []store.Permission{{
			DataActions:    []string{"Microsoft.KeyVault/vaults/secrets/*"},
			NotDataActions: []string{"Microsoft.KeyVault/vaults/secrets/delete"},
		}},
	}
	// Assignable only in rg-b, yet (in a test row) assigned at the subscription.
	roles[customNarrowScopeID] = store.RoleDefinition{
		ID: customNarrowScopeID, RoleName: "Narrow Reader", RoleType: "CustomRole",
		AssignableScopes: []string{groupB},
		Permissions:      []store.Permission{{Actions: []string{"*/read"}}},
	}
	return roles
}

func assign(id, principal, roleID, scope string) store.RoleAssignment {
	return store.RoleAssignment{ID: id, PrincipalID: principal, RoleDefinitionID: roleID, Scope: scope, PrincipalType: "ServicePrincipal"}
}

type decisionCase struct {
	name        string
	assignments []store.RoleAssignment
	req         Request
	allowed     bool
	role        string // RoleName of the allowing role
}

func decisionCases() []decisionCase {
	act := func(scope, action string) Request { return Request{PrincipalID: alice, Action: action, Scope: scope} }
	data := func(scope, action string) Request {
		return Request{PrincipalID: alice, Action: action, Scope: scope, DataAction: true}
	}
	const vmWrite, vmRead = "Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/read"
	const raWrite = "Microsoft.Authorization/roleAssignments/write"
	return []decisionCase{
		{"no assignments denies", nil, act(vm1, vmRead), false, ""},
		{"reader at subscription inherits to vm", []store.RoleAssignment{assign("a1", alice, ReaderRoleID, sub1)}, act(vm1, vmRead), true, "Reader"},
		{"contributor at group inherits to vm", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, groupA)}, act(vm1, vmWrite), true, "Contributor"},
		{"contributor at group a does not reach group b", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, groupA)}, act(uami, "Microsoft.ManagedIdentity/userAssignedIdentities/write"), false, ""},
		{"owner at root reaches everything", []store.RoleAssignment{assign("a1", alice, OwnerRoleID, "/")}, act(vm1, raWrite), true, "Owner"},
		{"resource-level assignment applies to the resource", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, vm1)}, act(vm1, vmWrite), true, "Contributor"},
		{"resource-level assignment does not reach a sibling", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, vm1)}, act(vm2, vmWrite), false, ""},
		{"resource-level assignment does not reach its group", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, vm1)}, act(groupA, "Microsoft.Resources/subscriptions/resourceGroups/read"), false, ""},
		{"contributor cannot write role assignments", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, sub1)}, act(vm1, raWrite), false, ""},
		{"contributor cannot delete role assignments", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, sub1)}, act(vm1, "Microsoft.Authorization/roleAssignments/delete"), false, ""},
		{"contributor can read role assignments", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, sub1)}, act(vm1, "Microsoft.Authorization/roleAssignments/read"), true, "Contributor"},
		{"user access administrator writes role assignments", []store.RoleAssignment{assign("a1", alice, UserAccessAdministratorRoleID, sub1)}, act(vm1, raWrite), true, "User Access Administrator"},
		{"user access administrator cannot write vms", []store.RoleAssignment{assign("a1", alice, UserAccessAdministratorRoleID, sub1)}, act(vm1, vmWrite), false, ""},
		{"reader */read does not write", []store.RoleAssignment{assign("a1", alice, ReaderRoleID, sub1)}, act(vm1, vmWrite), false, ""},
		{"reader */read does not run actions", []store.RoleAssignment{assign("a1", alice, ReaderRoleID, sub1)}, act(vm1, "Microsoft.Compute/virtualMachines/start/action"), false, ""},
		{"owner does not get blob data read", []store.RoleAssignment{assign("a1", alice, OwnerRoleID, sub1)}, data(contnr, blobRead), false, ""},
		{"owner does not get secret values", []store.RoleAssignment{assign("a1", alice, OwnerRoleID, "/")}, data(secret1, getSecret), false, ""},
		{"blob data reader reads blobs", []store.RoleAssignment{assign("a1", alice, StorageBlobDataReaderRoleID, account)}, data(contnr, blobRead), true, "Storage Blob Data Reader"},
		{"blob data reader cannot write containers", []store.RoleAssignment{assign("a1", alice, StorageBlobDataReaderRoleID, account)}, act(contnr, containerWrite), false, ""},
		{"blob data reader cannot write blobs", []store.RoleAssignment{assign("a1", alice, StorageBlobDataReaderRoleID, account)}, data(contnr, "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write"), false, ""},
		{"blob read as an action is not a data action", []store.RoleAssignment{assign("a1", alice, StorageBlobDataReaderRoleID, account)}, act(contnr, blobRead), false, ""},
		{"blob data contributor writes containers", []store.RoleAssignment{assign("a1", alice, StorageBlobDataContributorRoleID, account)}, act(contnr, containerWrite), true, "Storage Blob Data Contributor"},
		{"secrets user on one secret reads it", []store.RoleAssignment{assign("a1", alice, KeyVaultSecretsUserRoleID, secret1)}, data(secret1, getSecret), true, "Key Vault Secrets User"},
		{"secrets user on one secret cannot read another", []store.RoleAssignment{assign("a1", alice, KeyVaultSecretsUserRoleID, secret1)}, data(secret2, getSecret), false, ""},
		{"secrets user on one secret cannot read at the vault", []store.RoleAssignment{assign("a1", alice, KeyVaultSecretsUserRoleID, secret1)}, data(vault, getSecret), false, ""},
		{"secrets user cannot set secrets", []store.RoleAssignment{assign("a1", alice, KeyVaultSecretsUserRoleID, vault)}, data(secret1, "Microsoft.KeyVault/vaults/secrets/setSecret/action"), false, ""},
		{"key vault reader reads metadata, not values", []store.RoleAssignment{assign("a1", alice, KeyVaultReaderRoleID, vault)}, data(secret1, getSecret), false, ""},
		{"key vault administrator reads values", []store.RoleAssignment{assign("a1", alice, KeyVaultAdministratorRoleID, vault)}, data(secret1, getSecret), true, "Key Vault Administrator"},
		{"custom role notDataActions denies delete", []store.RoleAssignment{assign("a1", alice, customSecretsNoDeleteID, vault)}, data(secret1, "Microsoft.KeyVault/vaults/secrets/delete"), false, ""},
		{"custom role dataActions allow get", []store.RoleAssignment{assign("a1", alice, customSecretsNoDeleteID, vault)}, data(secret1, getSecret), true, "Secrets Except Delete"},
		{"custom role outside its assignable scopes grants nothing", []store.RoleAssignment{assign("a1", alice, customNarrowScopeID, sub1)}, act(uami, "Microsoft.ManagedIdentity/userAssignedIdentities/read"), false, ""},
		{"custom role inside its assignable scopes", []store.RoleAssignment{assign("a1", alice, customNarrowScopeID, groupB)}, act(uami, "Microsoft.ManagedIdentity/userAssignedIdentities/read"), true, "Narrow Reader"},
		{"managed identity operator assigns", []store.RoleAssignment{assign("a1", alice, ManagedIdentityOperatorRoleID, uami)}, act(uami, assignUAMI), true, "Managed Identity Operator"},
		{"managed identity operator assigns (documented action)", []store.RoleAssignment{assign("a1", alice, ManagedIdentityOperatorRoleID, uami)}, act(uami, assignUAMIStar), true, "Managed Identity Operator"},
		{"managed identity operator cannot write the identity", []store.RoleAssignment{assign("a1", alice, ManagedIdentityOperatorRoleID, uami)}, act(uami, "Microsoft.ManagedIdentity/userAssignedIdentities/write"), false, ""},
		{"reader cannot assign an identity", []store.RoleAssignment{assign("a1", alice, ReaderRoleID, sub1)}, act(uami, assignUAMI), false, ""},
		{"contributor assigns an identity", []store.RoleAssignment{assign("a1", alice, ContributorRoleID, sub1)}, act(uami, assignUAMIStar), true, "Contributor"},
		{"another principal's assignment is irrelevant", []store.RoleAssignment{assign("a1", bob, OwnerRoleID, "/")}, act(vm1, vmRead), false, ""},
		{"scopes compare case-insensitively", []store.RoleAssignment{assign("a1", alice, ReaderRoleID, "/SUBSCRIPTIONS/S1/resourcegroups/RG-A")}, act(vm1, vmRead), true, "Reader"},
		{"actions compare case-insensitively", []store.RoleAssignment{assign("a1", alice, ReaderRoleID, sub1)}, act(vm1, "MICROSOFT.COMPUTE/VIRTUALMACHINES/READ"), true, "Reader"},
		{"principal and role ids compare case-insensitively", []store.RoleAssignment{assign("a1", "AAAA", "ACDD72A7-3385-48EF-BD42-F606FBA81AE7", sub1)},
			Request{PrincipalID: "aaaa", Action: vmRead, Scope: vm1}, true, "Reader"},
		{"role definition resource id as role id", []store.RoleAssignment{assign("a1", alice, "/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/"+ReaderRoleID, sub1)}, act(vm1, vmRead), true, "Reader"},
		{"subscription a does not contain subscription ab", []store.RoleAssignment{assign("a1", alice, OwnerRoleID, "/subscriptions/a")}, act("/subscriptions/ab/resourceGroups/g", vmRead), false, ""},
		{"unknown role grants nothing", []store.RoleAssignment{assign("a1", alice, "deadbeef-0000-0000-0000-000000000000", sub1)}, act(vm1, vmRead), false, ""},
		{"invalid request scope is denied", []store.RoleAssignment{assign("a1", alice, OwnerRoleID, "/")}, act("/subscriptions/s1//x", vmRead), false, ""},
		{"invalid assignment scope grants nothing", []store.RoleAssignment{assign("a1", alice, OwnerRoleID, "subscriptions/s1")}, act(vm1, vmRead), false, ""},
		{"empty action is denied", []store.RoleAssignment{assign("a1", alice, OwnerRoleID, "/")}, act(vm1, ""), false, ""},
		{"log reader reads sign-ins", []store.RoleAssignment{assign("a1", alice, LogReaderRoleID, sub1)}, act(sub1, "Signet.Audit/signIns/read"), true, "Log Reader"},
		{"log reader reads the activity log", []store.RoleAssignment{assign("a1", alice, LogReaderRoleID, sub1)}, act(sub1, "Microsoft.Insights/eventtypes/values/read"), true, "Log Reader"},
		{"log reader does not read vms", []store.RoleAssignment{assign("a1", alice, LogReaderRoleID, sub1)}, act(vm1, vmRead), false, ""},
		{"first allowing assignment is reported", []store.RoleAssignment{
			assign("a1", alice, KeyVaultSecretsUserRoleID, secret2),
			assign("a2", alice, ReaderRoleID, sub1),
			assign("a3", alice, OwnerRoleID, sub1),
		}, act(vm1, vmRead), true, "Reader"},
	}
}

func TestEvaluate(t *testing.T) {
	roles := testRoles()
	for _, tt := range decisionCases() {
		t.Run(tt.name, func(t *testing.T) {
			got := Evaluate(tt.req, tt.assignments, roles)
			if got.Allowed != tt.allowed || got.RoleName != tt.role {
				t.Errorf("Evaluate(%+v) = allowed %v by %q, want allowed %v by %q", tt.req, got.Allowed, got.RoleName, tt.allowed, tt.role)
			}
			if diff := cmp.Diff(tt.req, got.Request); diff != "" {
				t.Errorf("Decision.Request mismatch (-want +got):\n%s", diff)
			}
			if !got.Allowed && (got.AssignmentID != "" || got.RoleDefinitionID != "") {
				t.Errorf("denied decision names assignment %q / role %q", got.AssignmentID, got.RoleDefinitionID)
			}
		})
	}
}

func TestDenialMessage(t *testing.T) {
	d := Decision{Request: Request{PrincipalID: alice, Action: "Microsoft.Compute/virtualMachines/write", Scope: vm1}}
	got := d.DenialMessage()
	want := "The client '" + alice + "' with object id '" + alice + "' does not have authorization to perform action " +
		"'Microsoft.Compute/virtualMachines/write' over scope '" + vm1 + "' or the scope is invalid. " +
		"If access was recently granted, please refresh your credentials."
	if got != want {
		t.Errorf("DenialMessage() =\n%s\nwant\n%s", got, want)
	}
}
