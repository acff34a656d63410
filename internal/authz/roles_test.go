package authz

import (
	"regexp"
	"testing"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestBuiltInRolesShape(t *testing.T) {
	seenID, seenName := map[string]bool{}, map[string]bool{}
	for _, r := range BuiltInRoles {
		if !guidRE.MatchString(r.ID) {
			t.Errorf("role %q id %q is not a lower-case GUID", r.RoleName, r.ID)
		}
		if seenID[r.ID] || seenName[r.RoleName] {
			t.Errorf("role %q / %q appears twice", r.ID, r.RoleName)
		}
		seenID[r.ID], seenName[r.RoleName] = true, true
		if r.RoleType != "BuiltInRole" || len(r.AssignableScopes) != 1 || r.AssignableScopes[0] != "/" || len(r.Permissions) == 0 {
			t.Errorf("role %q: type %q, assignable scopes %q, %d permission blocks", r.RoleName, r.RoleType, r.AssignableScopes, len(r.Permissions))
		}
		if !IsBuiltIn(r.ID) || !IsBuiltIn("/providers/Microsoft.Authorization/roleDefinitions/"+r.ID) {
			t.Errorf("IsBuiltIn(%q) = false", r.ID)
		}
	}
	if IsBuiltIn(customSecretsNoDeleteID) {
		t.Error("IsBuiltIn(custom role) = true")
	}
	// The GUIDs others compile against are Azure's.
	for name, want := range map[string]string{
		"Owner": OwnerRoleID, "Contributor": ContributorRoleID, "Reader": ReaderRoleID,
		"User Access Administrator": UserAccessAdministratorRoleID, "Key Vault Secrets User": KeyVaultSecretsUserRoleID,
		"Storage Blob Data Reader": StorageBlobDataReaderRoleID, "Managed Identity Operator": ManagedIdentityOperatorRoleID,
	} {
		if got := builtInByID[want].RoleName; got != name {
			t.Errorf("role %s has name %q, want %q", want, got, name)
		}
	}
	if got, want := OwnerRoleID, "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"; got != want {
		t.Errorf("OwnerRoleID = %s, want %s", got, want)
	}
}

func TestSuggestRole(t *testing.T) {
	tests := []struct {
		action string
		data   bool
		want   string // role name, "" for none
	}{
		{"Microsoft.Compute/virtualMachines/read", false, "Reader"},
		{"Microsoft.Compute/virtualMachines/write", false, "Contributor"},
		{"Microsoft.Authorization/roleAssignments/write", false, "User Access Administrator"},
		{"Microsoft.Authorization/elevateAccess/Action", false, "User Access Administrator"},
		{"Microsoft.KeyVault/vaults/secrets/getSecret/action", true, "Key Vault Secrets User"},
		{"Microsoft.KeyVault/vaults/secrets/setSecret/action", true, "Key Vault Secrets Officer"},
		{"Microsoft.KeyVault/vaults/keys/sign/action", true, "Key Vault Administrator"},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read", true, "Storage Blob Data Reader"},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write", true, "Storage Blob Data Contributor"},
		{"Microsoft.Storage/storageAccounts/blobServices/containers/blobs/runAsSuperUser/action", true, "Storage Blob Data Owner"},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", false, "Managed Identity Operator"},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/write", false, "Managed Identity Contributor"},
		{"Signet.Audit/signIns/read", false, "Log Reader"},
		{"Signet.Keys/rotate/action", false, "Contributor"},
		{"Microsoft.Unknown/things/explode/action", true, ""},
	}
	for _, tt := range tests {
		r, ok := SuggestRole(tt.action, tt.data)
		if got := r.RoleName; got != tt.want || ok != (tt.want != "") {
			t.Errorf("SuggestRole(%q, %v) = %q, %v; want %q", tt.action, tt.data, got, ok, tt.want)
		}
		if ok && !RoleAllows(r, tt.action, tt.data) {
			t.Errorf("SuggestRole(%q) suggested %q, which does not allow it", tt.action, r.RoleName)
		}
	}
}
