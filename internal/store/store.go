package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap driver errors so that errors.Is works with
// these; protocol edges translate them into their own error shapes.
var (
	// ErrNotFound: the record asked for does not exist.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a record with the same key already exists (or a uniqueness
	// rule was broken).
	ErrConflict = errors.New("store: conflict")
	// ErrSchemaTooNew: the database was migrated by a newer Signet than this one.
	ErrSchemaTooNew = errors.New("store: database schema is newer than this binary supports")
)

// Store is the durable state behind every server part.
type Store interface {
	// Read runs fn in a read-only transaction over a consistent snapshot.
	Read(ctx context.Context, fn func(Tx) error) error
	// Write runs fn in a read-write transaction; if fn returns an error, nothing
	// it did is kept. fn may be retried on serialization conflicts.
	Write(ctx context.Context, fn func(Tx) error) error
	// Ping reports whether the backend is reachable.
	Ping(ctx context.Context) error
	// Close releases the backend's resources.
	Close() error
}

// Tx is everything a transaction can do, grouped by aggregate. Consumers should
// declare the narrow subset they need.
type Tx interface {
	TenantTx
	ResourceTx
	PrincipalTx
	RBACTx
	KeyTx
	AuditTx
	MIRPTx
	BlobTx
	SecretTx
	GenerationTx
}

// TenantTx covers tenants, subscriptions and resource groups.
type TenantTx interface {
	CreateTenant(Tenant) error
	GetTenant(id string) (Tenant, error)
	ListTenants() ([]Tenant, error)

	CreateSubscription(Subscription) error
	GetSubscription(id string) (Subscription, error)
	ListSubscriptions(tenantID string) ([]Subscription, error)

	// PutResourceGroup creates or replaces a resource group.
	PutResourceGroup(ResourceGroup) error
	GetResourceGroup(subscriptionID, name string) (ResourceGroup, error)
	ListResourceGroups(subscriptionID string) ([]ResourceGroup, error)
	DeleteResourceGroup(subscriptionID, name string) error
}

// ResourceTx covers ARM resources and which user-assigned identities each uses.
// Resource ids are compared case-insensitively (backends store a lower-cased key).
type ResourceTx interface {
	// PutResource creates or replaces a resource (by ID).
	PutResource(Resource) error
	GetResource(id string) (Resource, error)
	// ListResources lists resources of a subscription, optionally narrowed to a
	// resource group (rg != "") and a type (typ != ""), ordered by ID.
	ListResources(subscriptionID, rg, typ string) ([]Resource, error)
	DeleteResource(id string) error

	// SetResourceIdentities replaces the set of user-assigned identities (by
	// their resource ids) that a resource uses.
	SetResourceIdentities(resourceID string, identityResourceIDs []string) error
	ListResourceIdentities(resourceID string) ([]string, error)
	// ListIdentityUsers lists the resources that use a user-assigned identity.
	ListIdentityUsers(identityResourceID string) ([]string, error)
}

// PrincipalTx covers service principals, managed identities and credentials.
type PrincipalTx interface {
	CreatePrincipal(Principal) error
	// UpdatePrincipal replaces a principal by ObjectID.
	UpdatePrincipal(Principal) error
	GetPrincipal(objectID string) (Principal, error)
	GetPrincipalByClientID(tenantID, clientID string) (Principal, error)
	// GetPrincipalByResourceID finds the managed identity whose ResourceID
	// (the xms_mirid) is id, of the given kind.
	GetPrincipalByResourceID(kind PrincipalKind, id string) (Principal, error)
	ListPrincipals(tenantID string) ([]Principal, error)
	// DeletePrincipal deletes the principal and its credentials.
	DeletePrincipal(objectID string) error

	CreateCredential(Credential) error
	ListCredentials(principalID string) ([]Credential, error)
	// GetCredentialByThumbprint finds a certificate credential by the SHA-256
	// thumbprint of its DER certificate.
	GetCredentialByThumbprint(sha256Thumbprint []byte) (Credential, error)
	DeleteCredential(id string) error
}

// RBACTx covers role definitions and role assignments.
type RBACTx interface {
	// PutRoleDefinition creates or replaces a role definition by ID.
	PutRoleDefinition(RoleDefinition) error
	GetRoleDefinition(id string) (RoleDefinition, error)
	ListRoleDefinitions() ([]RoleDefinition, error)
	DeleteRoleDefinition(id string) error

	// CreateRoleAssignment fails with ErrConflict if the ID exists or the same
	// (scope, role, principal) triple is already assigned.
	CreateRoleAssignment(RoleAssignment) error
	GetRoleAssignment(id string) (RoleAssignment, error)
	DeleteRoleAssignment(id string) error
	// ListRoleAssignments lists assignments matching the filter, ordered by ID.
	ListRoleAssignments(RoleAssignmentFilter) ([]RoleAssignment, error)
	// DeleteRoleAssignmentsForPrincipal removes every assignment of a principal.
	DeleteRoleAssignmentsForPrincipal(principalID string) (int, error)
	// DeleteRoleAssignmentsUnderScope removes every assignment at scope or below.
	DeleteRoleAssignmentsUnderScope(scope string) (int, error)
}

// KeyTx covers token-signing keys and the assertion replay cache.
type KeyTx interface {
	CreateSigningKey(SigningKey) error
	UpdateSigningKey(SigningKey) error
	ListSigningKeys() ([]SigningKey, error)
	DeleteSigningKey(kid string) error

	// MarkAssertionUsed records that an assertion id was presented. It fails
	// with ErrConflict if the (issuer, jti) pair is already recorded and has not
	// expired; expired markers may be pruned.
	MarkAssertionUsed(issuer, jti string, expires time.Time) error
	PruneAssertions(before time.Time) (int, error)
}

// AuditTx covers the sign-in, activity and data-access logs. Records are append-only.
type AuditTx interface {
	AppendSignIns([]SignIn) error
	ListSignIns(AuditFilter) ([]SignIn, error)
	AppendActivity([]Activity) error
	ListActivity(AuditFilter) ([]Activity, error)
	AppendAccess([]Access) error
	ListAccess(AuditFilter) ([]Access, error)

	// VerifyAudit checks a stream's hash chain from the retention
	// checkpoint to its head and reports the first break. It reads the
	// whole stream: run it in a Read transaction.
	VerifyAudit(AuditStream) (AuditVerification, error)
	// PruneAudit deletes up to max of a stream's oldest records (in
	// sequence order) whose Time is before before, stopping at the first
	// record that is not, and moves the stream's checkpoint to the last
	// one deleted so the chain still verifies. It returns how many it
	// deleted.
	PruneAudit(stream AuditStream, before time.Time, max int) (int, error)
}
