package cli

import "github.com/signet-platform/signet/client"

// groupAndName parses the --group and --name (of a what) that a command on
// one resource takes.
func groupAndName(cmdName, what string, args []string) (group, name string, err error) {
	fs := newFlagSet(cmdName)
	g := fs.String("group", "", "resource group")
	n := fs.String("name", "", what+" name")
	if err := parse(fs, args); err != nil {
		return "", "", err
	}
	if err := required([2]string{"group", *g}, [2]string{"name", *n}); err != nil {
		return "", "", err
	}
	return *g, *n, nil
}

// resourceTarget parses --group and --name for a command on one resource of
// type typ (what names it in the usage) and returns the resource's id.
func (a *app) resourceTarget(cmdName, typ, what string, args []string) (*client.Client, string, error) {
	group, name, err := groupAndName(cmdName, what, args)
	if err != nil {
		return nil, "", err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return nil, "", err
	}
	id, err := c.ResourceID(group, typ, name)
	return c, id, err
}

// identityBlock is the identity block --assign-identity asks for; nil when
// it was not given. Like az, a bare --assign-identity means the
// system-assigned identity.
func identityBlock(c *client.Client, group string, assign bool, identities []string) (*client.Identity, error) {
	if !assign {
		return nil, nil
	}
	if len(identities) == 0 {
		identities = []string{systemIdentity}
	}
	set, err := parseIdentityList(c, group, identities)
	if err != nil {
		return nil, err
	}
	return set.block(nil), nil
}

// listResources lists resources of typ in --group (or the subscription).
func (a *app) listResources(cmdName, typ string, args []string, print func(bool, ...client.Resource) error) error {
	fs := newFlagSet(cmdName)
	group := fs.String("group", "", "resource group (default: the whole subscription)")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	items, err := c.ListResources(a.ctx, *group, typ)
	if err != nil {
		return err
	}
	return print(true, items...)
}

// showResource prints one resource of typ named by --group and --name.
func (a *app) showResource(cmdName, typ, what string, args []string, print func(bool, ...client.Resource) error) error {
	c, id, err := a.resourceTarget(cmdName, typ, what, args)
	if err != nil {
		return err
	}
	res, err := c.GetResource(a.ctx, id)
	if err != nil {
		return err
	}
	return print(false, res)
}

// deleteResource deletes one resource of typ named by --group and --name.
func (a *app) deleteResource(cmdName, typ, what string, args []string) error {
	c, id, err := a.resourceTarget(cmdName, typ, what, args)
	if err != nil {
		return err
	}
	return c.DeleteResource(a.ctx, id)
}
