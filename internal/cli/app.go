package cli

import (
	"encoding/json"
	"io"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "app create", args: "--group G --name N [--node HOST_RESOURCE_ID | --vm NAME] [--location L] [--assign-identity ['[system]'] [UAMI name or id ...]]", summary: "create an app (Microsoft.Web/sites), optionally placed on a host and with identities", run: runAppCreate},
		&command{path: "app list", args: "[--group G]", summary: "list apps", run: runAppList},
		&command{path: "app show", args: "--group G --name N", summary: "show an app", run: runAppShow},
		&command{path: "app delete", args: "--group G --name N", summary: "delete an app (and its system-assigned identity)", run: runAppDelete},
	)
}

func runAppCreate(a *app, args []string) error {
	identities, assign, args := takeMulti(args, "assign-identity")
	fs := newFlagSet("app create")
	group := fs.String("group", "", "resource group")
	name := fs.String("name", "", "app name")
	location := fs.String("location", "", "location (default: the group's)")
	node := fs.String("node", "", "resource id of the host (VM or hybrid machine) to place the app on")
	vm := fs.String("vm", "", "name of a VM in --group to place the app on")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"group", *group}, [2]string{"name", *name}); err != nil {
		return err
	}
	if *node != "" && *vm != "" {
		return usagef("give either --node or --vm, not both")
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	id, err := c.ResourceID(*group, client.TypeWebSite, *name)
	if err != nil {
		return err
	}
	props := map[string]string{}
	if *node != "" || *vm != "" {
		host, err := hostID(c, *node, *vm, *group)
		if err != nil {
			return err
		}
		props[client.PropertyHostResourceID] = host
	}
	raw, err := json.Marshal(props)
	if err != nil {
		return err
	}
	body := client.Resource{Properties: raw}
	if body.Identity, err = identityBlock(c, *group, assign, identities); err != nil {
		return err
	}
	if body.Location, err = a.locationOrGroups(c, *location, *group); err != nil {
		return err
	}
	site, err := c.PutResource(a.ctx, id, body)
	if err != nil {
		return err
	}
	return a.printApps(false, site)
}

func runAppList(a *app, args []string) error {
	return a.listResources("app list", client.TypeWebSite, args, a.printApps)
}

func runAppShow(a *app, args []string) error {
	return a.showResource("app show", client.TypeWebSite, "app", args, a.printApps)
}

func runAppDelete(a *app, args []string) error {
	return a.deleteResource("app delete", client.TypeWebSite, "app", args)
}

// hostOf reads an app's placement; "" when it has none.
func hostOf(site client.Resource) string {
	var p map[string]any
	if json.Unmarshal(site.Properties, &p) != nil {
		return ""
	}
	host, _ := p[client.PropertyHostResourceID].(string)
	return host
}

func (a *app) printApps(asList bool, sites ...client.Resource) error {
	raws := make([]any, 0, len(sites))
	for _, s := range sites {
		raws = append(raws, rawOr(s.Raw, s))
	}
	var v any = raws
	if !asList && len(raws) == 1 {
		v = raws[0]
	}
	return a.emit(v, func(w io.Writer) error {
		t := newTable(w, "NAME", "GROUP", "LOCATION", "HOST", "IDENTITY", "PRINCIPAL ID", "USER-ASSIGNED")
		for _, s := range sites {
			typ, principal, uas := identityColumns(s.Identity)
			host := hostOf(s)
			if host != "" {
				host = lastSegment(host)
			}
			t.row(s.Name, groupOf(s.ID), s.Location, host, typ, principal, uas)
		}
		return t.flush()
	})
}
