package client

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Paths of the authorization provider below a scope.
const (
	roleDefinitionsPath = "/providers/Microsoft.Authorization/roleDefinitions"
	roleAssignmentsPath = "/providers/Microsoft.Authorization/roleAssignments"
)

// PrincipalTypeServicePrincipal is the principal type of service principals
// and managed identities.
const PrincipalTypeServicePrincipal = "ServicePrincipal"

// scopePrefix turns an ARM scope into the path prefix of a provider under
// it: "/" (the root) becomes "", anything else must be absolute.
func scopePrefix(scope string) (string, error) {
	scope = strings.TrimRight(scope, "/")
	if scope == "" {
		return "", nil
	}
	if err := checkPath(scope); err != nil {
		return "", fmt.Errorf("client: invalid scope %q", scope)
	}
	return scope, nil
}

// ListRoleDefinitions lists the role definitions usable at scope ("/" for
// the root); with roleName set, only the role of that name (ARM's
// $filter=roleName eq '…').
func (c *Client) ListRoleDefinitions(ctx context.Context, scope, roleName string) ([]RoleDefinition, error) {
	prefix, err := scopePrefix(scope)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if roleName != "" {
		q.Set("$filter", "roleName eq '"+odataQuote(roleName)+"'")
	}
	return list[RoleDefinition](ctx, c, call{path: prefix + roleDefinitionsPath, apiVersion: APIVersionAuthorization, query: q})
}

// RoleDefinitionID is the full id of a role definition by GUID, as a role
// assignment names it: under the subscription when the client has one (as
// Azure does), else at the root.
func (c *Client) RoleDefinitionID(roleGUID string) string {
	if sub, err := c.subscriptionPath(); err == nil {
		return sub + roleDefinitionsPath + "/" + roleGUID
	}
	return roleDefinitionsPath + "/" + roleGUID
}

// CreateRoleAssignment assigns a role at scope under a new random GUID.
// props.RoleDefinitionID must be the role's full id (see RoleDefinitionID);
// an empty PrincipalType means ServicePrincipal.
func (c *Client) CreateRoleAssignment(ctx context.Context, scope string, props RoleAssignmentProperties) (RoleAssignment, error) {
	prefix, err := scopePrefix(scope)
	if err != nil {
		return RoleAssignment{}, err
	}
	if props.PrincipalID == "" || props.RoleDefinitionID == "" {
		return RoleAssignment{}, fmt.Errorf("client: role assignment needs a principal id and a role definition id")
	}
	if props.PrincipalType == "" {
		props.PrincipalType = PrincipalTypeServicePrincipal
	}
	// The scope is in the path; a scope in the body could only disagree.
	props.Scope = ""
	name, err := newGUID()
	if err != nil {
		return RoleAssignment{}, err
	}
	var out RoleAssignment
	err = c.do(ctx, call{
		method:     http.MethodPut,
		path:       prefix + roleAssignmentsPath + "/" + name,
		apiVersion: APIVersionAuthorization,
		body:       RoleAssignment{Properties: props},
		ok:         []int{http.StatusOK, http.StatusCreated},
	}, &out)
	return out, err
}

// ListRoleAssignments lists the role assignments that apply at scope (ARM:
// those at, above and below it); with principalID set, only that principal's.
func (c *Client) ListRoleAssignments(ctx context.Context, scope, principalID string) ([]RoleAssignment, error) {
	prefix, err := scopePrefix(scope)
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if principalID != "" {
		q.Set("$filter", "principalId eq '"+odataQuote(principalID)+"'")
	}
	return list[RoleAssignment](ctx, c, call{path: prefix + roleAssignmentsPath, apiVersion: APIVersionAuthorization, query: q})
}

// GetRoleAssignment reads a role assignment by its full id.
func (c *Client) GetRoleAssignment(ctx context.Context, id string) (RoleAssignment, error) {
	if err := checkRoleAssignmentID(id); err != nil {
		return RoleAssignment{}, err
	}
	var out RoleAssignment
	err := c.do(ctx, call{method: http.MethodGet, path: id, apiVersion: APIVersionAuthorization}, &out)
	return out, err
}

// DeleteRoleAssignment deletes a role assignment by its full id
// ({scope}/providers/Microsoft.Authorization/roleAssignments/{guid}).
func (c *Client) DeleteRoleAssignment(ctx context.Context, id string) error {
	if err := checkRoleAssignmentID(id); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: id, apiVersion: APIVersionAuthorization}, nil)
}

// checkRoleAssignmentID keeps a delete by id from reaching anything but a
// role assignment, whatever string the caller passed.
func checkRoleAssignmentID(id string) error {
	i := strings.LastIndex(strings.ToLower(id), strings.ToLower(roleAssignmentsPath)+"/")
	if i < 0 || checkName("role assignment", id[i+len(roleAssignmentsPath)+1:]) != nil {
		return fmt.Errorf("client: %q is not a role assignment id", id)
	}
	return checkPath(id)
}

// odataQuote escapes a string literal for an OData $filter.
func odataQuote(s string) string { return strings.ReplaceAll(s, "'", "''") }

// newGUID returns a random (version 4) UUID, the name of a new assignment.
func newGUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("client: generating id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
