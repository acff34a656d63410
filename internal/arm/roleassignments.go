package arm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/resourceid"
	"github.com/signet-platform/signet/internal/store"
)

const (
	actionRARead   = typeRA + "/read"
	actionRAWrite  = typeRA + "/write"
	actionRADelete = typeRA + "/delete"
)

// raJSON is armauthorization's RoleAssignment.
type raJSON struct {
	ID         string       `json:"id"`
	Name       string       `json:"name"`
	Type       string       `json:"type"`
	Properties raProperties `json:"properties"`
}

type raProperties struct {
	RoleDefinitionID string    `json:"roleDefinitionId"`
	PrincipalID      string    `json:"principalId"`
	PrincipalType    string    `json:"principalType"`
	Scope            string    `json:"scope"`
	Description      string    `json:"description,omitempty"`
	Condition        *string   `json:"condition"`
	ConditionVersion *string   `json:"conditionVersion"`
	CreatedOn        time.Time `json:"createdOn"`
	// The store keeps no update stamp: an assignment changes only its
	// description, so updatedOn/updatedBy report its creation.
	UpdatedOn time.Time `json:"updatedOn"`
	CreatedBy string    `json:"createdBy"`
	UpdatedBy string    `json:"updatedBy"`
}

// raBody is a PUT's body.
type raBody struct {
	Properties *struct {
		RoleDefinitionID *string `json:"roleDefinitionId"`
		PrincipalID      *string `json:"principalId"`
		PrincipalType    string  `json:"principalType"`
		Description      string  `json:"description"`
		Condition        *string `json:"condition"`
		ConditionVersion *string `json:"conditionVersion"`
	} `json:"properties"`
}

// extensionID is the id of an extension resource below scope.
func extensionID(scope, typ, name string) string {
	if scope == "/" {
		return "/providers/" + typ + "/" + name
	}
	return scope + "/providers/" + typ + "/" + name
}

// roleDefinitionID is how ARM names a role definition as seen from a scope:
// below the scope's subscription, or at the root for root scopes.
func roleDefinitionID(scope, guid string) string {
	if sub, ok := subscriptionOf(scope); ok {
		return "/subscriptions/" + sub + "/providers/" + typeRD + "/" + guid
	}
	return "/providers/" + typeRD + "/" + guid
}

func raOut(a store.RoleAssignment) raJSON {
	return raJSON{
		ID:   extensionID(a.Scope, typeRA, a.ID),
		Name: a.ID,
		Type: typeRA,
		Properties: raProperties{
			RoleDefinitionID: roleDefinitionID(a.Scope, a.RoleDefinitionID),
			PrincipalID:      a.PrincipalID,
			PrincipalType:    a.PrincipalType,
			Scope:            a.Scope,
			Description:      a.Description,
			CreatedOn:        a.CreatedAt,
			UpdatedOn:        a.CreatedAt,
			CreatedBy:        a.CreatedBy,
			UpdatedBy:        a.CreatedBy,
		},
	}
}

func assignmentName(name string) (string, error) {
	id, ok := parseGUID(name)
	if !ok {
		return "", newError(http.StatusBadRequest, codeInvalidRoleAssignmentID,
			"The role assignment ID '%s' is not valid. The role assignment ID must be a GUID.", truncate(name, 64))
	}
	return id, nil
}

// parseRoleDefinitionRef accepts a role definition's full id (at the root or
// below a subscription) or its bare GUID.
func parseRoleDefinitionRef(ref string) (string, error) {
	if id, ok := parseGUID(ref); ok {
		return id, nil
	}
	if scope, name, ok := resourceid.SplitExtension(ref, "Microsoft.Authorization", "roleDefinitions"); ok {
		sc, err := resourceid.ParseScope(scope)
		if id, ok := parseGUID(name); ok && err == nil && sc.Level <= resourceid.LevelSubscription {
			return id, nil
		}
	}
	return "", newError(http.StatusBadRequest, codeInvalidRoleDefinitionID,
		"The role definition ID '%s' is not valid.", truncate(ref, 256))
}

func roleAssignmentNotFound(name string) error {
	return newError(http.StatusNotFound, codeRoleAssignmentNotFound, "The role assignment '%s' is not found.", name)
}

func (s *Server) putRoleAssignment(w http.ResponseWriter, req *request) error {
	name, err := assignmentName(req.route.name)
	if err != nil {
		return err
	}
	sc, err := s.routeScope(req, actionRAWrite)
	if err != nil {
		return err
	}
	scope := sc.String()
	var body raBody
	if err := decodeBody(req.Request, &body); err != nil {
		return err
	}
	p := body.Properties
	if p == nil || p.RoleDefinitionID == nil || p.PrincipalID == nil {
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The request content must have properties.roleDefinitionId and properties.principalId.")
	}
	if (p.Condition != nil && *p.Condition != "") || (p.ConditionVersion != nil && *p.ConditionVersion != "") {
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"Role assignment conditions are not supported by this server.")
	}
	roleID, err := parseRoleDefinitionRef(*p.RoleDefinitionID)
	if err != nil {
		return err
	}
	principalID, ok := parseGUID(*p.PrincipalID)
	if !ok {
		return newError(http.StatusBadRequest, codePrincipalNotFound, "Principal '%s' does not exist in the directory.", truncate(*p.PrincipalID, 64))
	}
	// Every principal Signet knows (apps and managed identities) is a
	// service principal.
	if p.PrincipalType != "" && !strings.EqualFold(p.PrincipalType, "ServicePrincipal") {
		return newError(http.StatusBadRequest, codeUnmatchedPrincipalType,
			"The provided principal type '%s' does not match the principal's type 'ServicePrincipal'.", truncate(p.PrincipalType, 32))
	}
	var (
		out     store.RoleAssignment
		created bool
	)
	err = s.Store.Write(req.Context(), func(tx store.Tx) error {
		if err := scopeExistsTx(tx, sc); err != nil {
			return err
		}
		role, err := tx.GetRoleDefinition(roleID)
		if err == nil && !assignableAt(role, scope) {
			err = store.ErrNotFound // a role not assignable here does not exist here
		}
		if errors.Is(err, store.ErrNotFound) {
			return newError(http.StatusBadRequest, codeRoleDefinitionDoesNotExist, "The specified role definition with ID '%s' does not exist.", roleID)
		}
		if err != nil {
			return fmt.Errorf("get role definition: %w", err)
		}
		principal, err := tx.GetPrincipal(principalID)
		if err == nil && !strings.EqualFold(principal.TenantID, req.caller.tenantID) {
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			return newError(http.StatusBadRequest, codePrincipalNotFound, "Principal %s does not exist in the directory %s.", principalID, req.caller.tenantID)
		}
		if err != nil {
			return fmt.Errorf("get principal: %w", err)
		}
		want := store.RoleAssignment{
			ID: name, Scope: scope, RoleDefinitionID: role.ID, PrincipalID: principal.ObjectID,
			PrincipalType: "ServicePrincipal", Description: p.Description,
			CreatedAt: s.now(), CreatedBy: req.caller.objectID,
		}
		old, err := tx.GetRoleAssignment(name)
		switch {
		case err == nil:
			if !sameID(old.Scope, scope) || !strings.EqualFold(old.RoleDefinitionID, want.RoleDefinitionID) || !strings.EqualFold(old.PrincipalID, want.PrincipalID) {
				return newError(http.StatusConflict, codeConflict,
					"The role assignment '%s' already exists with a different scope, role or principal; its scope, role and principal cannot be changed.", name)
			}
			created = false
			if old.Description == want.Description {
				out = old
				return nil
			}
			// Only the description changes; the store has no update, so
			// replace the row, keeping its creation stamp.
			want.CreatedAt, want.CreatedBy, want.Scope = old.CreatedAt, old.CreatedBy, old.Scope
			if err := tx.DeleteRoleAssignment(name); err != nil {
				return fmt.Errorf("replace role assignment: %w", err)
			}
		case errors.Is(err, store.ErrNotFound):
			created = true
			same, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{PrincipalID: want.PrincipalID, AtScope: scope})
			if err != nil {
				return fmt.Errorf("list role assignments: %w", err)
			}
			for _, a := range same {
				if strings.EqualFold(a.RoleDefinitionID, want.RoleDefinitionID) {
					return newError(http.StatusConflict, codeRoleAssignmentExists, "The role assignment already exists.")
				}
			}
		default:
			return fmt.Errorf("get role assignment: %w", err)
		}
		if err := tx.CreateRoleAssignment(want); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return newError(http.StatusConflict, codeConflict, "The role assignment '%s' conflicts with an existing one.", name)
			}
			return fmt.Errorf("create role assignment: %w", err)
		}
		out = want
		return nil
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, raOut(out))
}

// assignableAt reports whether role may be assigned at scope.
func assignableAt(role store.RoleDefinition, scope string) bool {
	for _, a := range role.AssignableScopes {
		if resourceid.Contains(a, scope) {
			return true
		}
	}
	return false
}

func (s *Server) getRoleAssignment(w http.ResponseWriter, req *request) error {
	name, err := assignmentName(req.route.name)
	if err != nil {
		return err
	}
	sc, err := s.routeScope(req, actionRARead)
	if err != nil {
		return err
	}
	var a store.RoleAssignment
	err = s.Store.Read(req.Context(), func(tx store.Tx) error {
		var err error
		a, err = tx.GetRoleAssignment(name)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !sameID(a.Scope, sc.String())) {
			return roleAssignmentNotFound(name)
		}
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, raOut(a))
}

func (s *Server) deleteRoleAssignment(w http.ResponseWriter, req *request) error {
	name, err := assignmentName(req.route.name)
	if err != nil {
		return err
	}
	sc, err := s.routeScope(req, actionRADelete)
	if err != nil {
		return err
	}
	var (
		a     store.RoleAssignment
		found bool
	)
	err = s.Store.Write(req.Context(), func(tx store.Tx) error {
		var err error
		a, err = tx.GetRoleAssignment(name)
		if errors.Is(err, store.ErrNotFound) || (err == nil && !sameID(a.Scope, sc.String())) {
			found = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("get role assignment: %w", err)
		}
		found = true
		return tx.DeleteRoleAssignment(name)
	})
	if err != nil {
		return err
	}
	if !found {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return writeJSON(w, http.StatusOK, raOut(a))
}

// listRoleAssignments lists at a scope. Without a filter: assignments at,
// above and below the scope. atScope(): at or above (what applies at the
// scope), as armauthorization documents. principalId eq '…' or
// assignedTo('…') narrows to one principal.
func (s *Server) listRoleAssignments(w http.ResponseWriter, req *request) error {
	sc, err := s.routeScope(req, actionRARead)
	if err != nil {
		return err
	}
	scope := sc.String()
	terms, err := parseFilter(req.URL.Query().Get("$filter"))
	if err != nil {
		return err
	}
	var atScope bool
	var principal string
	for _, t := range terms {
		switch {
		case t.name == "atscope" && t.call && t.arg == "":
			atScope = true
		case (t.name == "principalid" && !t.call) || (t.name == "assignedto" && t.call):
			principal = t.arg
		default:
			return badFilter(req.URL.Query().Get("$filter"))
		}
	}
	var visible []store.RoleAssignment
	err = s.Store.Read(req.Context(), func(tx store.Tx) error {
		if err := scopeExistsTx(tx, sc); err != nil {
			return err
		}
		all, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{PrincipalID: principal, AboveScope: scope})
		if err != nil {
			return fmt.Errorf("list role assignments: %w", err)
		}
		if !atScope {
			below, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{PrincipalID: principal, UnderScope: scope})
			if err != nil {
				return fmt.Errorf("list role assignments: %w", err)
			}
			for _, b := range below {
				if !sameID(b.Scope, scope) { // at-scope ones are already in all
					all = append(all, b)
				}
			}
		}
		subs := map[string]string{}
		visible = visible[:0]
		for _, a := range all {
			ok, err := visibleScopeTx(tx, req.caller.tenantID, a.Scope, a.PrincipalID, subs)
			if err != nil {
				return err
			}
			if ok {
				visible = append(visible, a)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	l, err := page(req, s.size(), visible, func(a store.RoleAssignment) string { return a.ID })
	if err != nil {
		return err
	}
	out := list[raJSON]{Value: make([]raJSON, 0, len(l.Value)), NextLink: l.NextLink}
	for _, a := range l.Value {
		out.Value = append(out.Value, raOut(a))
	}
	return writeJSON(w, http.StatusOK, out)
}
