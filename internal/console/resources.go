package console

import (
	"net/http"
	"strings"

	"github.com/signet-platform/signet/client"
)

type resourcesView struct {
	Resources []resourceRow
	Groups    []string
}

// resourceRow is a resource and its identity block, with user-assigned
// identities resolved to their principal ids for links.
type resourceRow struct {
	Resource     client.Resource
	IdentityType string
	SystemID     string
	UserAssigned []userAssignedRow
}

type userAssignedRow struct{ ID, PrincipalID string }

func (s *Server) resources(w http.ResponseWriter, r *http.Request, sess *session) error {
	var inv inventory
	if err := inv.load(r.Context(), sess.client, false); err != nil {
		return err
	}
	groups, err := groupNames(r, sess.client)
	if err != nil {
		return err
	}
	principalOf := map[string]string{}
	for _, m := range inv.UserAssigned {
		if m.Properties != nil {
			principalOf[strings.ToLower(m.ID)] = m.Properties.PrincipalID
		}
	}
	v := resourcesView{Groups: groups}
	for _, res := range inv.Resources {
		row := resourceRow{Resource: res, IdentityType: client.IdentityNone}
		if ib := res.Identity; ib != nil {
			row.IdentityType, row.SystemID = ib.Type, ib.PrincipalID
			for id, ua := range ib.UserAssignedIdentities {
				u := userAssignedRow{ID: id, PrincipalID: principalOf[strings.ToLower(id)]}
				if u.PrincipalID == "" && ua != nil {
					u.PrincipalID = ua.PrincipalID
				}
				row.UserAssigned = append(row.UserAssigned, u)
			}
		}
		v.Resources = append(v.Resources, row)
	}
	s.render(w, r, http.StatusOK, "resources", sess, "Resources", v)
	return nil
}

// createVM creates a virtual machine record, with a system-assigned
// identity when asked (the control plane creates its principal).
func (s *Server) createVM(w http.ResponseWriter, r *http.Request, sess *session) error {
	name, group := strings.TrimSpace(r.PostForm.Get("name")), r.PostForm.Get("group")
	if name == "" || group == "" {
		return badRequest("A name and a resource group are needed.")
	}
	id, err := sess.client.ResourceID(group, client.TypeVirtualMachine, name)
	if err != nil {
		return badRequest("%s", err.Error())
	}
	body := client.Resource{Location: "local"}
	if r.PostForm.Get("systemAssigned") == "on" {
		body.Identity = &client.Identity{Type: client.IdentitySystemAssigned}
	}
	if _, err := sess.client.PutResource(r.Context(), id, body); err != nil {
		return err
	}
	return redirect(w, r, Prefix+"/resources")
}
