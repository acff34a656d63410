package arm

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// EntitlementHook revokes, inside the caller's write transaction, every
// credential a host is no longer entitled to. The composition root wires
// MIRP's RevokeUnassigned into it. An error fails the whole write: a change
// that ends an entitlement never commits without its revocation.
type EntitlementHook interface {
	Revoke(tx store.Tx, now time.Time) error
}

// EntitlementHookFunc adapts a function to EntitlementHook.
type EntitlementHookFunc func(tx store.Tx, now time.Time) error

// Revoke calls f.
func (f EntitlementHookFunc) Revoke(tx store.Tx, now time.Time) error { return f(tx, now) }

// revokeUnentitledTx runs the entitlement hook in a write transaction that
// may have ended an entitlement: a resource's identity block or
// placement changed, or a resource, group or identity was deleted.
func (s *Server) revokeUnentitledTx(tx store.Tx, now time.Time) error {
	if s.Entitlements == nil {
		return nil
	}
	if err := s.Entitlements.Revoke(tx, now); err != nil {
		return fmt.Errorf("revoke credentials no longer entitled: %w", err)
	}
	return nil
}

// placementProperty is the property of a Microsoft.Web/sites resource that
// places it on a host (MIRP's PlacementProperty): the host's resource id.
const placementProperty = "signetHostResourceId"

// checkPlacement validates a site's placement, when it has one: a
// well-formed id of a virtual machine or hybrid machine in the site's
// subscription. MIRP considers only hosts in the site's subscription, so a
// placement elsewhere would be silently ignored; refusing it tells the
// caller. Whether the host exists is not checked, as the host may be
// deleted later anyway (MIRP then serves nothing for it).
func checkPlacement(res store.Resource) error {
	if res.Type != typeSite || len(res.Properties) == 0 {
		return nil
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(res.Properties, &props); err != nil {
		return nil // checkObject already insisted on an object
	}
	raw, ok := props[placementProperty]
	if !ok || string(raw) == "null" {
		return nil
	}
	var host string
	if err := json.Unmarshal(raw, &host); err != nil {
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The property 'properties.%s' must be a string.", placementProperty)
	}
	rt, err := parseRoute(host)
	if err != nil || rt.kind != routeResource || (rt.typ != typeVM && rt.typ != typeMachine) {
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The property 'properties.%s' must be the resource id of a %s or %s, not '%s'.",
			placementProperty, typeVM, typeMachine, truncate(host, 512))
	}
	if !strings.EqualFold(rt.sub, res.SubscriptionID) {
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The host '%s' in 'properties.%s' must be in the site's subscription.", truncate(host, 512), placementProperty)
	}
	return nil
}
