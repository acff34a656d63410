package arm

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/resourceid"
	"github.com/signet-platform/signet/internal/store"
)

// checkScope parses an RBAC scope and checks that the caller's tenant owns
// it: the root, or a subscription of the caller's tenant (and anything in
// it). Whether a group or resource named by the scope exists is checked
// later, inside the transaction, by scopeExistsTx.
func (s *Server) checkScope(req *request, scope string) (resourceid.Scope, error) {
	sc, err := resourceid.ParseScope(scope)
	if err != nil {
		var re *resourceid.Error
		if errors.As(err, &re) {
			return sc, newError(http.StatusBadRequest, codeInvalidResourceID, "%s", re.Error())
		}
		return sc, badID(scope)
	}
	if sc.Level == resourceid.LevelRoot {
		return sc, nil
	}
	if sc.SubscriptionID == "" { // a tenant-level resource: none is hosted
		return sc, newError(http.StatusBadRequest, codeInvalidResourceID, "The scope '%s' is not a hosted scope.", truncate(scope, 512))
	}
	if _, err := s.subscription(req, sc.SubscriptionID); err != nil {
		return sc, err
	}
	return sc, nil
}

// routeScope checks the route's RBAC scope (checkScope) and then that the
// caller may perform action at it.
func (s *Server) routeScope(req *request, action string) (resourceid.Scope, error) {
	sc, err := s.checkScope(req, req.route.scope)
	if err != nil {
		return sc, err
	}
	return sc, s.authorize(req, action, sc.String())
}

// scopeExistsTx answers ResourceGroupNotFound or ResourceNotFound when the
// group or the (top-level) resource a scope names does not exist. A child
// scope below an existing resource exists.
func scopeExistsTx(tx store.Tx, sc resourceid.Scope) error {
	if sc.Level < resourceid.LevelResourceGroup {
		return nil
	}
	if _, err := getGroupTx(tx, sc.SubscriptionID, sc.ResourceGroup); err != nil {
		return err
	}
	if sc.Level == resourceid.LevelResourceGroup {
		return nil
	}
	r := sc.Resource
	id := "/subscriptions/" + sc.SubscriptionID + "/resourceGroups/" + sc.ResourceGroup +
		"/providers/" + r.Provider + "/" + r.Types[0] + "/" + r.Names[0]
	_, err := tx.GetResource(id)
	if errors.Is(err, store.ErrNotFound) {
		return newError(http.StatusNotFound, codeResourceNotFound,
			"The Resource '%s/%s/%s' under resource group '%s' was not found.", r.Provider, r.Types[0], truncate(r.Names[0], 260), sc.ResourceGroup)
	}
	if err != nil {
		return fmt.Errorf("get resource %s: %w", id, err)
	}
	return nil
}

// visibleScopeTx reports whether an assignment's or role's scope belongs to
// the caller's tenant: a subscription of that tenant or, at the root, a
// principal of that tenant. subs caches subscription tenants.
func visibleScopeTx(tx store.Tx, tenantID, scope, principalID string, subs map[string]string) (bool, error) {
	sc, err := resourceid.ParseScope(scope)
	if err != nil {
		return false, nil
	}
	if sc.Level == resourceid.LevelRoot {
		if principalID == "" {
			return true, nil
		}
		p, err := tx.GetPrincipal(principalID)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("get principal %s: %w", principalID, err)
		}
		return strings.EqualFold(p.TenantID, tenantID), nil
	}
	key := strings.ToLower(sc.SubscriptionID)
	t, ok := subs[key]
	if !ok {
		sub, err := tx.GetSubscription(sc.SubscriptionID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return false, fmt.Errorf("get subscription %s: %w", sc.SubscriptionID, err)
		default:
			t = sub.TenantID
		}
		subs[key] = t
	}
	return t != "" && strings.EqualFold(t, tenantID), nil
}

// parseGUID accepts only the canonical 8-4-4-4-12 form and lower-cases it.
func parseGUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}

// filterTerm is one term of an OData $filter: a function call with no
// argument (atScope()), a function with one string argument
// (assignedTo('x')), or a comparison (principalId eq 'x').
type filterTerm struct {
	name string // lower-cased property or function name
	arg  string
	call bool
}

var (
	filterCall0 = regexp.MustCompile(`^(?i)\s*([A-Za-z]+)\(\s*\)\s*`)
	filterCall1 = regexp.MustCompile(`^(?i)\s*([A-Za-z]+)\(\s*'((?:[^']|'')*)'\s*\)\s*`)
	filterEq    = regexp.MustCompile(`^(?i)\s*([A-Za-z]+)\s+eq\s+'((?:[^']|'')*)'\s*`)
	filterAnd   = regexp.MustCompile(`^(?i)and\s+`)
)

// parseFilter splits a $filter into terms joined by "and". Only the shapes
// ARM documents for role assignments and definitions are understood.
func parseFilter(f string) ([]filterTerm, error) {
	var terms []filterTerm
	rest := strings.TrimSpace(f)
	for rest != "" {
		var t filterTerm
		if m := filterCall0.FindStringSubmatch(rest); m != nil {
			t = filterTerm{name: strings.ToLower(m[1]), call: true}
			rest = rest[len(m[0]):]
		} else if m := filterCall1.FindStringSubmatch(rest); m != nil {
			t = filterTerm{name: strings.ToLower(m[1]), arg: strings.ReplaceAll(m[2], "''", "'"), call: true}
			rest = rest[len(m[0]):]
		} else if m := filterEq.FindStringSubmatch(rest); m != nil {
			t = filterTerm{name: strings.ToLower(m[1]), arg: strings.ReplaceAll(m[2], "''", "'")}
			rest = rest[len(m[0]):]
		} else {
			return nil, badFilter(f)
		}
		terms = append(terms, t)
		if rest == "" {
			break
		}
		m := filterAnd.FindString(rest)
		if m == "" {
			return nil, badFilter(f)
		}
		rest = rest[len(m):]
		if rest == "" {
			return nil, badFilter(f)
		}
	}
	return terms, nil
}

func badFilter(f string) error {
	return newError(http.StatusBadRequest, codeInvalidQueryParameter, "The $filter '%s' is not supported.", truncate(f, 256))
}
