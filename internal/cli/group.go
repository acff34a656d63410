package cli

import (
	"io"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "group create", args: "--name N [--location L]", summary: "create or update a resource group", run: runGroupCreate},
		&command{path: "group list", args: "", summary: "list resource groups", run: runGroupList},
		&command{path: "group show", args: "--name N", summary: "show a resource group", run: runGroupShow},
		&command{path: "group delete", args: "--name N", summary: "delete a resource group and everything in it", run: runGroupDelete},
	)
}

// defaultLocation is used when a command creates something with no
// --location and nothing to inherit one from.
const defaultLocation = "local"

func runGroupCreate(a *app, args []string) error {
	fs := newFlagSet("group create")
	name := fs.String("name", "", "resource group name")
	location := fs.String("location", defaultLocation, "location")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	g, err := c.PutResourceGroup(a.ctx, *name, client.ResourceGroup{Location: *location})
	if err != nil {
		return err
	}
	return a.printGroups(g)
}

func runGroupList(a *app, args []string) error {
	if err := parse(newFlagSet("group list"), args); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	groups, err := c.ListResourceGroups(a.ctx)
	if err != nil {
		return err
	}
	return a.printGroupList(groups)
}

func runGroupShow(a *app, args []string) error {
	fs := newFlagSet("group show")
	name := fs.String("name", "", "resource group name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	g, err := c.GetResourceGroup(a.ctx, *name)
	if err != nil {
		return err
	}
	return a.printGroups(g)
}

func runGroupDelete(a *app, args []string) error {
	fs := newFlagSet("group delete")
	name := fs.String("name", "", "resource group name")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"name", *name}); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	return c.DeleteResourceGroup(a.ctx, *name)
}

func (a *app) printGroups(g client.ResourceGroup) error {
	return a.emit(rawOr(g.Raw, g), func(w io.Writer) error { return groupTable(w, g) })
}

func (a *app) printGroupList(groups []client.ResourceGroup) error {
	raws := make([]any, 0, len(groups))
	for _, g := range groups {
		raws = append(raws, rawOr(g.Raw, g))
	}
	return a.emit(raws, func(w io.Writer) error { return groupTable(w, groups...) })
}

func groupTable(w io.Writer, groups ...client.ResourceGroup) error {
	t := newTable(w, "NAME", "LOCATION", "STATE")
	for _, g := range groups {
		state := ""
		if g.Properties != nil {
			state = g.Properties.ProvisioningState
		}
		t.row(g.Name, g.Location, state)
	}
	return t.flush()
}
