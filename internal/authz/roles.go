package authz

import (
	"errors"
	"fmt"
	"slices"

	"github.com/signet-platform/signet/internal/store"
)

// GUIDs of the built-in roles: Azure's own for Azure's roles, so role
// definition ids in scripts and templates carry over unchanged.
const (
	OwnerRoleID                      = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
	ContributorRoleID                = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	ReaderRoleID                     = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	UserAccessAdministratorRoleID    = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
	KeyVaultAdministratorRoleID      = "00482a5a-887f-4fb3-b363-3b7fe8e74483"
	KeyVaultReaderRoleID             = "21090545-7ca7-4776-b22c-e363652d74d2"
	KeyVaultSecretsOfficerRoleID     = "b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
	KeyVaultSecretsUserRoleID        = "4633458b-17de-408a-b874-0445c86b69e6"
	StorageBlobDataReaderRoleID      = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
	StorageBlobDataContributorRoleID = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
	StorageBlobDataOwnerRoleID       = "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"
	ManagedIdentityOperatorRoleID    = "f1a07417-d97a-45cb-824c-7a7467783830"
	ManagedIdentityContributorRoleID = "e40ec5ca-96e0-45a2-b4ff-59039f2c2b59"
	// LogReaderRoleID is Signet's own: read the sign-in and activity logs
	// and nothing else. Not an Azure GUID; fixed so it is stable across installs.
	LogReaderRoleID = "5a3e1c2d-7b4f-4e8a-9c61-2f0d8b7a4e35"
)

// Shared "management" actions that Azure's data-plane roles also carry, so a
// holder can see the resource group and deployments around what they use.
var (
	keyVaultManagementActions = []string{
		"Microsoft.Authorization/*/read",
		"Microsoft.Insights/alertRules/*",
		"Microsoft.Resources/deployments/*",
		"Microsoft.Resources/subscriptions/resourceGroups/read",
		"Microsoft.Support/*",
		"Microsoft.KeyVault/checkNameAvailability/read",
		"Microsoft.KeyVault/deletedVaults/read",
		"Microsoft.KeyVault/locations/*/read",
		"Microsoft.KeyVault/vaults/*/read",
		"Microsoft.KeyVault/operations/read",
	}
	managedIdentitySupportActions = []string{
		"Microsoft.Authorization/*/read",
		"Microsoft.Insights/alertRules/*",
		"Microsoft.Resources/subscriptions/resourceGroups/read",
		"Microsoft.Resources/deployments/*",
		"Microsoft.Support/*",
	}
)

const blob = "Microsoft.Storage/storageAccounts/blobServices/"

// BuiltInRoles are the role definitions every Signet install has, with
// Azure's GUIDs and permissions (reference section 10.5). Treat as read-only.
var BuiltInRoles = []store.RoleDefinition{
	builtIn(OwnerRoleID, "Owner",
		"Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
		store.Permission{Actions: []string{"*"}}),
	builtIn(ContributorRoleID, "Contributor",
		"Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC, manage assignments in Azure Blueprints, or share image galleries.",
		store.Permission{
			Actions: []string{"*"},
			NotActions: []string{
				"Microsoft.Authorization/*/Delete",
				"Microsoft.Authorization/*/Write",
				"Microsoft.Authorization/elevateAccess/Action",
				"Microsoft.Blueprint/blueprintAssignments/write",
				"Microsoft.Blueprint/blueprintAssignments/delete",
				"Microsoft.Compute/galleries/share/action",
				"Microsoft.Purview/consents/write",
				"Microsoft.Purview/consents/delete",
				"Microsoft.Resources/deploymentStacks/manageDenySetting/action",
				"Microsoft.Subscription/cancel/action",
				"Microsoft.Subscription/enable/action",
			},
		}),
	builtIn(ReaderRoleID, "Reader",
		"View all resources, but does not allow you to make any changes.",
		store.Permission{Actions: []string{"*/read"}}),
	builtIn(UserAccessAdministratorRoleID, "User Access Administrator",
		"Lets you manage user access to Azure resources.",
		store.Permission{Actions: []string{"*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"}}),
	builtIn(KeyVaultAdministratorRoleID, "Key Vault Administrator",
		"Perform all data plane operations on a key vault and all objects in it, including certificates, keys, and secrets. Cannot manage key vault resources or manage role assignments. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		store.Permission{Actions: slices.Clone(keyVaultManagementActions), DataActions: []string{"Microsoft.KeyVault/vaults/*"}}),
	builtIn(KeyVaultReaderRoleID, "Key Vault Reader",
		"Read metadata of key vaults and its certificates, keys, and secrets. Cannot read sensitive values such as secret contents or key material. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		store.Permission{Actions: slices.Clone(keyVaultManagementActions), DataActions: []string{
			"Microsoft.KeyVault/vaults/*/read",
			"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
		}}),
	builtIn(KeyVaultSecretsOfficerRoleID, "Key Vault Secrets Officer",
		"Perform any action on the secrets of a key vault, except manage permissions. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		store.Permission{Actions: slices.Clone(keyVaultManagementActions), DataActions: []string{"Microsoft.KeyVault/vaults/secrets/*"}}),
	builtIn(KeyVaultSecretsUserRoleID, "Key Vault Secrets User",
		"Read secret contents. Only works for key vaults that use the 'Azure role-based access control' permission model.",
		store.Permission{DataActions: []string{
			"Microsoft.KeyVault/vaults/secrets/getSecret/action",
			"Microsoft.KeyVault/vaults/secrets/readMetadata/action",
		}}),
	builtIn(StorageBlobDataReaderRoleID, "Storage Blob Data Reader",
		"Read and list Azure Storage containers and blobs.",
		store.Permission{
			Actions:     []string{blob + "containers/read", blob + "generateUserDelegationKey/action"},
			DataActions: []string{blob + "containers/blobs/read"},
		}),
	builtIn(StorageBlobDataContributorRoleID, "Storage Blob Data Contributor",
		"Read, write, and delete Azure Storage containers and blobs.",
		store.Permission{
			Actions: []string{
				blob + "containers/delete", blob + "containers/read", blob + "containers/write",
				blob + "generateUserDelegationKey/action",
			},
			DataActions: []string{
				blob + "containers/blobs/delete", blob + "containers/blobs/read", blob + "containers/blobs/write",
				blob + "containers/blobs/move/action", blob + "containers/blobs/add/action",
			},
		}),
	builtIn(StorageBlobDataOwnerRoleID, "Storage Blob Data Owner",
		"Provides full access to Azure Storage blob containers and data, including assigning POSIX access control.",
		store.Permission{
			Actions:     []string{blob + "containers/*", blob + "generateUserDelegationKey/action"},
			DataActions: []string{blob + "containers/blobs/*"},
		}),
	builtIn(ManagedIdentityOperatorRoleID, "Managed Identity Operator",
		"Read and Assign User Assigned Identity",
		store.Permission{Actions: append([]string{
			"Microsoft.ManagedIdentity/userAssignedIdentities/*/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action",
		}, managedIdentitySupportActions...)}),
	builtIn(ManagedIdentityContributorRoleID, "Managed Identity Contributor",
		"Create, Read, Update, and Delete User Assigned Identity",
		store.Permission{Actions: append([]string{
			"Microsoft.ManagedIdentity/userAssignedIdentities/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/write",
			"Microsoft.ManagedIdentity/userAssignedIdentities/delete",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/read",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/write",
			"Microsoft.ManagedIdentity/userAssignedIdentities/federatedIdentityCredentials/delete",
			"Microsoft.ManagedIdentity/userAssignedIdentities/revokeTokens/action",
		}, managedIdentitySupportActions...)}),
	// Log Reader deliberately lacks */read: reading the logs should not also
	// reveal every resource's configuration.
	builtIn(LogReaderRoleID, "Log Reader",
		"Read Signet's sign-in log and activity log. Signet built-in role.",
		store.Permission{Actions: []string{
			"Signet.Audit/*/read",
			"Microsoft.Insights/eventtypes/*/read",
			"Microsoft.Resources/subscriptions/read",
		}}),
}

func builtIn(id, name, description string, p store.Permission) store.RoleDefinition {
	return store.RoleDefinition{
		ID:               id,
		RoleName:         name,
		Description:      description,
		RoleType:         "BuiltInRole",
		AssignableScopes: []string{"/"},
		Permissions:      []store.Permission{p},
	}
}

// builtInByID indexes BuiltInRoles by lower-case GUID.
var builtInByID = func() map[string]store.RoleDefinition {
	m := make(map[string]store.RoleDefinition, len(BuiltInRoles))
	for _, r := range BuiltInRoles {
		m[normalizeRoleID(r.ID)] = r
	}
	return m
}()

// IsBuiltIn reports whether id (a GUID or a role definition resource id) is a
// built-in role. The control plane must refuse to change or delete those.
func IsBuiltIn(id string) bool {
	_, ok := builtInByID[normalizeRoleID(id)]
	return ok
}

// RBACWriter is the part of a store transaction SeedBuiltIns needs.
type RBACWriter interface {
	PutRoleDefinition(store.RoleDefinition) error
	GetRoleDefinition(id string) (store.RoleDefinition, error)
}

// SeedBuiltIns writes the built-in roles into the store, replacing any older
// copies so that an upgrade brings new permissions with it. Running it again
// changes nothing (CreatedAt of an existing row is kept).
func SeedBuiltIns(tx RBACWriter) error {
	for _, r := range BuiltInRoles {
		old, err := tx.GetRoleDefinition(r.ID)
		switch {
		case err == nil:
			r.CreatedAt, r.UpdatedAt = old.CreatedAt, old.UpdatedAt
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("authz: seeding built-in role %q: %w", r.RoleName, err)
		}
		if err := tx.PutRoleDefinition(r); err != nil {
			return fmt.Errorf("authz: seeding built-in role %q: %w", r.RoleName, err)
		}
	}
	return nil
}
