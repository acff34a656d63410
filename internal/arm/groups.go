package arm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"

	"github.com/signet-platform/signet/internal/store"
)

const (
	actionGroupRead   = "Microsoft.Resources/subscriptions/resourceGroups/read"
	actionGroupWrite  = "Microsoft.Resources/subscriptions/resourceGroups/write"
	actionGroupDelete = "Microsoft.Resources/subscriptions/resourceGroups/delete"
)

type groupJSON struct {
	ID         string            `json:"id"`
	Name       string            `json:"name"`
	Type       string            `json:"type"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties groupProperties   `json:"properties"`
}

type groupProperties struct {
	ProvisioningState string `json:"provisioningState"`
}

// groupBody is what a PUT of a resource group may carry.
type groupBody struct {
	Location *string           `json:"location"`
	Tags     map[string]string `json:"tags"`
}

func groupID(g store.ResourceGroup) string {
	return "/subscriptions/" + g.SubscriptionID + "/resourceGroups/" + g.Name
}

func groupOut(g store.ResourceGroup) groupJSON {
	return groupJSON{
		ID:         groupID(g),
		Name:       g.Name,
		Type:       typeGroup,
		Location:   g.Location,
		Tags:       nonNilTags(g.Tags),
		Properties: groupProperties{ProvisioningState: "Succeeded"},
	}
}

func (s *Server) getGroup(w http.ResponseWriter, req *request) error {
	rt := req.route
	if _, err := s.subscription(req, rt.sub); err != nil {
		return err
	}
	if err := s.authorize(req, actionGroupRead, rt.groupID()); err != nil {
		return err
	}
	var g store.ResourceGroup
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		var err error
		g, err = getGroupTx(tx, rt.sub, rt.group)
		return err
	}); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, groupOut(g))
}

// headGroup answers whether a group exists (204 or 404), as `az group
// exists` asks.
func (s *Server) headGroup(w http.ResponseWriter, req *request) error {
	rt := req.route
	if _, err := s.subscription(req, rt.sub); err != nil {
		return err
	}
	if err := s.authorize(req, actionGroupRead, rt.groupID()); err != nil {
		return err
	}
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		_, err := getGroupTx(tx, rt.sub, rt.group)
		return err
	}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listGroups(w http.ResponseWriter, req *request) error {
	if _, err := s.subscription(req, req.route.sub); err != nil {
		return err
	}
	var groups []store.ResourceGroup
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		var err error
		groups, err = tx.ListResourceGroups(req.route.sub)
		return err
	}); err != nil {
		return internalError(err)
	}
	out := []groupJSON{}
	for _, g := range groups {
		ok, err := s.allowed(req, actionGroupRead, groupID(g))
		if err != nil {
			return err
		}
		if ok {
			out = append(out, groupOut(g))
		}
	}
	l, err := page(req, s.size(), out, func(g groupJSON) string { return g.Name })
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

func (s *Server) putGroup(w http.ResponseWriter, req *request) error {
	rt := req.route
	if err := validateGroupName(rt.group); err != nil {
		return err
	}
	if _, err := s.subscription(req, rt.sub); err != nil {
		return err
	}
	if err := s.authorize(req, actionGroupWrite, rt.groupID()); err != nil {
		return err
	}
	var body groupBody
	if err := decodeBody(req.Request, &body); err != nil {
		return err
	}
	if body.Location == nil || strings.TrimSpace(*body.Location) == "" {
		return newError(http.StatusBadRequest, codeLocationRequired, "The location property is required for this definition.")
	}
	var (
		g       store.ResourceGroup
		created bool
	)
	err := s.Store.Write(req.Context(), func(tx store.Tx) error {
		g = store.ResourceGroup{SubscriptionID: rt.sub, Name: rt.group, Location: *body.Location, Tags: body.Tags, CreatedAt: s.now()}
		old, err := tx.GetResourceGroup(rt.sub, rt.group)
		switch {
		case errors.Is(err, store.ErrNotFound):
			created = true
		case err != nil:
			return err
		default:
			if !strings.EqualFold(old.Location, g.Location) {
				return newError(http.StatusConflict, "InvalidResourceGroupLocation",
					"Invalid resource group location '%s'. The Resource group already exists in location '%s'.", truncate(g.Location, 64), old.Location)
			}
			// Keep the name as first created: ids of its resources use it.
			g.SubscriptionID, g.Name, g.Location, g.CreatedAt = old.SubscriptionID, old.Name, old.Location, old.CreatedAt
			created = false
		}
		return tx.PutResourceGroup(g)
	})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return writeJSON(w, status, groupOut(g))
}

// deleteGroup deletes the group, everything in it (with each resource's
// identity semantics) and the role assignments at and below it, in one
// transaction.
func (s *Server) deleteGroup(w http.ResponseWriter, req *request) error {
	rt := req.route
	if _, err := s.subscription(req, rt.sub); err != nil {
		return err
	}
	if err := s.authorize(req, actionGroupDelete, rt.groupID()); err != nil {
		return err
	}
	err := s.Store.Write(req.Context(), func(tx store.Tx) error {
		g, err := getGroupTx(tx, rt.sub, rt.group)
		if err != nil {
			return err
		}
		resources, err := tx.ListResources(rt.sub, g.Name, "")
		if err != nil {
			return fmt.Errorf("list resources of %s: %w", groupID(g), err)
		}
		for _, res := range resources {
			if err := s.deleteResourceTx(tx, res); err != nil {
				return err
			}
		}
		if _, err := tx.DeleteRoleAssignmentsUnderScope(groupID(g)); err != nil {
			return fmt.Errorf("delete role assignments under %s: %w", groupID(g), err)
		}
		if err := tx.DeleteResourceGroup(rt.sub, g.Name); err != nil {
			return err
		}
		return s.revokeUnentitledTx(tx, s.now())
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// getGroupTx loads a group or answers ResourceGroupNotFound.
func getGroupTx(tx store.Tx, sub, name string) (store.ResourceGroup, error) {
	g, err := tx.GetResourceGroup(sub, name)
	if errors.Is(err, store.ErrNotFound) {
		return g, newError(http.StatusNotFound, codeResourceGroupNotFound, "Resource group '%s' could not be found.", truncate(name, 90))
	}
	if err != nil {
		return g, internalError(err)
	}
	return g, nil
}

// validateGroupName applies ARM's resource group naming rule: 1-90
// letters, digits, underscores, hyphens, periods and parentheses, not
// ending in a period.
func validateGroupName(name string) error {
	ok := len(name) <= 90 && !strings.HasSuffix(name, ".")
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune("_-.()", r) {
			ok = false
		}
	}
	if !ok {
		return newError(http.StatusBadRequest, "InvalidResourceGroupName",
			"The resource group name '%s' is invalid: use 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'.", truncate(name, 100))
	}
	return nil
}

// validateResourceName applies ARM's characters rule for resource names.
func validateResourceName(name string) error {
	ok := len(name) <= 260 && !strings.HasSuffix(name, ".") && !strings.HasSuffix(name, " ")
	if strings.ContainsAny(name, `<>*%&:\?/+#"'`) || strings.ContainsFunc(name, isControl) {
		ok = false
	}
	if !ok {
		return newError(http.StatusBadRequest, "InvalidResourceName",
			"The resource name '%s' is invalid.", truncate(name, 100))
	}
	return nil
}

func nonNilTags(t map[string]string) map[string]string {
	if t == nil {
		return map[string]string{}
	}
	return t
}
