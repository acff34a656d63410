package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "vm identity assign", args: "--group G --name N [--identities ['[system]'] [UAMI name or id ...]]", summary: "assign identities to a VM (default: system-assigned)", run: runVMIdentityAssign},
		&command{path: "vm identity remove", args: "--group G --name N [--identities ['[system]'] [UAMI name or id ...]]", summary: "remove identities from a VM (default: system-assigned)", run: runVMIdentityRemove},
		&command{path: "vm identity show", args: "--group G --name N", summary: "show a VM's identity block", run: runVMIdentityShow},
	)
}

// identitySet is the identities a resource has or should have: the
// system-assigned one and user-assigned ones by resource id.
type identitySet struct {
	system bool
	// user maps the lower-cased id (ARM ids compare case-insensitively) to
	// the id as spelled.
	user map[string]string
}

// parseIdentityList reads az-style identity arguments: "[system]", full
// UAMI resource ids, or bare UAMI names in group.
func parseIdentityList(c *client.Client, group string, args []string) (identitySet, error) {
	s := identitySet{user: map[string]string{}}
	for _, arg := range args {
		switch {
		case strings.EqualFold(arg, systemIdentity):
			s.system = true
		case strings.HasPrefix(arg, "/"):
			if !strings.Contains(strings.ToLower(arg), "/providers/"+strings.ToLower(client.TypeUserAssignedIdentity)+"/") {
				return s, usagef("%q is not a user-assigned identity id", arg)
			}
			s.user[strings.ToLower(arg)] = arg
		default:
			id, err := c.UserAssignedIdentityID(group, arg)
			if err != nil {
				return s, usagef("invalid identity %q", arg)
			}
			s.user[strings.ToLower(id)] = id
		}
	}
	return s, nil
}

// current returns the set an identity block holds.
func current(ib *client.Identity) identitySet {
	s := identitySet{user: map[string]string{}}
	if ib == nil {
		return s
	}
	s.system = strings.Contains(strings.ToLower(ib.Type), "systemassigned")
	for id := range ib.UserAssignedIdentities {
		s.user[strings.ToLower(id)] = id
	}
	return s
}

// identityType spells the identity type for a set, in Compute's spelling.
func (s identitySet) identityType() string {
	switch {
	case s.system && len(s.user) > 0:
		return client.IdentitySystemAndUserAssigned
	case s.system:
		return client.IdentitySystemAssigned
	case len(s.user) > 0:
		return client.IdentityUserAssigned
	}
	return client.IdentityNone
}

// block builds the identity block that makes a resource hold s. removed
// are user-assigned ids to drop: sent as null, which a JSON merge patch
// (what ARM's PATCH is) needs to delete a map entry.
func (s identitySet) block(removed map[string]string) *client.Identity {
	ib := &client.Identity{Type: s.identityType()}
	if ib.Type == client.IdentityNone {
		return ib
	}
	if len(s.user) > 0 || len(removed) > 0 {
		ib.UserAssignedIdentities = map[string]*client.UserAssignedIdentity{}
		for _, id := range removed {
			ib.UserAssignedIdentities[id] = nil
		}
		for _, id := range s.user {
			ib.UserAssignedIdentities[id] = &client.UserAssignedIdentity{}
		}
	}
	return ib
}

func runVMIdentityAssign(a *app, args []string) error {
	return a.changeVMIdentity("vm identity assign", args, func(have, change identitySet) (identitySet, map[string]string, error) {
		have.system = have.system || change.system
		for k, id := range change.user {
			have.user[k] = id
		}
		return have, nil, nil
	})
}

func runVMIdentityRemove(a *app, args []string) error {
	return a.changeVMIdentity("vm identity remove", args, func(have, change identitySet) (identitySet, map[string]string, error) {
		if change.system {
			if !have.system {
				return have, nil, fmt.Errorf("the VM has no system-assigned identity")
			}
			have.system = false
		}
		removed := map[string]string{}
		for k, id := range change.user {
			spelled, ok := have.user[k]
			if !ok {
				return have, nil, fmt.Errorf("identity %s is not assigned to the VM", id)
			}
			removed[k] = spelled
			delete(have.user, k)
		}
		return have, removed, nil
	})
}

// changeVMIdentity reads a VM's identity block, applies edit and PATCHes
// the result (like az vm identity assign/remove), then prints the new block.
func (a *app) changeVMIdentity(name string, args []string, edit func(have, change identitySet) (identitySet, map[string]string, error)) error {
	identities, _, args := takeMulti(args, "identities")
	fs := newFlagSet(name)
	group := fs.String("group", "", "resource group")
	vmName := fs.String("name", "", "VM name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"group", *group}, [2]string{"name", *vmName}); err != nil {
		return err
	}
	if len(identities) == 0 {
		identities = []string{systemIdentity}
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	change, err := parseIdentityList(c, *group, identities)
	if err != nil {
		return err
	}
	id, err := c.ResourceID(*group, client.TypeVirtualMachine, *vmName)
	if err != nil {
		return err
	}
	vm, err := c.GetResource(a.ctx, id)
	if err != nil {
		return err
	}
	want, removed, err := edit(current(vm.Identity), change)
	if err != nil {
		return err
	}
	updated, err := c.PatchResource(a.ctx, id, client.Resource{Identity: want.block(removed)})
	if err != nil {
		return err
	}
	return a.printIdentityBlock(updated)
}

func runVMIdentityShow(a *app, args []string) error {
	c, id, err := a.resourceTarget("vm identity show", client.TypeVirtualMachine, "VM", args)
	if err != nil {
		return err
	}
	vm, err := c.GetResource(a.ctx, id)
	if err != nil {
		return err
	}
	return a.printIdentityBlock(vm)
}

// printIdentityBlock prints a resource's identity block: JSON as the server
// returned it ({"type":"None"} when absent), a table with one row per identity.
func (a *app) printIdentityBlock(r client.Resource) error {
	ib := r.Identity
	if ib == nil {
		ib = &client.Identity{Type: client.IdentityNone}
	}
	var v any = ib
	var raw struct {
		Identity json.RawMessage `json:"identity"`
	}
	if json.Unmarshal(r.Raw, &raw) == nil && len(raw.Identity) > 0 && string(raw.Identity) != "null" {
		v = raw.Identity
	}
	return a.emit(v, func(w io.Writer) error {
		t := newTable(w, "KIND", "PRINCIPAL ID", "CLIENT ID", "RESOURCE ID")
		if current(ib).system {
			t.row(client.IdentitySystemAssigned, ib.PrincipalID, "", "")
		}
		ids := make([]string, 0, len(ib.UserAssignedIdentities))
		for id := range ib.UserAssignedIdentities {
			ids = append(ids, id)
		}
		for _, id := range sortedStrings(ids) {
			ua := ib.UserAssignedIdentities[id]
			if ua == nil {
				ua = &client.UserAssignedIdentity{}
			}
			t.row(client.IdentityUserAssigned, ua.PrincipalID, ua.ClientID, id)
		}
		return t.flush()
	})
}

func sortedStrings(s []string) []string {
	slices.Sort(s)
	return s
}
