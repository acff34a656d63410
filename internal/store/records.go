package store

import (
	"encoding/json"
	"time"
)

// Tenant is a directory: principals and subscriptions belong to one.
type Tenant struct {
	ID          string // GUID
	DisplayName string
	CreatedAt   time.Time
}

// Subscription is the root of an ARM resource hierarchy.
type Subscription struct {
	ID          string // GUID
	TenantID    string
	DisplayName string
	State       string // "Enabled"
	CreatedAt   time.Time
}

// ResourceGroup groups resources within a subscription.
type ResourceGroup struct {
	SubscriptionID string
	Name           string // as created; looked up case-insensitively
	Location       string
	Tags           map[string]string
	CreatedAt      time.Time
}

// Resource is any ARM resource Signet tracks (VMs, hybrid machines, sites,
// vaults, storage accounts, user-assigned identities).
type Resource struct {
	ID             string // full ARM id as created, e.g. /subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1
	SubscriptionID string
	ResourceGroup  string
	Type           string // e.g. Microsoft.Compute/virtualMachines
	Name           string
	Location       string
	Tags           map[string]string
	// Properties is the resource's type-specific JSON properties object.
	Properties json.RawMessage
	// SystemAssignedPrincipalID is the object id of the resource's
	// system-assigned identity, or "" when it has none.
	SystemAssignedPrincipalID string
	CreatedAt                 time.Time
	CreatedBy                 string
	UpdatedAt                 time.Time
	UpdatedBy                 string
}

// PrincipalKind says what sort of principal a Principal is.
type PrincipalKind string

const (
	KindServicePrincipal PrincipalKind = "ServicePrincipal" // an app registration
	KindSystemAssigned   PrincipalKind = "SystemAssigned"   // system-assigned managed identity
	KindUserAssigned     PrincipalKind = "UserAssigned"     // user-assigned managed identity
)

// Principal is something that can sign in: a service principal or a managed
// identity. Managed identities are service principals of their own kind.
type Principal struct {
	ObjectID    string // principal (object) id, GUID
	ClientID    string // application (client) id, GUID
	TenantID    string
	Kind        PrincipalKind
	DisplayName string
	// ResourceID is the ARM resource id tokens carry as xms_mirid: the host
	// resource for a system-assigned identity, the identity's own resource for
	// a user-assigned one; "" for plain service principals.
	ResourceID string
	Enabled    bool
	CreatedAt  time.Time
}

// CredentialKind says how a credential proves possession.
type CredentialKind string

const (
	CredentialSecret      CredentialKind = "secret"
	CredentialCertificate CredentialKind = "certificate"
)

// Credential is a secret (stored only as a hash) or a certificate registered
// for a principal.
type Credential struct {
	ID          string // GUID
	PrincipalID string // object id
	Kind        CredentialKind
	// SecretHash is the hash of a client secret (see the directory package for
	// the scheme); nil for certificates.
	SecretHash []byte
	// Hint is a short, non-secret prefix of a client secret shown to operators.
	Hint string
	// CertificateDER is the certificate (certificates only).
	CertificateDER []byte
	// ThumbprintSHA256 is SHA-256 over CertificateDER (certificates only).
	ThumbprintSHA256 []byte
	NotBefore        time.Time
	NotAfter         time.Time
	CreatedAt        time.Time
}

// Permission is one block of a role definition.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

// RoleDefinition is a named set of permissions.
type RoleDefinition struct {
	ID               string // GUID (the ARM name)
	RoleName         string
	Description      string
	RoleType         string // "BuiltInRole" or "CustomRole"
	AssignableScopes []string
	Permissions      []Permission
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// RoleAssignment grants a role to a principal at a scope and everything below it.
type RoleAssignment struct {
	ID               string // GUID (the ARM name)
	Scope            string // "/", "/subscriptions/s", ".../resourceGroups/rg", a resource id, or a child scope below one
	RoleDefinitionID string // GUID
	PrincipalID      string // object id
	PrincipalType    string // "ServicePrincipal", "User", "Group", ...
	Description      string
	CreatedAt        time.Time
	CreatedBy        string
}

// RoleAssignmentFilter narrows ListRoleAssignments. Empty fields match all.
type RoleAssignmentFilter struct {
	PrincipalID string
	// AtScope matches assignments whose scope is exactly this (case-insensitive).
	AtScope string
	// UnderScope matches assignments at this scope or below it.
	UnderScope string
	// AboveScope matches assignments at this scope or any ancestor of it (what
	// applies to the scope).
	AboveScope string
}

// SigningKey is one token-signing key. Its life: published in the JWKS from
// PublishAt, signs from ActiveAt until a newer key becomes active, stays
// published until UnpublishAt (after every token it signed has expired).
type SigningKey struct {
	KID string
	// PrivateKeySealed is the PKCS#8 private key encrypted under the master key.
	PrivateKeySealed []byte
	// PublicKeyDER is the PKIX public key.
	PublicKeyDER []byte
	// CertificateDER is a self-signed certificate over the key, for x5t/x5c.
	CertificateDER []byte
	PublishAt      time.Time
	ActiveAt       time.Time
	// RetiredAt is when the key stopped signing (zero while it may still sign).
	RetiredAt   time.Time
	UnpublishAt time.Time // zero: no end set yet
	CreatedAt   time.Time
}

// AssertionUse is one presentation of a client assertion (RFC 7523 §3):
// its issuer and jti, spent until Expires.
type AssertionUse struct {
	Issuer  string
	JTI     string
	Expires time.Time
}

// SignIn is one token request, granted or refused.
type SignIn struct {
	ID             string // GUID
	Time           time.Time
	TenantID       string
	PrincipalID    string // object id, "" if unknown
	ClientID       string // as presented
	Resource       string // as requested
	Result         string // "success" or "failure"
	ErrorCode      string // AADSTS-style code for failures, "" on success
	Reason         string // human-readable reason
	CallerAddress  string
	CredentialType string // "clientSecret", "clientAssertion", "managedIdentity", ...
	TokenID        string // uti of the token issued, "" on failure

	// Seq, PrevHash and Hash place the record in its stream's hash chain.
	// The store sets them on append (whatever the caller put there) and
	// returns them on read.
	Seq      int64
	PrevHash []byte
	Hash     []byte
}

// Activity is one control-plane write.
type Activity struct {
	ID            string // GUID
	Time          time.Time
	TenantID      string
	CallerID      string // object id of the caller
	Operation     string // e.g. Microsoft.Compute/virtualMachines/write
	ResourceID    string
	Result        string // "success" or "failure"
	Status        int    // HTTP status returned
	Message       string
	CallerAddress string

	// Seq, PrevHash and Hash place the record in its stream's hash chain.
	// The store sets them on append (whatever the caller put there) and
	// returns them on read.
	Seq      int64
	PrevHash []byte
	Hash     []byte
}

// Access is one data-plane operation: a secret or blob touched, or a
// request refused before it could touch one.
type Access struct {
	ID            string // GUID
	Time          time.Time
	TenantID      string
	CallerID      string // object id of the caller, "" when no valid token
	ClientID      string
	Service       string // "keyvault" or "blob"
	ResourceID    string // ARM id of the vault or storage account
	Item          string // e.g. "secrets/name/version" or "container/blob"
	Action        string // the data action, e.g. Microsoft.KeyVault/vaults/secrets/getSecret/action
	Result        string // "success" or "failure"
	Status        int    // HTTP status returned
	ErrorCode     string // the service's error code on failure
	CallerAddress string
	TokenID       string // uti of the token used, to follow a token from issue to use

	// Seq, PrevHash and Hash place the record in its stream's hash chain.
	// The store sets them on append (whatever the caller put there) and
	// returns them on read.
	Seq      int64
	PrevHash []byte
	Hash     []byte
}

// AuditFilter narrows ListSignIns, ListActivity and ListAccess. Zero fields
// match all. Results are ordered newest first, by (Time, ID) descending.
// A field that names something a stream's records do not have (Operation
// on sign-ins, TokenID on activity) matches no record of that stream.
type AuditFilter struct {
	TenantID    string
	PrincipalID string // sign-ins: PrincipalID; activity and access: CallerID
	Since       time.Time
	Until       time.Time
	Result      string
	Limit       int // 0: backend default (1000)

	// ResourceID: sign-ins: the Resource asked for, exactly; activity and
	// access: ResourceID at or below this scope (case-insensitive).
	ResourceID string
	// Operation: activity: Operation; access: Action (case-insensitive).
	Operation string
	// TokenID: sign-ins and access: the token's uti, exactly.
	TokenID string
	// After continues a listing: only records after this position in the
	// newest-first order, that is older than After.Time, or as old with a
	// smaller ID (keyset paging; the zero value starts at the newest).
	After AuditCursor
}

// AuditCursor is a position in a newest-first audit listing: the (Time, ID)
// of the last record of the previous page.
type AuditCursor struct {
	Time time.Time
	ID   string
}

// IsZero reports whether the cursor is unset.
func (c AuditCursor) IsZero() bool { return c.ID == "" && c.Time.IsZero() }

// AuditStream names one audit log. Each stream has its own hash chain.
type AuditStream string

const (
	StreamSignIns  AuditStream = "signins"
	StreamActivity AuditStream = "activity"
	StreamAccess   AuditStream = "access"
)

// AuditStreams lists every stream, in a stable order.
var AuditStreams = []AuditStream{StreamSignIns, StreamActivity, StreamAccess}

// AuditVerification is the outcome of checking one stream's hash chain.
type AuditVerification struct {
	Stream AuditStream
	// OK is true when every kept record is intact, in sequence, and the
	// chain ends at the stream's recorded head.
	OK bool
	// Checked counts the records whose hashes were checked.
	Checked int64
	// Head is the last appended record; Pruned the last one retention
	// deleted (Seq 0 when none), from which the kept records continue.
	Head   AuditCheckpoint
	Pruned AuditCheckpoint
	// FirstBad is the first record (in sequence order) found altered,
	// inserted or missing; nil when OK.
	FirstBad *AuditFault
}

// AuditCheckpoint is a position in a stream's hash chain.
type AuditCheckpoint struct {
	Seq  int64
	Hash []byte
}

// AuditFault names the first break in a chain. ID is "" when the record is
// missing (deleted).
type AuditFault struct {
	Seq    int64
	ID     string
	Reason string
}
