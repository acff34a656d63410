package arm

import (
	"net/http"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

const actionSubscriptionRead = "Microsoft.Resources/subscriptions/read"

// subscriptionJSON is ARM's subscription shape (what az login lists).
type subscriptionJSON struct {
	ID                   string             `json:"id"`
	AuthorizationSource  string             `json:"authorizationSource"`
	ManagedByTenants     []any              `json:"managedByTenants"`
	SubscriptionID       string             `json:"subscriptionId"`
	TenantID             string             `json:"tenantId"`
	DisplayName          string             `json:"displayName"`
	State                string             `json:"state"`
	SubscriptionPolicies subscriptionPolicy `json:"subscriptionPolicies"`
}

type subscriptionPolicy struct {
	LocationPlacementID string `json:"locationPlacementId"`
	QuotaID             string `json:"quotaId"`
	SpendingLimit       string `json:"spendingLimit"`
}

func subscriptionOut(sub store.Subscription) subscriptionJSON {
	state := sub.State
	if state == "" {
		state = "Enabled"
	}
	return subscriptionJSON{
		ID:                  "/subscriptions/" + sub.ID,
		AuthorizationSource: "RoleBased",
		ManagedByTenants:    []any{},
		SubscriptionID:      sub.ID,
		TenantID:            sub.TenantID,
		DisplayName:         sub.DisplayName,
		State:               state,
		SubscriptionPolicies: subscriptionPolicy{
			LocationPlacementID: "Public_2014-09-01",
			QuotaID:             "PayAsYouGo_2014-09-01",
			SpendingLimit:       "Off",
		},
	}
}

// listSubscriptions lists the caller's tenant's subscriptions that the
// caller can see.
func (s *Server) listSubscriptions(w http.ResponseWriter, req *request) error {
	var subs []store.Subscription
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		var err error
		subs, err = tx.ListSubscriptions(req.caller.tenantID)
		return err
	}); err != nil {
		return internalError(err)
	}
	out := []subscriptionJSON{}
	for _, sub := range subs {
		ok, err := s.canSeeSubscription(req, sub.ID)
		if err != nil {
			return err
		}
		if ok {
			out = append(out, subscriptionOut(sub))
		}
	}
	l, err := page(req, s.size(), out, func(v subscriptionJSON) string { return v.SubscriptionID })
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) getSubscription(w http.ResponseWriter, req *request) error {
	sub, err := s.subscription(req, req.route.sub)
	if err != nil {
		return err
	}
	ok, err := s.canSeeSubscription(req, sub.ID)
	if err != nil {
		return err
	}
	if !ok {
		return s.authorize(req, actionSubscriptionRead, "/subscriptions/"+sub.ID)
	}
	return writeJSON(w, http.StatusOK, subscriptionOut(sub))
}

// canSeeSubscription: read permission on the subscription, or any role
// inside it (a caller who owns one resource group still sees its
// subscription, as in Azure).
func (s *Server) canSeeSubscription(req *request, subID string) (bool, error) {
	scope := "/subscriptions/" + subID
	ok, err := s.allowed(req, actionSubscriptionRead, scope)
	if ok || err != nil {
		return ok, err
	}
	var n int
	err = s.Store.Read(req.Context(), func(tx store.Tx) error {
		as, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{PrincipalID: req.caller.objectID, UnderScope: scope})
		n = len(as)
		return err
	})
	if err != nil {
		return false, internalError(err)
	}
	return n > 0, nil
}

// sameID compares ARM ids, which are case-insensitive.
func sameID(a, b string) bool { return strings.EqualFold(a, b) }
