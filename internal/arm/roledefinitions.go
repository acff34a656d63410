package arm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/resourceid"
	"github.com/signet-platform/signet/internal/store"
)

const (
	actionRDRead   = typeRD + "/read"
	actionRDWrite  = typeRD + "/write"
	actionRDDelete = typeRD + "/delete"
)

// rdJSON is armauthorization's RoleDefinition.
type rdJSON struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Type       string       `json:"type"`
	Properties rdProperties `json:"properties"`
}

type rdProperties struct {
	RoleName         string             `json:"roleName"`
	Type             string             `json:"type"`
	Description      string             `json:"description"`
	AssignableScopes []string           `json:"assignableScopes"`
	Permissions      []store.Permission `json:"permissions"`
	CreatedOn        time.Time          `json:"createdOn"`
	UpdatedOn        time.Time          `json:"updatedOn"`
}

type rdBody struct {
	Properties *struct {
		RoleName         *string            `json:"roleName"`
		Description      string             `json:"description"`
		Type             string             `json:"type"`
		AssignableScopes []string           `json:"assignableScopes"`
		Permissions      []store.Permission `json:"permissions"`
	} `json:"properties"`
}

func rdOut(scope string, r store.RoleDefinition) rdJSON {
	perms := make([]store.Permission, 0, len(r.Permissions))
	for _, p := range r.Permissions {
		perms = append(perms, store.Permission{
			Actions: nonNil(p.Actions), NotActions: nonNil(p.NotActions),
			DataActions: nonNil(p.DataActions), NotDataActions: nonNil(p.NotDataActions),
		})
	}
	return rdJSON{
		ID:   roleDefinitionID(scope, r.ID),
		Name: r.ID,
		Type: typeRD,
		Properties: rdProperties{
			RoleName: r.RoleName, Type: r.RoleType, Description: r.Description,
			AssignableScopes: nonNil(r.AssignableScopes), Permissions: perms,
			CreatedOn: r.CreatedAt, UpdatedOn: r.UpdatedAt,
		},
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// roleVisibleAt: a role is seen at a scope when it is assignable there or,
// below the root, when it is assignable somewhere below the scope. Custom
// roles of other tenants are assignable only inside those tenants'
// subscriptions, so they never show.
func roleVisibleAt(r store.RoleDefinition, scope string, below bool) bool {
	for _, a := range r.AssignableScopes {
		if resourceid.Contains(a, scope) || (below && scope != "/" && resourceid.Contains(scope, a)) {
			return true
		}
	}
	return false
}

func roleDefinitionName(name string) (string, error) {
	id, ok := parseGUID(name)
	if !ok {
		return "", newError(http.StatusBadRequest, codeInvalidRoleDefinitionID,
			"The role definition ID '%s' is not valid. It must be a GUID.", truncate(name, 64))
	}
	return id, nil
}

func roleDoesNotExist(id string) error {
	return newError(http.StatusNotFound, codeRoleDefinitionDoesNotExist, "The specified role definition with ID '%s' does not exist.", id)
}

func (s *Server) listRoleDefinitions(w http.ResponseWriter, req *request) error {
	sc, err := s.routeScope(req, actionRDRead)
	if err != nil {
		return err
	}
	scope := sc.String()
	terms, err := parseFilter(req.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	var roleName, roleType string
	below := false
	for _, t := range terms {
		switch {
		case t.name == "rolename" && !t.call:
			roleName = t.arg
		case t.name == "type" && !t.call:
			roleType = t.arg
		case t.name == "atscopeandbelow" && t.call && t.arg == "":
			below = true
		default:
			return badFilter(req.URL.Query().Get("$filter"))
		}
	}
	var roles []store.RoleDefinition
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		if err := scopeExistsTx(tx, sc); err != nil {
			return err
		}
		var err error
		roles, err = tx.ListRoleDefinitions()
		return err
	}); err != nil {
		return err
	}
	var match []store.RoleDefinition
	for _, r := range roles {
		if roleVisibleAt(r, scope, below) &&
			(roleName == "" || strings.EqualFold(r.RoleName, roleName)) &&
			(roleType == "" || strings.EqualFold(r.RoleType, roleType)) {
			match = append(match, r)
		}
	}
	l, err := page(req, s.size(), match, func(r store.RoleDefinition) string { return r.ID })
	if err != nil {
		return err
	}
	out := list[rdJSON]{Value: make([]rdJSON, 0, len(l.Value)), NextLink: l.NextLink}
	for _, r := range l.Value {
		out.Value = append(out.Value, rdOut(scope, r))
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) getRoleDefinition(w http.ResponseWriter, req *request) error {
	id, err := roleDefinitionName(req.route.name)
	if err != nil {
		return err
	}
	sc, err := s.routeScope(req, actionRDRead)
	if err != nil {
		return err
	}
	scope := sc.String()
	r, err := s.visibleRole(req, id, scope)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rdOut(scope, r))
}

// visibleRole loads a role the caller can see from scope.
func (s *Server) visibleRole(req *request, id, scope string) (store.RoleDefinition, error) {
	var r store.RoleDefinition
	err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		var err error
		r, err = tx.GetRoleDefinition(id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !roleVisibleAt(r, scope, true)) {
			return roleDoesNotExist(id)
		}
		return err
	})
	return r, err
}

// putRoleDefinition creates or replaces a custom role. It answers 201 in
// both cases: armauthorization accepts nothing else.
func (s *Server) putRoleDefinition(w http.ResponseWriter, req *request) error {
	id, err := roleDefinitionName(req.route.name)
	if err != nil {
		return err
	}
	if authz.IsBuiltIn(id) {
		return newError(http.StatusBadRequest, codeCannotModifyBuiltInRole, "The built-in role '%s' cannot be changed.", id)
	}
	sc, err := s.routeScope(req, actionRDWrite)
	if err != nil {
		return err
	}
	var body rdBody
	if err := decodeBody(req.Request, &body); err != nil {
		return err
	}
	p := body.Properties
	if p == nil || p.RoleName == nil || strings.TrimSpace(*p.RoleName) == "" || len(p.AssignableScopes) == 0 || len(p.Permissions) == 0 {
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The request content must have properties.roleName, properties.assignableScopes and properties.permissions.")
	}
	if p.Type != "" && !strings.EqualFold(p.Type, "CustomRole") {
		return newError(http.StatusBadRequest, codeInvalidRequestContent, "Only roles of type 'CustomRole' can be created.")
	}
	scopes := make([]resourceid.Scope, 0, len(p.AssignableScopes))
	for _, a := range p.AssignableScopes {
		asc, err := s.checkScope(req, a)
		if err != nil {
			return err
		}
		scopes = append(scopes, asc)
	}
	// Changing a role changes what it grants wherever it is assignable, so
	// the caller needs write at every scope it was and will be assignable at.
	var old store.RoleDefinition
	existed := true
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		var err error
		old, err = tx.GetRoleDefinition(id)
		if errors.Is(err, store.ErrNotFound) {
			existed = false
			return nil
		}
		return err
	}); err != nil {
		return internalError(err)
	}
	check := append([]string(nil), p.AssignableScopes...)
	if existed {
		for _, a := range old.AssignableScopes {
			if _, err := s.checkScope(req, a); err != nil {
				return newError(http.StatusConflict, codeConflict, "The role definition ID '%s' is already in use.", id)
			}
			check = append(check, a)
		}
	}
	for _, a := range check {
		if err := s.authorize(req, actionRDWrite, a); err != nil {
			return err
		}
	}
	now := s.now()
	role := store.RoleDefinition{
		ID: id, RoleName: strings.TrimSpace(*p.RoleName), Description: p.Description, RoleType: "CustomRole",
		Permissions: p.Permissions, CreatedAt: now, UpdatedAt: now,
	}
	for _, asc := range scopes {
		role.AssignableScopes = append(role.AssignableScopes, asc.String())
	}
	err = s.Store.Write(req.Context(), func(tx store.Tx) error {
		for _, asc := range scopes {
			if err := scopeExistsTx(tx, asc); err != nil {
				return err
			}
		}
		cur, err := tx.GetRoleDefinition(id)
		switch {
		case err == nil && existed && sameScopes(cur.AssignableScopes, old.AssignableScopes):
			role.CreatedAt = cur.CreatedAt
		case errors.Is(err, store.ErrNotFound) && !existed:
		case err == nil || errors.Is(err, store.ErrNotFound):
			return newError(http.StatusConflict, codeConflict, "The role definition '%s' changed while the request was processed; retry the request.", id)
		default:
			return fmt.Errorf("get role definition: %w", err)
		}
		all, err := tx.ListRoleDefinitions()
		if err != nil {
			return fmt.Errorf("list role definitions: %w", err)
		}
		for _, other := range all {
			if !strings.EqualFold(other.ID, id) && strings.EqualFold(other.RoleName, role.RoleName) &&
				(other.RoleType == "BuiltInRole" || scopesOverlap(other.AssignableScopes, role.AssignableScopes)) {
				return newError(http.StatusConflict, codeRoleDefinitionNameExists, "A role definition named '%s' already exists.", truncate(role.RoleName, 128))
			}
		}
		return tx.PutRoleDefinition(role)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, rdOut(sc.String(), role))
}

func (s *Server) deleteRoleDefinition(w http.ResponseWriter, req *request) error {
	id, err := roleDefinitionName(req.route.name)
	if err != nil {
		return err
	}
	if authz.IsBuiltIn(id) {
		return newError(http.StatusBadRequest, codeCannotModifyBuiltInRole, "The built-in role '%s' cannot be deleted.", id)
	}
	sc, err := s.routeScope(req, actionRDDelete)
	if err != nil {
		return err
	}
	scope := sc.String()
	old, err := s.visibleRole(req, id, scope)
	var ae *apiError
	if errors.As(err, &ae) && ae.status == http.StatusNotFound {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	if err != nil {
		return err
	}
	for _, a := range old.AssignableScopes {
		if err := s.authorize(req, actionRDDelete, a); err != nil {
			return err
		}
	}
	err = s.Store.Write(req.Context(), func(tx store.Tx) error {
		cur, err := tx.GetRoleDefinition(id)
		if err != nil || !sameScopes(cur.AssignableScopes, old.AssignableScopes) {
			return newError(http.StatusConflict, codeConflict, "The role definition '%s' changed while the request was processed; retry the request.", id)
		}
		all, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{})
		if err != nil {
			return fmt.Errorf("list role assignments: %w", err)
		}
		for _, a := range all {
			if strings.EqualFold(a.RoleDefinitionID, id) {
				return newError(http.StatusConflict, codeRoleDefinitionHasAssigns,
					"The role definition '%s' cannot be deleted because it has role assignments.", id)
			}
		}
		return tx.DeleteRoleDefinition(id)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, rdOut(scope, old))
}

func sameScopes(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !sameID(a[i], b[i]) {
			return false
		}
	}
	return true
}

func scopesOverlap(a, b []string) bool {
	for _, x := range a {
		for _, y := range b {
			if resourceid.Contains(x, y) || resourceid.Contains(y, x) {
				return true
			}
		}
	}
	return false
}
