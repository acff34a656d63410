package client

import (
	"bytes"
	"encoding/json"
	"time"
)

// Every type decoded from a response keeps the object exactly as the server
// sent it in Raw, so a caller (the CLI's JSON output) can show fields this
// package does not model. Raw is never sent back: marshalling uses the typed
// fields only, so editing a decoded value and PUTting it does what it says.

func unmarshalKeepRaw(b []byte, typed any, raw *json.RawMessage) error {
	if err := json.Unmarshal(b, typed); err != nil {
		return err
	}
	*raw = bytes.Clone(b)
	return nil
}

// ResourceGroup is an ARM resource group.
type ResourceGroup struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"`
	Type       string                   `json:"type,omitempty"`
	Location   string                   `json:"location"`
	ManagedBy  string                   `json:"managedBy,omitempty"`
	Tags       map[string]string        `json:"tags,omitempty"`
	Properties *ResourceGroupProperties `json:"properties,omitempty"`
	Raw        json.RawMessage          `json:"-"`
}

// ResourceGroupProperties are a group's read-only properties.
type ResourceGroupProperties struct {
	ProvisioningState string `json:"provisioningState,omitempty"`
}

func (g *ResourceGroup) UnmarshalJSON(b []byte) error {
	type plain ResourceGroup
	return unmarshalKeepRaw(b, (*plain)(g), &g.Raw)
}

// Resource is any ARM resource (a VM, web app, vault...). Properties are
// kept as JSON because their shape depends on the type.
type Resource struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location,omitempty"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties json.RawMessage   `json:"properties,omitempty"`
	Identity   *Identity         `json:"identity,omitempty"`
	Raw        json.RawMessage   `json:"-"`
}

func (r *Resource) UnmarshalJSON(b []byte) error {
	type plain Resource
	return unmarshalKeepRaw(b, (*plain)(r), &r.Raw)
}

// Identity types of a resource's identity block (azure-wire-protocol §10.2).
const (
	IdentityNone                       = "None"
	IdentitySystemAssigned             = "SystemAssigned"
	IdentityUserAssigned               = "UserAssigned"
	IdentitySystemAndUserAssigned      = "SystemAssigned, UserAssigned" // Compute's spelling
	IdentitySystemAndUserAssignedNoGap = "SystemAssigned,UserAssigned"  // common-types' spelling
)

// Identity is a resource's identity block. On input, user-assigned map
// values are empty objects (&UserAssignedIdentity{}); in a PATCH a nil value
// removes that identity (JSON merge patch, RFC 7396).
type Identity struct {
	Type                   string                           `json:"type"`
	PrincipalID            string                           `json:"principalId,omitempty"`
	TenantID               string                           `json:"tenantId,omitempty"`
	UserAssignedIdentities map[string]*UserAssignedIdentity `json:"userAssignedIdentities,omitempty"`
}

// UserAssignedIdentity is one entry of an identity block's
// userAssignedIdentities map (read-only values the server fills in).
type UserAssignedIdentity struct {
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

// ManagedIdentity is a user-assigned identity resource
// (Microsoft.ManagedIdentity/userAssignedIdentities, §10.1).
type ManagedIdentity struct {
	ID         string                     `json:"id,omitempty"`
	Name       string                     `json:"name,omitempty"`
	Type       string                     `json:"type,omitempty"`
	Location   string                     `json:"location"`
	Tags       map[string]string          `json:"tags,omitempty"`
	Properties *ManagedIdentityProperties `json:"properties,omitempty"`
	Raw        json.RawMessage            `json:"-"`
}

// ManagedIdentityProperties are a user-assigned identity's read-only ids.
type ManagedIdentityProperties struct {
	TenantID    string `json:"tenantId,omitempty"`
	PrincipalID string `json:"principalId,omitempty"`
	ClientID    string `json:"clientId,omitempty"`
}

func (m *ManagedIdentity) UnmarshalJSON(b []byte) error {
	type plain ManagedIdentity
	return unmarshalKeepRaw(b, (*plain)(m), &m.Raw)
}

// RoleDefinition is a role (§10.5), in ARM's wire shape.
type RoleDefinition struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"` // the role's GUID
	Type       string                   `json:"type,omitempty"`
	Properties RoleDefinitionProperties `json:"properties"`
	Raw        json.RawMessage          `json:"-"`
}

// RoleDefinitionProperties is what a role grants.
type RoleDefinitionProperties struct {
	RoleName         string       `json:"roleName"`
	RoleType         string       `json:"type,omitempty"` // BuiltInRole or CustomRole
	Description      string       `json:"description,omitempty"`
	AssignableScopes []string     `json:"assignableScopes,omitempty"`
	Permissions      []Permission `json:"permissions,omitempty"`
}

// Permission is one block of a role definition.
type Permission struct {
	Actions        []string `json:"actions"`
	NotActions     []string `json:"notActions"`
	DataActions    []string `json:"dataActions"`
	NotDataActions []string `json:"notDataActions"`
}

func (d *RoleDefinition) UnmarshalJSON(b []byte) error {
	type plain RoleDefinition
	return unmarshalKeepRaw(b, (*plain)(d), &d.Raw)
}

// RoleAssignment grants a role to a principal at a scope (§10.4).
type RoleAssignment struct {
	ID         string                   `json:"id,omitempty"`
	Name       string                   `json:"name,omitempty"` // the assignment's GUID
	Type       string                   `json:"type,omitempty"`
	Properties RoleAssignmentProperties `json:"properties"`
	Raw        json.RawMessage          `json:"-"`
}

// RoleAssignmentProperties says who gets which role where.
type RoleAssignmentProperties struct {
	// RoleDefinitionID is the role's full id,
	// /subscriptions/{s}/providers/Microsoft.Authorization/roleDefinitions/{guid}.
	RoleDefinitionID string `json:"roleDefinitionId"`
	PrincipalID      string `json:"principalId"`
	PrincipalType    string `json:"principalType,omitempty"`
	Scope            string `json:"scope,omitempty"`
	Description      string `json:"description,omitempty"`
	CreatedOn        string `json:"createdOn,omitempty"`
	CreatedBy        string `json:"createdBy,omitempty"`
}

func (a *RoleAssignment) UnmarshalJSON(b []byte) error {
	type plain RoleAssignment
	return unmarshalKeepRaw(b, (*plain)(a), &a.Raw)
}

// SignIn is one token request in the sign-in log, granted or refused.
type SignIn struct {
	ID             string          `json:"id"`
	Time           time.Time       `json:"time"`
	TenantID       string          `json:"tenantId,omitempty"`
	PrincipalID    string          `json:"principalId,omitempty"`
	ClientID       string          `json:"clientId,omitempty"`
	Resource       string          `json:"resource,omitempty"`
	Result         string          `json:"result"` // success or failure
	ErrorCode      string          `json:"errorCode,omitempty"`
	Reason         string          `json:"reason,omitempty"`
	CallerAddress  string          `json:"callerAddress,omitempty"`
	CredentialType string          `json:"credentialType,omitempty"`
	TokenID        string          `json:"tokenId,omitempty"`
	Raw            json.RawMessage `json:"-"`
}

func (s *SignIn) UnmarshalJSON(b []byte) error {
	type plain SignIn
	return unmarshalKeepRaw(b, (*plain)(s), &s.Raw)
}

// ActivityEvent is one control-plane write in the activity log.
type ActivityEvent struct {
	ID            string          `json:"id"`
	Time          time.Time       `json:"time"`
	TenantID      string          `json:"tenantId,omitempty"`
	CallerID      string          `json:"callerId,omitempty"`  // object id of the caller
	Operation     string          `json:"operation,omitempty"` // e.g. Microsoft.Compute/virtualMachines/write
	ResourceID    string          `json:"resourceId,omitempty"`
	Result        string          `json:"result"`           // success or failure
	Status        int             `json:"status,omitempty"` // HTTP status answered
	Message       string          `json:"message,omitempty"`
	CallerAddress string          `json:"callerAddress,omitempty"`
	Raw           json.RawMessage `json:"-"`
}

func (e *ActivityEvent) UnmarshalJSON(b []byte) error {
	type plain ActivityEvent
	return unmarshalKeepRaw(b, (*plain)(e), &e.Raw)
}

// SigningKey is a token-signing key as the control plane reports it.
type SigningKey struct {
	KID       string          `json:"kid"`
	PublishAt time.Time       `json:"publishAt"`
	ActiveAt  time.Time       `json:"activeAt"`
	Raw       json.RawMessage `json:"-"`
}

func (k *SigningKey) UnmarshalJSON(b []byte) error {
	type plain SigningKey
	return unmarshalKeepRaw(b, (*plain)(k), &k.Raw)
}
