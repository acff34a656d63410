package arm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/store"
)

// actionAssignIdentity is what attaching a user-assigned identity needs on
// the identity; Managed Identity Operator grants it through the wildcard
// Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action.
const actionAssignIdentity = "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action"

// identityBody is a resource's `identity` block as a client sends it. A
// null value in userAssignedIdentities decodes to the raw "null".
type identityBody struct {
	Type                   *string                    `json:"type"`
	UserAssignedIdentities map[string]json.RawMessage `json:"userAssignedIdentities"`
}

// identityJSON is the block as ARM returns it.
type identityJSON struct {
	Type                   string             `json:"type"`
	PrincipalID            string             `json:"principalId,omitempty"`
	TenantID               string             `json:"tenantId,omitempty"`
	UserAssignedIdentities map[string]uamiRef `json:"userAssignedIdentities,omitempty"`
}

type uamiRef struct {
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

// identityRequest is a parsed identity block.
type identityRequest struct {
	system bool
	user   bool
	attach []string // non-null userAssignedIdentities keys, as written
	detach []string // null-valued keys (PATCH)
}

// parseIdentity validates the block. It is pure: existence and permissions
// of the identities named are checked later.
func parseIdentity(b *identityBody) (*identityRequest, error) {
	if b == nil {
		return nil, nil
	}
	if b.Type == nil {
		return nil, newError(http.StatusBadRequest, codeInvalidRequestContent, "The identity block requires a 'type'.")
	}
	ir := &identityRequest{}
	switch strings.ToLower(strings.ReplaceAll(*b.Type, " ", "")) {
	case "none":
	case "systemassigned":
		ir.system = true
	case "userassigned":
		ir.user = true
	case "systemassigned,userassigned":
		ir.system, ir.user = true, true
	default:
		return nil, newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The identity type '%s' is invalid. Allowed types are None, SystemAssigned, UserAssigned and 'SystemAssigned,UserAssigned'.",
			truncate(*b.Type, 64))
	}
	keys := make([]string, 0, len(b.UserAssignedIdentities))
	for k := range b.UserAssignedIdentities {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic checks and messages
	for _, id := range keys {
		v := strings.TrimSpace(string(b.UserAssignedIdentities[id]))
		if v == "null" {
			ir.detach = append(ir.detach, id)
			continue
		}
		if !strings.HasPrefix(v, "{") {
			return nil, newError(http.StatusBadRequest, codeInvalidRequestContent,
				"The value of userAssignedIdentities['%s'] must be an object or null.", truncate(id, 256))
		}
		rt, err := parseRoute(id)
		if err != nil || rt.kind != routeResource || rt.typ != typeUAMI {
			return nil, newError(http.StatusBadRequest, codeInvalidIdentity,
				"The user-assigned identity id '%s' is not a valid Microsoft.ManagedIdentity/userAssignedIdentities resource id.", truncate(id, 256))
		}
		ir.attach = append(ir.attach, id)
	}
	if !ir.user && len(ir.attach) > 0 {
		return nil, newError(http.StatusBadRequest, codeInvalidIdentity,
			"userAssignedIdentities may only be given when the identity type includes UserAssigned.")
	}
	return ir, nil
}

// desiredUsers computes the user-assigned identities a resource ends with:
// the request's set for a PUT, the existing set merged with the request for
// a PATCH. Keys are compared case-insensitively; current's spelling wins.
func (ir *identityRequest) desiredUsers(current []string, patch bool) ([]string, error) {
	if ir == nil {
		return current, nil
	}
	if !ir.user {
		return nil, nil
	}
	var out []string
	if patch {
		for _, id := range current {
			if !containsFold(ir.detach, id) {
				out = append(out, id)
			}
		}
	}
	for _, id := range ir.attach {
		if !containsFold(out, id) {
			out = append(out, id)
		}
	}
	if len(out) == 0 {
		return nil, newError(http.StatusBadRequest, codeInvalidIdentity,
			"The identity type includes UserAssigned, so at least one user-assigned identity is required.")
	}
	return out, nil
}

// wantsSystem says whether the resource ends with a system-assigned identity.
func (ir *identityRequest) wantsSystem(has bool) bool {
	if ir == nil {
		return has
	}
	return ir.system
}

// newlyAttached lists the identities in want that current lacks.
func newlyAttached(current, want []string) []string {
	var out []string
	for _, id := range want {
		if !containsFold(current, id) {
			out = append(out, id)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	return slices.ContainsFunc(list, func(v string) bool { return strings.EqualFold(v, s) })
}

// applyIdentityTx brings res's identities to the desired state inside the
// resource's write transaction: a system-assigned principal is created when
// enabled (a new object id every time) and deleted with its credentials and
// role assignments when disabled; user-assigned identities must exist in the
// caller's tenant. It sets res.SystemAssignedPrincipalID and returns the
// stored ids of the user-assigned identities to record.
func (s *Server) applyIdentityTx(tx store.Tx, res *store.Resource, tenantID string, wantSystem bool, wantUsers []string) ([]string, error) {
	switch {
	case wantSystem && res.SystemAssignedPrincipalID == "":
		p := directory.NewManagedIdentity(tenantID, store.KindSystemAssigned, res.ID, res.Name, s.now())
		if err := tx.CreatePrincipal(p); err != nil {
			return nil, fmt.Errorf("create system-assigned identity of %s: %w", res.ID, err)
		}
		res.SystemAssignedPrincipalID = p.ObjectID
	case !wantSystem && res.SystemAssignedPrincipalID != "":
		if err := deletePrincipalTx(tx, res.SystemAssignedPrincipalID); err != nil {
			return nil, err
		}
		res.SystemAssignedPrincipalID = ""
	}
	stored := make([]string, 0, len(wantUsers))
	for _, id := range wantUsers {
		uami, err := tx.GetResource(id)
		if err == nil && uami.Type == typeUAMI {
			var sub store.Subscription
			sub, err = tx.GetSubscription(uami.SubscriptionID)
			if err == nil && !strings.EqualFold(sub.TenantID, tenantID) {
				err = store.ErrNotFound // another tenant's identity does not exist for this caller
			}
		} else if err == nil {
			err = store.ErrNotFound
		}
		if errors.Is(err, store.ErrNotFound) {
			return nil, newError(http.StatusBadRequest, codeInvalidIdentity,
				"The user-assigned identity '%s' does not exist.", truncate(id, 256))
		}
		if err != nil {
			return nil, fmt.Errorf("get user-assigned identity %s: %w", id, err)
		}
		stored = append(stored, uami.ID)
	}
	return stored, nil
}

// deletePrincipalTx deletes a managed identity's principal, its credentials
// and its role assignments.
func deletePrincipalTx(tx store.Tx, principalID string) error {
	if _, err := tx.DeleteRoleAssignmentsForPrincipal(principalID); err != nil {
		return fmt.Errorf("delete role assignments of %s: %w", principalID, err)
	}
	if err := tx.DeletePrincipal(principalID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("delete principal %s: %w", principalID, err)
	}
	return nil
}

// deleteResourceTx deletes a resource with Azure's identity semantics: its
// system-assigned identity goes with it; a user-assigned identity being
// deleted is first detached from every resource that uses it.
func (s *Server) deleteResourceTx(tx store.Tx, res store.Resource) error {
	if res.Type == typeUAMI {
		users, err := tx.ListIdentityUsers(res.ID)
		if err != nil {
			return fmt.Errorf("list users of %s: %w", res.ID, err)
		}
		for _, u := range users {
			ids, err := tx.ListResourceIdentities(u)
			if err != nil {
				return fmt.Errorf("list identities of %s: %w", u, err)
			}
			ids = slices.DeleteFunc(ids, func(id string) bool { return strings.EqualFold(id, res.ID) })
			if err := tx.SetResourceIdentities(u, ids); err != nil {
				return fmt.Errorf("detach %s from %s: %w", res.ID, u, err)
			}
		}
		p, err := tx.GetPrincipalByResourceID(store.KindUserAssigned, res.ID)
		switch {
		case err == nil:
			if err := deletePrincipalTx(tx, p.ObjectID); err != nil {
				return err
			}
		case !errors.Is(err, store.ErrNotFound):
			return fmt.Errorf("get principal of %s: %w", res.ID, err)
		}
	}
	if res.SystemAssignedPrincipalID != "" {
		if err := deletePrincipalTx(tx, res.SystemAssignedPrincipalID); err != nil {
			return err
		}
	}
	if err := tx.SetResourceIdentities(res.ID, nil); err != nil {
		return fmt.Errorf("clear identities of %s: %w", res.ID, err)
	}
	if _, err := tx.DeleteRoleAssignmentsUnderScope(res.ID); err != nil {
		return fmt.Errorf("delete role assignments under %s: %w", res.ID, err)
	}
	if err := s.deletedTx(tx, res); err != nil {
		return err
	}
	if err := tx.DeleteResource(res.ID); err != nil {
		return fmt.Errorf("delete resource %s: %w", res.ID, err)
	}
	return nil
}

// identityOutTx renders a resource's identity block; nil when it has none.
func identityOutTx(tx store.Tx, res store.Resource) (*identityJSON, error) {
	users, err := tx.ListResourceIdentities(res.ID)
	if err != nil {
		return nil, fmt.Errorf("list identities of %s: %w", res.ID, err)
	}
	system := res.SystemAssignedPrincipalID != ""
	if !system && len(users) == 0 {
		return nil, nil
	}
	out := &identityJSON{}
	switch {
	case system && len(users) > 0:
		out.Type = "SystemAssigned,UserAssigned"
		if strings.HasPrefix(res.Type, "Microsoft.Compute/") {
			out.Type = "SystemAssigned, UserAssigned" // Compute's spelling
		}
	case system:
		out.Type = "SystemAssigned"
	default:
		out.Type = "UserAssigned"
	}
	if system {
		p, err := tx.GetPrincipal(res.SystemAssignedPrincipalID)
		if err != nil {
			return nil, fmt.Errorf("get system-assigned identity of %s: %w", res.ID, err)
		}
		out.PrincipalID, out.TenantID = p.ObjectID, p.TenantID
	}
	if len(users) > 0 {
		out.UserAssignedIdentities = make(map[string]uamiRef, len(users))
		for _, id := range users {
			p, err := tx.GetPrincipalByResourceID(store.KindUserAssigned, id)
			if err != nil {
				return nil, fmt.Errorf("get user-assigned identity %s: %w", id, err)
			}
			out.UserAssignedIdentities[id] = uamiRef{PrincipalID: p.ObjectID, ClientID: p.ClientID}
		}
	}
	return out, nil
}
