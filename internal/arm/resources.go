package arm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// resourceBody is what a PUT or PATCH of a resource may carry. Read-only
// fields (id, name, type, systemData) are ignored, as ARM ignores them.
type resourceBody struct {
	Location   *string           `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties json.RawMessage   `json:"properties"`
	Identity   *identityBody     `json:"identity"`
}

type resourceJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties json.RawMessage   `json:"properties"`
	Identity   *identityJSON     `json:"identity,omitempty"`
	SystemData systemData        `json:"systemData"`
}

type systemData struct {
	CreatedBy          string    `json:"createdBy"`
	CreatedByType      string    `json:"createdByType"`
	CreatedAt          time.Time `json:"createdAt"`
	LastModifiedBy     string    `json:"lastModifiedBy"`
	LastModifiedByType string    `json:"lastModifiedByType"`
	LastModifiedAt     time.Time `json:"lastModifiedAt"`
}

func systemDataOf(res store.Resource) systemData {
	// Every caller is an application: the STS issues app-only tokens.
	return systemData{
		CreatedBy: res.CreatedBy, CreatedByType: "Application", CreatedAt: res.CreatedAt,
		LastModifiedBy: res.UpdatedBy, LastModifiedByType: "Application", LastModifiedAt: res.UpdatedAt,
	}
}

// resourceOutTx renders any resource, user-assigned identities included.
func (s *Server) resourceOutTx(tx store.Tx, res store.Resource) (resourceJSON, error) {
	out := resourceJSON{
		ID: res.ID, Name: res.Name, Type: res.Type, Location: res.Location,
		Tags: nonNilTags(res.Tags), SystemData: systemDataOf(res),
	}
	if res.Type == typeUAMI {
		props, err := uamiPropertiesTx(tx, res)
		if err != nil {
			return out, err
		}
		out.Properties, err = json.Marshal(props)
		return out, err
	}
	var err error
	var present func(map[string]json.RawMessage) error
	if p, ok := s.hooksFor(res.Type).(Presenter); ok {
		present = func(props map[string]json.RawMessage) error { return p.Present(res, props) }
	}
	if out.Properties, err = renderProperties(res.Properties, present); err != nil {
		return out, fmt.Errorf("render properties of %s: %w", res.ID, err)
	}
	out.Identity, err = identityOutTx(tx, res)
	return out, err
}

// renderProperties adds provisioningState: Succeeded, which clients (az,
// Terraform) poll for, and lets the type's Presenter, if any, refresh what
// it derives from the deployment.
func renderProperties(props json.RawMessage, present func(map[string]json.RawMessage) error) (json.RawMessage, error) {
	m := map[string]json.RawMessage{}
	if len(props) > 0 && string(props) != "null" {
		if err := json.Unmarshal(props, &m); err != nil {
			return nil, err
		}
	}
	m["provisioningState"] = json.RawMessage(`"Succeeded"`)
	if present != nil {
		if err := present(m); err != nil {
			return nil, err
		}
	}
	return json.Marshal(m)
}

func (s *Server) getResource(w http.ResponseWriter, req *request) error {
	rt := req.route
	if _, err := s.subscription(req, rt.sub); err != nil {
		return err
	}
	if err := s.authorize(req, rt.typ+"/read", rt.resourceID()); err != nil {
		return err
	}
	var out resourceJSON
	err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		res, err := getResourceTx(tx, rt)
		if err != nil {
			return err
		}
		out, err = s.resourceOutTx(tx, res)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) listResources(w http.ResponseWriter, req *request) error {
	rt := req.route
	if _, err := s.subscription(req, rt.sub); err != nil {
		return err
	}
	var resources []store.Resource
	err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		group := ""
		if rt.kind == routeResourcesByGroup {
			g, err := getGroupTx(tx, rt.sub, rt.group)
			if err != nil {
				return err
			}
			group = g.Name
		}
		var err error
		resources, err = tx.ListResources(rt.sub, group, rt.typ)
		return err
	})
	if err != nil {
		return err
	}
	var visible []store.Resource
	for _, res := range resources {
		ok, err := s.allowed(req, res.Type+"/read", res.ID)
		if err != nil {
			return err
		}
		if ok {
			visible = append(visible, res)
		}
	}
	l, err := page(req, s.size(), visible, func(r store.Resource) string { return r.ID })
	if err != nil {
		return err
	}
	out := list[resourceJSON]{Value: make([]resourceJSON, 0, len(l.Value)), NextLink: l.NextLink}
	err = s.Store.Read(req.Context(), func(tx store.Tx) error {
		for _, res := range l.Value {
			o, err := s.resourceOutTx(tx, res)
			if err != nil {
				return err
			}
			out.Value = append(out.Value, o)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) putResource(w http.ResponseWriter, req *request) error {
	return s.writeResource(w, req, false)
}

func (s *Server) patchResource(w http.ResponseWriter, req *request) error {
	return s.writeResource(w, req, true)
}

// writeResource is PUT (create 201 / replace 200) and PATCH (merge, 200).
func (s *Server) writeResource(w http.ResponseWriter, req *request, patch bool) error {
	rt := req.route
	if err := validateResourceName(rt.name); err != nil {
		return err
	}
	sub, err := s.subscription(req, rt.sub)
	if err != nil {
		return err
	}
	if err := s.authorize(req, rt.typ+"/write", rt.resourceID()); err != nil {
		return err
	}
	var body resourceBody
	if err := decodeBody(req.Request, &body); err != nil {
		return err
	}
	if !patch && (body.Location == nil || strings.TrimSpace(*body.Location) == "") {
		return newError(http.StatusBadRequest, codeLocationRequired, "The location property is required for this definition.")
	}
	if err := checkObject("properties", body.Properties); err != nil {
		return err
	}
	if rt.typ == typeUAMI {
		if body.Identity != nil {
			return newError(http.StatusBadRequest, codeInvalidRequestContent, "A user-assigned identity cannot have an identity block.")
		}
		return s.writeUAMI(w, req, sub, body, patch)
	}
	ident, err := parseIdentity(body.Identity)
	if err != nil {
		return err
	}
	// Linked authorization (ARM's name): attaching a user-assigned identity
	// needs assign/action on it. RBAC is asked outside the write
	// transaction; the transaction then refuses to attach anything this
	// check did not cover.
	var current []string
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		current, err = tx.ListResourceIdentities(rt.resourceID())
		return err
	}); err != nil {
		return internalError(err)
	}
	want, err := ident.desiredUsers(current, patch)
	if err != nil {
		return err
	}
	checked := newlyAttached(current, want)
	if err := s.authorizeAttach(req, rt, checked); err != nil {
		return err
	}

	var (
		out     resourceJSON
		created bool
	)
	err = s.Store.Write(req.Context(), func(tx store.Tx) error {
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
				ID:             "/subscriptions/" + sub.ID + "/resourceGroups/" + g.Name + "/providers/" + rt.typ + "/" + rt.name,
				SubscriptionID: sub.ID, ResourceGroup: g.Name, Type: rt.typ, Name: rt.name,
				CreatedAt: now, CreatedBy: req.caller.clientID,
			}
		case err != nil:
			return fmt.Errorf("get resource: %w", err)
		default:
			created = false
		}
		current, err := tx.ListResourceIdentities(res.ID)
		if err != nil {
			return fmt.Errorf("list identities of %s: %w", res.ID, err)
		}
		want, err := ident.desiredUsers(current, patch)
		if err != nil {
			return err
		}
		for _, id := range newlyAttached(current, want) {
			if !containsFold(checked, id) {
				return newError(http.StatusConflict, codeConflict,
					"The resource's identities changed while the request was processed; retry the request.")
			}
		}
		applyBody(&res, body, patch)
		res.UpdatedAt, res.UpdatedBy = now, req.caller.clientID
		if patch && body.Properties != nil {
			if res.Properties, err = mergePatch(res.Properties, body.Properties); err != nil {
				return internalError(err)
			}
		}
		if err := checkPlacement(res); err != nil {
			return err
		}
		if err := s.prepareTx(tx, &res, created); err != nil {
			return err
		}
		users, err := s.applyIdentityTx(tx, &res, sub.TenantID, ident.wantsSystem(res.SystemAssignedPrincipalID != ""), want)
		if err != nil {
			return err
		}
		if err := tx.PutResource(res); err != nil {
			return fmt.Errorf("put resource %s: %w", res.ID, err)
		}
		if err := tx.SetResourceIdentities(res.ID, users); err != nil {
			return fmt.Errorf("set identities of %s: %w", res.ID, err)
		}
		// Any PUT or PATCH may have dropped an identity or moved a site
		// off a host; telling which ones did not is not worth a mistake.
		if err := s.revokeUnentitledTx(tx, now); err != nil {
			return err
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

// applyBody copies a PUT's or PATCH's location, tags and (for PUT)
// properties onto res. PATCH replaces tags when given, as ARM does.
func applyBody(res *store.Resource, body resourceBody, patch bool) {
	if body.Location != nil && (!patch || res.Location == "") {
		res.Location = *body.Location
	}
	if !patch || body.Tags != nil {
		res.Tags = body.Tags
	}
	if !patch {
		res.Properties = body.Properties
		if string(res.Properties) == "null" {
			res.Properties = nil
		}
	}
}

// authorizeAttach checks assign/action on each identity being attached.
func (s *Server) authorizeAttach(req *request, rt route, ids []string) error {
	for _, id := range ids {
		d, err := s.decide(req, actionAssignIdentity, id)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return newError(http.StatusForbidden, codeLinkedAuthorizationFailed,
				"The client '%s' with object id '%s' has permission to perform action '%s' on scope '%s'; however, it does not have permission to perform action(s) '%s' on the linked scope(s) '%s' (respectively) or the linked scope(s) are invalid.",
				req.caller.objectID, req.caller.objectID, rt.typ+"/write", rt.resourceID(), actionAssignIdentity, truncate(id, 512))
		}
	}
	return nil
}

func (s *Server) deleteResource(w http.ResponseWriter, req *request) error {
	rt := req.route
	if _, err := s.subscription(req, rt.sub); err != nil {
		return err
	}
	if err := s.authorize(req, rt.typ+"/delete", rt.resourceID()); err != nil {
		return err
	}
	found := true
	err := s.Store.Write(req.Context(), func(tx store.Tx) error {
		res, err := tx.GetResource(rt.resourceID())
		if errors.Is(err, store.ErrNotFound) {
			found = false
			return nil
		}
		if err != nil {
			return fmt.Errorf("get resource: %w", err)
		}
		found = true
		if err := s.deleteResourceTx(tx, res); err != nil {
			return err
		}
		return s.revokeUnentitledTx(tx, s.now())
	})
	if err != nil {
		return err
	}
	if !found {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getResourceTx loads the route's resource, answering ResourceGroupNotFound
// or ResourceNotFound as ARM does.
func getResourceTx(tx store.Tx, rt route) (store.Resource, error) {
	if _, err := getGroupTx(tx, rt.sub, rt.group); err != nil {
		return store.Resource{}, err
	}
	res, err := tx.GetResource(rt.resourceID())
	if errors.Is(err, store.ErrNotFound) {
		return res, notFound(rt)
	}
	if err != nil {
		return res, internalError(err)
	}
	return res, nil
}

func notFound(rt route) error {
	return newError(http.StatusNotFound, codeResourceNotFound,
		"The Resource '%s/%s' under resource group '%s' was not found.", rt.typ, truncate(rt.name, 260), truncate(rt.group, 90))
}

// checkObject insists that a raw JSON field, when present, is an object.
func checkObject(field string, raw json.RawMessage) error {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 || string(t) == "null" || t[0] == '{' {
		return nil
	}
	return newError(http.StatusBadRequest, codeInvalidRequestContent, "The '%s' property must be a JSON object.", field)
}

// mergePatch applies an RFC 7386 JSON merge patch.
func mergePatch(target, patch json.RawMessage) (json.RawMessage, error) {
	var t, p any
	if len(target) > 0 {
		if err := unmarshalNumber(target, &t); err != nil {
			return nil, err
		}
	}
	if err := unmarshalNumber(patch, &p); err != nil {
		return nil, err
	}
	return json.Marshal(merge(t, p))
}

func merge(target, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	tm, ok := target.(map[string]any)
	if !ok {
		tm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(tm, k)
		} else {
			tm[k] = merge(tm[k], v)
		}
	}
	return tm
}

// unmarshalNumber decodes keeping numbers exact.
func unmarshalNumber(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}
