package cli

import (
	"io"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "identity create", args: "--group G --name N [--location L]", summary: "create a user-assigned identity", run: runIdentityCreate},
		&command{path: "identity list", args: "[--group G]", summary: "list user-assigned identities", run: runIdentityList},
		&command{path: "identity show", args: "--group G --name N", summary: "show a user-assigned identity", run: runIdentityShow},
		&command{path: "identity delete", args: "--group G --name N", summary: "delete a user-assigned identity", run: runIdentityDelete},
	)
}

func runIdentityCreate(a *app, args []string) error {
	fs := newFlagSet("identity create")
	group := fs.String("group", "", "resource group")
	name := fs.String("name", "", "identity name")
	location := fs.String("location", "", "location (default: the group's)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"group", *group}, [2]string{"name", *name}); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	loc, err := a.locationOrGroups(c, *location, *group)
	if err != nil {
		return err
	}
	id, err := c.PutUserAssignedIdentity(a.ctx, *group, *name, client.ManagedIdentity{Location: loc})
	if err != nil {
		return err
	}
	return a.printIdentities(false, id)
}

func runIdentityList(a *app, args []string) error {
	fs := newFlagSet("identity list")
	group := fs.String("group", "", "resource group (default: the whole subscription)")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	ids, err := c.ListUserAssignedIdentities(a.ctx, *group)
	if err != nil {
		return err
	}
	return a.printIdentities(true, ids...)
}

func runIdentityShow(a *app, args []string) error {
	fs := newFlagSet("identity show")
	group := fs.String("group", "", "resource group")
	name := fs.String("name", "", "identity name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"group", *group}, [2]string{"name", *name}); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	id, err := c.GetUserAssignedIdentity(a.ctx, *group, *name)
	if err != nil {
		return err
	}
	return a.printIdentities(false, id)
}

func runIdentityDelete(a *app, args []string) error {
	fs := newFlagSet("identity delete")
	group := fs.String("group", "", "resource group")
	name := fs.String("name", "", "identity name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"group", *group}, [2]string{"name", *name}); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	return c.DeleteUserAssignedIdentity(a.ctx, *group, *name)
}

// locationOrGroups returns location, or when it is empty the location of
// the resource group (as az does).
func (a *app) locationOrGroups(c *client.Client, location, group string) (string, error) {
	if location != "" {
		return location, nil
	}
	g, err := c.GetResourceGroup(a.ctx, group)
	if err != nil {
		return "", err
	}
	return g.Location, nil
}

func (a *app) printIdentities(asList bool, ids ...client.ManagedIdentity) error {
	raws := make([]any, 0, len(ids))
	for _, id := range ids {
		raws = append(raws, rawOr(id.Raw, id))
	}
	var v any = raws
	if !asList && len(raws) == 1 {
		v = raws[0]
	}
	return a.emit(v, func(w io.Writer) error {
		t := newTable(w, "NAME", "GROUP", "LOCATION", "CLIENT ID", "PRINCIPAL ID")
		for _, id := range ids {
			var p client.ManagedIdentityProperties
			if id.Properties != nil {
				p = *id.Properties
			}
			t.row(id.Name, groupOf(id.ID), id.Location, p.ClientID, p.PrincipalID)
		}
		return t.flush()
	})
}
