package console

import (
	"context"
	"sort"
	"strings"

	"github.com/signet-platform/signet/client"
)

// identityHolderTypes are the resource types that carry an identity block.
var identityHolderTypes = []string{
	client.TypeVirtualMachine,
	client.TypeHybridMachine,
	client.TypeWebSite,
	"Microsoft.KeyVault/vaults",
	"Microsoft.Storage/storageAccounts",
}

// identityRow is one managed identity, system- or user-assigned.
type identityRow struct {
	Kind        string // "User-assigned" or "System-assigned"
	Name        string
	ResourceID  string // the identity resource (user-assigned) or its resource (system-assigned)
	PrincipalID string
	ClientID    string
	// AssignedTo are the resources holding a user-assigned identity.
	AssignedTo []string
	Roles      []roleRow
}

// roleRow is a role assignment with its role's name resolved.
type roleRow struct {
	ID            string
	RoleName      string
	Scope         string
	PrincipalID   string
	PrincipalName string
	PrincipalType string
}

// inventory is what several pages need from the control plane at once.
type inventory struct {
	UserAssigned []client.ManagedIdentity
	Resources    []client.Resource
	Assignments  []client.RoleAssignment
	Roles        []client.RoleDefinition
}

func (inv *inventory) load(ctx context.Context, c *client.Client, withRBAC bool) error {
	var err error
	if inv.UserAssigned, err = c.ListUserAssignedIdentities(ctx, ""); err != nil {
		return err
	}
	for _, t := range identityHolderTypes {
		rs, err := c.ListResources(ctx, "", t)
		if err != nil {
			return err
		}
		inv.Resources = append(inv.Resources, rs...)
	}
	sort.Slice(inv.Resources, func(i, j int) bool { return inv.Resources[i].ID < inv.Resources[j].ID })
	if !withRBAC {
		return nil
	}
	scope := "/subscriptions/" + c.SubscriptionID()
	if inv.Assignments, err = c.ListRoleAssignments(ctx, scope, ""); err != nil {
		return err
	}
	inv.Roles, err = c.ListRoleDefinitions(ctx, scope, "")
	return err
}

// identities lists every managed identity: user-assigned ones with the
// resources holding them, then system-assigned ones by their resource.
func (inv *inventory) identities() []identityRow {
	var out []identityRow
	for _, m := range inv.UserAssigned {
		row := identityRow{Kind: "User-assigned", Name: m.Name, ResourceID: m.ID}
		if m.Properties != nil {
			row.PrincipalID, row.ClientID = m.Properties.PrincipalID, m.Properties.ClientID
		}
		for _, r := range inv.Resources {
			if r.Identity == nil {
				continue
			}
			for id := range r.Identity.UserAssignedIdentities {
				if strings.EqualFold(id, m.ID) {
					row.AssignedTo = append(row.AssignedTo, r.ID)
				}
			}
		}
		out = append(out, row)
	}
	for _, r := range inv.Resources {
		if r.Identity == nil || r.Identity.PrincipalID == "" {
			continue
		}
		out = append(out, identityRow{Kind: "System-assigned", Name: r.Name, ResourceID: r.ID, PrincipalID: r.Identity.PrincipalID})
	}
	for i := range out {
		out[i].Roles = inv.rolesOf(out[i].PrincipalID)
	}
	return out
}

// principalNames maps principal ids to the identity names the operator
// knows them by.
func (inv *inventory) principalNames() map[string]string {
	names := map[string]string{}
	for _, m := range inv.UserAssigned {
		if m.Properties != nil && m.Properties.PrincipalID != "" {
			names[m.Properties.PrincipalID] = m.Name
		}
	}
	for _, r := range inv.Resources {
		if r.Identity != nil && r.Identity.PrincipalID != "" {
			names[r.Identity.PrincipalID] = r.Name + " (system-assigned)"
		}
	}
	return names
}

func (inv *inventory) roleName(defID string) string {
	guid := defID[strings.LastIndex(defID, "/")+1:]
	for _, d := range inv.Roles {
		if strings.EqualFold(d.Name, guid) {
			return d.Properties.RoleName
		}
	}
	return guid
}

func (inv *inventory) roleRows(as []client.RoleAssignment) []roleRow {
	names := inv.principalNames()
	out := make([]roleRow, 0, len(as))
	for _, a := range as {
		scope := a.Properties.Scope
		if scope == "" {
			scope = strings.TrimSuffix(a.ID[:max(0, strings.LastIndex(strings.ToLower(a.ID), "/providers/microsoft.authorization/"))], "/")
		}
		out = append(out, roleRow{
			ID: a.ID, RoleName: inv.roleName(a.Properties.RoleDefinitionID), Scope: scope,
			PrincipalID: a.Properties.PrincipalID, PrincipalName: names[a.Properties.PrincipalID],
			PrincipalType: a.Properties.PrincipalType,
		})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Scope != out[j].Scope {
			return out[i].Scope < out[j].Scope
		}
		return out[i].RoleName < out[j].RoleName
	})
	return out
}

func (inv *inventory) rolesOf(principalID string) []roleRow {
	var mine []client.RoleAssignment
	for _, a := range inv.Assignments {
		if principalID != "" && a.Properties.PrincipalID == principalID {
			mine = append(mine, a)
		}
	}
	return inv.roleRows(mine)
}

// roleChoices is the role picker: built-in roles first, by name.
func (inv *inventory) roleChoices(c *client.Client) []roleChoice {
	out := make([]roleChoice, 0, len(inv.Roles))
	for _, d := range inv.Roles {
		out = append(out, roleChoice{ID: c.RoleDefinitionID(d.Name), Name: d.Properties.RoleName, Description: d.Properties.Description})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

type roleChoice struct{ ID, Name, Description string }
