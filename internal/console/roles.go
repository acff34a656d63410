package console

import (
	"net/http"
	"strings"

	"github.com/signet-platform/signet/client"
)

type rolesView struct {
	Assignments []roleRow
	Roles       []roleChoice
	Principals  []identityRow
	Scope       string
}

func (s *Server) roles(w http.ResponseWriter, r *http.Request, sess *session) error {
	var inv inventory
	if err := inv.load(r.Context(), sess.client, true); err != nil {
		return err
	}
	v := rolesView{
		Assignments: inv.roleRows(inv.Assignments),
		Roles:       inv.roleChoices(sess.client),
		Principals:  inv.identities(),
		Scope:       "/subscriptions/" + sess.client.SubscriptionID(),
	}
	s.render(w, r, http.StatusOK, "roles", sess, "Role assignments", v)
	return nil
}

// createRoleAssignment grants a role (from the picker) to a principal at a
// scope.
func (s *Server) createRoleAssignment(w http.ResponseWriter, r *http.Request, sess *session) error {
	principalID := strings.TrimSpace(r.PostForm.Get("principalId"))
	role := r.PostForm.Get("role")
	scope := strings.TrimSpace(r.PostForm.Get("scope"))
	if principalID == "" || role == "" || scope == "" {
		return badRequest("A principal, a role and a scope are needed.")
	}
	if !strings.Contains(strings.ToLower(role), "/providers/microsoft.authorization/roledefinitions/") {
		return badRequest("Pick a role from the list.")
	}
	_, err := sess.client.CreateRoleAssignment(r.Context(), scope, client.RoleAssignmentProperties{
		RoleDefinitionID: role, PrincipalID: principalID, PrincipalType: client.PrincipalTypeServicePrincipal,
	})
	if err != nil {
		return err
	}
	return redirect(w, r, back(r, Prefix+"/roles"))
}

func (s *Server) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, sess *session) error {
	id := r.PostForm.Get("id")
	if id == "" {
		return badRequest("Which role assignment?")
	}
	if err := sess.client.DeleteRoleAssignment(r.Context(), id); err != nil {
		return err
	}
	return redirect(w, r, back(r, Prefix+"/roles"))
}

// back is the console page a form asked to return to, or def. Only paths
// of this console qualify, so a form field cannot redirect anywhere else.
func back(r *http.Request, def string) string {
	p := r.PostForm.Get("back")
	if strings.HasPrefix(p, Prefix+"/") && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n") {
		return p
	}
	return def
}
