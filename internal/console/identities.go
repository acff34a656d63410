package console

import (
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/signet-platform/signet/client"
)

type identitiesView struct {
	Identities []identityRow
	Groups     []string
}

func (s *Server) identities(w http.ResponseWriter, r *http.Request, sess *session) error {
	var inv inventory
	if err := inv.load(r.Context(), sess.client, true); err != nil {
		return err
	}
	groups, err := groupNames(r, sess.client)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "identities", sess, "Identities", identitiesView{Identities: inv.identities(), Groups: groups})
	return nil
}

func groupNames(r *http.Request, c *client.Client) ([]string, error) {
	gs, err := c.ListResourceGroups(r.Context())
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(gs))
	for _, g := range gs {
		names = append(names, g.Name)
	}
	sort.Strings(names)
	return names, nil
}

// createIdentity creates a user-assigned identity.
func (s *Server) createIdentity(w http.ResponseWriter, r *http.Request, sess *session) error {
	name, group := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("group")
	if name == "" || group == "" {
		return badRequest("A name and a resource group are needed.")
	}
	location := strings.TrimSpace(r.PostForm.Get("location"))
	if location == "" {
		location = "local"
	}
	m, err := sess.client.PutUserAssignedIdentity(r.Context(), group, name, client.ManagedIdentity{Location: location})
	if err != nil {
		return err
	}
	if m.Properties != nil && m.Properties.PrincipalID != "" {
		return redirect(w, r, identityPath(m.Properties.PrincipalID))
	}
	return redirect(w, r, Prefix+"/identities")
}

func identityPath(principalID string) string {
	return Prefix + "/identities/" + url.PathEscape(principalID)
}

// identityView is one identity's page: what it is, where it is assigned,
// its roles, and its tokens from issue (sign-ins) to use (access records
// carrying the token's id).
type identityView struct {
	Identity identityRow
	// Holders are the resources it may be assigned to (user-assigned).
	Holders []client.Resource
	Roles   []roleChoice
	Scope   string
	Tokens  []tokenTrail
	// AccessNote says why access records are missing, when they are.
	AccessNote string
}

// tokenTrail is one sign-in and what its token was then used for.
type tokenTrail struct {
	SignIn client.SignIn
	Uses   []client.AccessEntry
}

func (s *Server) identity(w http.ResponseWriter, r *http.Request, sess *session) error {
	principalID := r.PathValue("principalID")
	var inv inventory
	if err := inv.load(r.Context(), sess.client, true); err != nil {
		return err
	}
	var v identityView
	found := false
	for _, id := range inv.identities() {
		if id.PrincipalID == principalID {
			v.Identity, found = id, true
			break
		}
	}
	if !found {
		return &pageError{status: http.StatusNotFound, msg: "No managed identity has this principal id (or you may not read it)."}
	}
	if v.Identity.Kind == "User-assigned" {
		v.Holders = inv.Resources
	}
	v.Roles = inv.roleChoices(sess.client)
	v.Scope = "/subscriptions/" + sess.client.SubscriptionID()

	signIns, err := sess.client.ListSignIns(r.Context(), client.SignInFilter{PrincipalID: principalID, Top: 50})
	if err != nil {
		return err
	}
	uses, note, err := s.listAccess(r.Context(), sess.client, client.LogFilter{PrincipalID: principalID, Top: 1000})
	if err != nil {
		return err
	}
	v.AccessNote = note
	byToken := map[string][]client.AccessEntry{}
	for _, a := range uses {
		if a.TokenID != "" {
			byToken[a.TokenID] = append(byToken[a.TokenID], a)
		}
	}
	for _, si := range signIns {
		t := tokenTrail{SignIn: si}
		if si.TokenID != "" {
			t.Uses = byToken[si.TokenID]
		}
		v.Tokens = append(v.Tokens, t)
	}
	s.render(w, r, http.StatusOK, "identity", sess, v.Identity.Name, v)
	return nil
}

// assignIdentity adds a user-assigned identity to a resource's identity
// block, keeping whatever the block held (az vm identity assign).
func (s *Server) assignIdentity(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.changeAssignment(w, r, sess, true)
}

// unassignIdentity removes a user-assigned identity from a resource.
func (s *Server) unassignIdentity(w http.ResponseWriter, r *http.Request, sess *session) error {
	return s.changeAssignment(w, r, sess, false)
}

func (s *Server) changeAssignment(w http.ResponseWriter, r *http.Request, sess *session, add bool) error {
	identityID, resourceID := r.PostForm.Get("identity"), r.PostForm.Get("resource")
	principalID := r.PostForm.Get("principal")
	if identityID == "" || resourceID == "" {
		return badRequest("Choose an identity and a resource.")
	}
	if !strings.HasPrefix(resourceID, "/subscriptions/") {
		return badRequest("%q is not a resource id.", resourceID)
	}
	res, err := sess.client.GetResource(r.Context(), resourceID)
	if err != nil {
		return err
	}
	system, user := false, map[string]string{}
	if ib := res.Identity; ib != nil {
		system = strings.Contains(strings.ToLower(ib.Type), "systemassigned")
		for id := range ib.UserAssignedIdentities {
			user[strings.ToLower(id)] = id
		}
	}
	removed := ""
	if add {
		user[strings.ToLower(identityID)] = identityID
	} else {
		spelled, ok := user[strings.ToLower(identityID)]
		if !ok {
			return badRequest("That identity is not assigned to %s.", res.Name)
		}
		removed = spelled
		delete(user, strings.ToLower(identityID))
	}
	if _, err := sess.client.PatchResource(r.Context(), resourceID, client.Resource{Identity: identityBlock(system, user, removed)}); err != nil {
		return err
	}
	if principalID != "" {
		return redirect(w, r, identityPath(principalID))
	}
	return redirect(w, r, Prefix+"/identities")
}

// identityBlock is the identity block that makes a resource hold system
// and user; removed is sent as null, which a JSON merge patch (ARM's
// PATCH) needs to delete a map entry.
func identityBlock(system bool, user map[string]string, removed string) *client.Identity {
	ib := &client.Identity{Type: client.IdentityNone}
	switch {
	case system && len(user) > 0:
		ib.Type = client.IdentitySystemAndUserAssigned
	case system:
		ib.Type = client.IdentitySystemAssigned
	case len(user) > 0:
		ib.Type = client.IdentityUserAssigned
	}
	if ib.Type == client.IdentityNone {
		return ib
	}
	if len(user) > 0 || removed != "" {
		ib.UserAssignedIdentities = map[string]*client.UserAssignedIdentity{}
		if removed != "" {
			ib.UserAssignedIdentities[removed] = nil
		}
		for _, id := range user {
			ib.UserAssignedIdentities[id] = &client.UserAssignedIdentity{}
		}
	}
	return ib
}
