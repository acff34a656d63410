package authz

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/signet-platform/signet/internal/resourceid"
	"github.com/signet-platform/signet/internal/store"
)

// GenerationSource tells a domain's current change counter, and false when
// it cannot be trusted; *store.GenerationWatcher is one.
type GenerationSource interface {
	Current(store.Generation) (int64, bool)
}

// defaultMaxPrincipals bounds a CachingAuthorizer's cache; past it the
// cache starts over.
const defaultMaxPrincipals = 10000

// CachingAuthorizer answers exactly as Authorizer does, from a per-replica
// cache of each principal's role assignments (all of them, so one entry
// serves every scope) and the role definitions they name. Every entry is
// tagged with the RBAC generation read before it was loaded and is used
// only while that generation is current: a change made through this
// process invalidates it at once (the store announces its own commits to
// the watcher before Write returns); one made through another replica
// within the watcher's poll interval (250 ms by default). Azure documents
// that role assignment changes can take minutes to propagate; this is the
// same contract with a much shorter bound. When the generation cannot be
// trusted (the store stopped answering polls), every decision reads the
// store, as Authorizer does.
//
// On top of the grants it keeps the decisions themselves, keyed by the
// Request exactly as asked, under the same generation: a data plane asks
// the same question (this caller, this action, this secret) over and
// over, and a decision is a pure function of the request and the grants,
// so a repeat costs one map lookup. Both caches are emptied together when
// the generation moves.
type CachingAuthorizer struct {
	Store       store.Store
	Generations GenerationSource
	// MaxPrincipals bounds the grants cache (10000 when zero).
	MaxPrincipals int
	// MaxDecisions bounds the decision cache (16384 when zero); past it
	// that cache starts over, and decisions are computed from the grants.
	MaxDecisions int

	mu        sync.RWMutex
	gen       int64
	entries   map[string]*grants // by lower-case principal id
	decisions map[Request]verdict
}

// defaultMaxDecisions bounds the decision cache: an entry is a few hundred
// bytes (the request's strings and the verdict's).
const defaultMaxDecisions = 16384

// verdict is a Decision without the Request it answers (the cache key).
type verdict struct {
	allowed                                bool
	assignmentID, roleName, roleDefinition string
}

func (v verdict) decision(req Request) Decision {
	return Decision{Request: req, Allowed: v.allowed, AssignmentID: v.assignmentID, RoleName: v.roleName, RoleDefinitionID: v.roleDefinition}
}

// grants is what one principal holds, compiled for the hot path: the
// assignments that can grant anything (scope parses, role known, scope
// within the role's assignable scopes), in the store's order (by id), each
// with its scope split into segments and its role resolved. decide over
// them is Evaluate over the raw records (TestCachingDecide holds the two
// to the same answers).
type grants struct {
	usable []grant
}

type grant struct {
	assignment store.RoleAssignment
	segments   []string // resourceid.Scope segments, nil for the root
	role       store.RoleDefinition
}

func compile(assignments []store.RoleAssignment, roles map[string]store.RoleDefinition) *grants {
	g := &grants{}
	for _, a := range assignments {
		scope, err := resourceid.ParseScope(a.Scope)
		if err != nil {
			continue
		}
		role, ok := roles[normalizeRoleID(a.RoleDefinitionID)]
		if !ok || !assignable(role, scope) {
			continue
		}
		g.usable = append(g.usable, grant{assignment: a, segments: scope.Segments(), role: role})
	}
	return g
}

// decide is Evaluate for one principal's compiled grants; target is the
// request's scope as resourceid.Scope.Segments gives it.
func (g *grants) decide(req Request, target []string) Decision {
	d := Decision{Request: req}
	for _, gr := range g.usable {
		if !resourceid.SegmentsContain(gr.segments, target) || !RoleAllows(gr.role, req.Action, req.DataAction) {
			continue
		}
		d.Allowed = true
		d.AssignmentID, d.RoleName, d.RoleDefinitionID = gr.assignment.ID, gr.role.RoleName, gr.role.ID
		return d
	}
	return d
}

// Decide is Authorizer.Decide, from the cache when it is current.
func (c *CachingAuthorizer) Decide(ctx context.Context, req Request) (Decision, error) {
	denied := Decision{Request: req}
	if req.PrincipalID == "" || req.Action == "" {
		return denied, nil
	}
	gen, ok := c.Generations.Current(store.GenRBAC)
	if !ok {
		return (&Authorizer{Store: c.Store}).Decide(ctx, req)
	}
	c.mu.RLock()
	v, hit := c.decisions[req]
	hit = hit && c.gen == gen
	c.mu.RUnlock()
	if hit {
		return v.decision(req), nil
	}

	target, err := resourceid.ParseScope(req.Scope)
	if err != nil {
		return denied, nil
	}
	key := strings.ToLower(req.PrincipalID)
	c.mu.RLock()
	g := c.entries[key]
	if c.gen != gen {
		g = nil
	}
	c.mu.RUnlock()
	if g == nil {
		if g, err = c.load(ctx, req.PrincipalID); err != nil {
			return denied, fmt.Errorf("authz: deciding %s at %s: %w", req.Action, req.Scope, err)
		}
		c.put(gen, key, g)
	}
	d := g.decide(req, target.Segments())
	c.putDecision(gen, d)
	return d, nil
}

// load reads every assignment of a principal and the roles they name, in
// one snapshot.
func (c *CachingAuthorizer) load(ctx context.Context, principalID string) (*grants, error) {
	assignments, roles, err := loadGrants(ctx, c.Store, store.RoleAssignmentFilter{PrincipalID: principalID})
	if err != nil {
		return nil, err
	}
	return compile(assignments, roles), nil
}

// put keeps g, read under generation gen, unless the cache has already
// moved past gen (then g may be out of date and is used for this decision
// only).
func (c *CachingAuthorizer) put(gen int64, key string, g *grants) {
	c.mu.Lock()
	defer c.mu.Unlock()
	max := c.MaxPrincipals
	if max <= 0 {
		max = defaultMaxPrincipals
	}
	switch {
	case gen < c.gen:
		return
	case gen > c.gen:
		c.gen, c.entries, c.decisions = gen, make(map[string]*grants), nil
	case c.entries == nil || len(c.entries) >= max:
		c.entries = make(map[string]*grants)
	}
	c.entries[key] = g
}

// putDecision keeps d, made from grants read under generation gen, while
// gen is still the cache's generation (otherwise the grants it came from
// may be out of date, and d serves its own request only). A decision is
// only ever stored beside the grants of its generation, and both are
// dropped together when the generation moves, so a hit is always what
// decide over the current grants would answer.
func (c *CachingAuthorizer) putDecision(gen int64, d Decision) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.entries == nil {
		return
	}
	max := c.MaxDecisions
	if max <= 0 {
		max = defaultMaxDecisions
	}
	if c.decisions == nil || len(c.decisions) >= max {
		c.decisions = make(map[Request]verdict)
	}
	c.decisions[d.Request] = verdict{allowed: d.Allowed, assignmentID: d.AssignmentID, roleName: d.RoleName, roleDefinition: d.RoleDefinitionID}
}
