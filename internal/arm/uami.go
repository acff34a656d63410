package arm

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/store"
)

// uamiProperties are a user-assigned identity's read-only properties
// (armmsi UserAssignedIdentityProperties).
type uamiProperties struct {
	TenantID       string `json:"tenantId"`
	PrincipalID    string `json:"principalId"`
	ClientID       string `json:"clientId"`
	IsolationScope string `json:"isolationScope"`
}

func uamiPropertiesTx(tx store.Tx, res store.Resource) (uamiProperties, error) {
	p, err := tx.GetPrincipalByResourceID(store.KindUserAssigned, res.ID)
	if err != nil {
		return uamiProperties{}, fmt.Errorf("get principal of %s: %w", res.ID, err)
	}
	return uamiProperties{TenantID: p.TenantID, PrincipalID: p.ObjectID, ClientID: p.ClientID, IsolationScope: "None"}, nil
}

// writeUAMI creates or updates a user-assigned identity. Its principal is
// created with it and kept for its whole life: a PUT on an existing identity
// changes location and tags, never the principal.
func (s *Server) writeUAMI(w http.ResponseWriter, req *request, sub store.Subscription, body resourceBody, patch bool) error {
	rt := req.route
	var (
		out     resourceJSON
		created bool
	)
	err := s.Store.Write(req.Context(), func(tx store.Tx) error {
		g, err := getGroupTx(tx, sub.ID, rt.group)
		if err != nil {
			return err
		}
		now := s.now()
		res, err := tx.GetResource(rt.resourceID())
		switch {
		case errors.Is(err, store.ErrNotFound):
			if patch {
				return notFound(rt)
			}
			created = true
			res = store.Resource{
				ID:             "/subscriptions/" + sub.ID + "/resourceGroups/" + g.Name + "/providers/" + typeUAMI + "/" + rt.name,
				SubscriptionID: sub.ID, ResourceGroup: g.Name, Type: typeUAMI, Name: rt.name,
				CreatedAt: now, CreatedBy: req.caller.clientID,
			}
			p := directory.NewManagedIdentity(sub.TenantID, store.KindUserAssigned, res.ID, res.Name, now)
			if err := tx.CreatePrincipal(p); err != nil {
				return fmt.Errorf("create principal of %s: %w", res.ID, err)
			}
		case err != nil:
			return fmt.Errorf("get resource: %w", err)
		default:
			created = false
		}
		// Properties are all read-only: they come from the principal.
		body.Properties = nil
		applyBody(&res, body, patch)
		res.UpdatedAt, res.UpdatedBy = now, req.caller.clientID
		if err := tx.PutResource(res); err != nil {
			return fmt.Errorf("put resource %s: %w", res.ID, err)
		}
		out, err = s.resourceOutTx(tx, res)
		return err
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, out)
}

// systemIdentityJSON is armmsi's SystemAssignedIdentity.
type systemIdentityJSON struct {
	ID         string                   `json:"id"`
	Name       string                   `json:"name"`
	Type       string                   `json:"type"`
	Location   string                   `json:"location"`
	Tags       map[string]string        `json:"tags"`
	Properties systemIdentityProperties `json:"properties"`
}

type systemIdentityProperties struct {
	TenantID    string `json:"tenantId"`
	PrincipalID string `json:"principalId"`
	ClientID    string `json:"clientId"`
}

// getSystemIdentity answers GET {resourceId}/providers/Microsoft.ManagedIdentity/identities/default.
func (s *Server) getSystemIdentity(w http.ResponseWriter, req *request) error {
	rt, err := parseRoute(req.route.scope)
	if err != nil || rt.kind != routeResource {
		return badID(req.URL.Path)
	}
	if _, err := s.subscription(req, rt.sub); err != nil {
		return err
	}
	if err := s.authorize(req, typeIdentity+"/read", rt.resourceID()); err != nil {
		return err
	}
	var out systemIdentityJSON
	err = s.Store.Read(req.Context(), func(tx store.Tx) error {
		res, err := getResourceTx(tx, rt)
		if err != nil {
			return err
		}
		if res.SystemAssignedPrincipalID == "" {
			return newError(http.StatusNotFound, codeResourceNotFound,
				"The resource '%s' has no system-assigned identity.", res.ID)
		}
		p, err := tx.GetPrincipal(res.SystemAssignedPrincipalID)
		if err != nil {
			return fmt.Errorf("get system-assigned identity of %s: %w", res.ID, err)
		}
		out = systemIdentityJSON{
			ID:       res.ID + "/providers/" + typeIdentity + "/default",
			Name:     "default",
			Type:     typeIdentity,
			Location: res.Location,
			Tags:     map[string]string{},
			Properties: systemIdentityProperties{
				TenantID: p.TenantID, PrincipalID: p.ObjectID, ClientID: p.ClientID,
			},
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}
