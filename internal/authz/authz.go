package authz

import (
	"strings"

	"github.com/signet-platform/signet/internal/resourceid"
	"github.com/signet-platform/signet/internal/store"
)

// Request asks whether a principal may perform an action at a scope.
type Request struct {
	PrincipalID string // object id of the caller
	Action      string // e.g. Microsoft.Compute/virtualMachines/write or a data action
	// DataAction says Action is a data-plane action, matched against
	// dataActions/notDataActions instead of actions/notActions.
	DataAction bool
	Scope      string // ARM scope: "/", subscription, resource group, resource, or a child scope below one
}

// Decision is the answer to a Request.
type Decision struct {
	Request
	Allowed bool
	// AssignmentID and RoleName say which assignment allowed the request.
	AssignmentID string
	RoleName     string
	// RoleDefinitionID is the GUID of the role that allowed the request.
	RoleDefinitionID string
}

// Evaluate decides req from the given assignments and role definitions
// (keyed by role GUID; keys are matched case-insensitively). It is pure: the
// caller chooses what to load. Assignments of other principals, assignments
// whose scope does not contain req.Scope, assignments whose scope lies
// outside every assignable scope of their role, and assignments of unknown
// roles are ignored. The first assignment (in the given order) that allows
// the request is reported. An invalid request scope, an empty principal or
// an empty action is denied.
func Evaluate(req Request, assignments []store.RoleAssignment, roles map[string]store.RoleDefinition) Decision {
	d := Decision{Request: req}
	if req.PrincipalID == "" || req.Action == "" {
		return d
	}
	target, err := resourceid.ParseScope(req.Scope)
	if err != nil {
		return d
	}
	byID := make(map[string]store.RoleDefinition, len(roles))
	for k, r := range roles {
		byID[normalizeRoleID(k)] = r
	}
	for _, a := range assignments {
		if !strings.EqualFold(a.PrincipalID, req.PrincipalID) {
			continue
		}
		scope, err := resourceid.ParseScope(a.Scope)
		if err != nil || !scope.Contains(target) {
			continue
		}
		role, ok := byID[normalizeRoleID(a.RoleDefinitionID)]
		if !ok || !assignable(role, scope) || !RoleAllows(role, req.Action, req.DataAction) {
			continue
		}
		d.Allowed = true
		d.AssignmentID, d.RoleName, d.RoleDefinitionID = a.ID, role.RoleName, role.ID
		return d
	}
	return d
}

// RoleAllows reports whether some permission block of role has an action
// (dataAction when data is true) matching action and no notAction
// (notDataAction) in the same block matching it.
func RoleAllows(role store.RoleDefinition, action string, data bool) bool {
	for _, p := range role.Permissions {
		allow, deny := p.Actions, p.NotActions
		if data {
			allow, deny = p.DataActions, p.NotDataActions
		}
		if matchAny(allow, action) && !matchAny(deny, action) {
			return true
		}
	}
	return false
}

func matchAny(patterns []string, action string) bool {
	for _, p := range patterns {
		if MatchAction(p, action) {
			return true
		}
	}
	return false
}

// assignable reports whether an assignment at scope is within one of the
// role's assignable scopes. ARM checks this when the assignment is made;
// checking again here means a role whose assignable scopes were narrowed
// later (or a row written by something that skipped the check) grants
// nothing outside them. A role with no assignable scopes applies nowhere.
func assignable(role store.RoleDefinition, scope resourceid.Scope) bool {
	for _, s := range role.AssignableScopes {
		if as, err := resourceid.ParseScope(s); err == nil && as.Contains(scope) {
			return true
		}
	}
	return false
}

// normalizeRoleID reduces a role definition id, either a bare GUID or a full
// .../providers/Microsoft.Authorization/roleDefinitions/{guid} resource id,
// to its lower-case GUID.
func normalizeRoleID(id string) string {
	if i := strings.LastIndexByte(id, '/'); i >= 0 {
		id = id[i+1:]
	}
	return strings.ToLower(id)
}

// DenialMessage is ARM's AuthorizationFailed message for a denied request.
func (d Decision) DenialMessage() string {
	return "The client '" + d.PrincipalID + "' with object id '" + d.PrincipalID +
		"' does not have authorization to perform action '" + d.Action + "' over scope '" + d.Scope +
		"' or the scope is invalid. If access was recently granted, please refresh your credentials."
}
