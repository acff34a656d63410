package authz

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/signet-platform/signet/internal/resourceid"
	"github.com/signet-platform/signet/internal/store"
)

// Authorizer answers Requests from the role assignments and role definitions
// in a store.
type Authorizer struct {
	Store store.Store
}

// Decide loads the caller's assignments that apply at req.Scope and the roles
// they name, then Evaluates. Assignments are read afresh every time so that a
// removed assignment takes effect at once on every replica. Built-in roles
// come from BuiltInRoles (they are immutable data, and SeedBuiltIns keeps the
// stored copies equal); custom roles are read in the same transaction as the
// assignments, so the decision is over one consistent snapshot. An error
// means the store could not answer; the request must then be refused.
func (a *Authorizer) Decide(ctx context.Context, req Request) (Decision, error) {
	denied := Decision{Request: req}
	if req.PrincipalID == "" || req.Action == "" {
		return denied, nil
	}
	scope, err := resourceid.ParseScope(req.Scope)
	if err != nil {
		return denied, nil
	}
	assignments, roles, err := loadGrants(ctx, a.Store, store.RoleAssignmentFilter{
		PrincipalID: req.PrincipalID,
		AboveScope:  scope.String(),
	})
	if err != nil {
		return denied, fmt.Errorf("authz: deciding %s at %s: %w", req.Action, req.Scope, err)
	}
	return Evaluate(req, assignments, roles), nil
}

// SuggestRole returns the least-privileged built-in role that allows action
// (a data action when data is true), for error messages that tell the caller
// what to ask for. Breadth is judged by the patterns a role grants: a bare
// "*" outweighs a leading "*/read", which outweighs a trailing "X/*", which
// outweighs an inner "X/*/y", which outweighs a literal action; among
// wildcards, more literal segments before the "*" weigh less; notActions
// narrow a role slightly, so Contributor ranks below Owner.
func SuggestRole(action string, data bool) (store.RoleDefinition, bool) {
	var best store.RoleDefinition
	bestScore, found := 0, false
	for _, r := range BuiltInRoles {
		if !RoleAllows(r, action, data) {
			continue
		}
		if s := breadth(r); !found || s < bestScore {
			best, bestScore, found = r, s, true
		}
	}
	return best, found
}

func breadth(r store.RoleDefinition) int {
	score := 0
	for _, p := range r.Permissions {
		for _, list := range [][]string{p.Actions, p.DataActions} {
			for _, a := range list {
				score += patternWeight(a)
			}
		}
		score -= len(p.NotActions) + len(p.NotDataActions)
	}
	return score
}

func patternWeight(p string) int {
	star := strings.IndexByte(p, '*')
	// depth: literal segments before the first wildcard; deeper is narrower
	// (Microsoft.KeyVault/vaults/secrets/* grants less than .../vaults/*).
	depth := strings.Count(p[:max(star, 0)], "/")
	switch {
	case star < 0:
		return 1
	case p == "*":
		return 1_000_000
	case star == 0:
		return 10_000
	case p[len(p)-1] == '*':
		return 100 - min(depth, 50)
	default:
		return 10 - min(depth, 8)
	}
}

// loadGrants reads, in one snapshot, the assignments the filter selects and
// the role definitions they name (built-ins from memory; a dangling
// assignment's role is left out, so it grants nothing).
func loadGrants(ctx context.Context, st store.Store, f store.RoleAssignmentFilter) ([]store.RoleAssignment, map[string]store.RoleDefinition, error) {
	var assignments []store.RoleAssignment
	roles := make(map[string]store.RoleDefinition)
	err := st.Read(ctx, func(tx store.Tx) error {
		var err error
		assignments, err = tx.ListRoleAssignments(f)
		if err != nil {
			return fmt.Errorf("list role assignments: %w", err)
		}
		for _, as := range assignments {
			id := normalizeRoleID(as.RoleDefinitionID)
			if _, done := roles[id]; done {
				continue
			}
			if r, ok := builtInByID[id]; ok {
				roles[id] = r
				continue
			}
			r, err := tx.GetRoleDefinition(id)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return fmt.Errorf("get role definition %s: %w", id, err)
			}
			roles[id] = r
		}
		return nil
	})
	return assignments, roles, err
}
