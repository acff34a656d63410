package cli

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "vm create", args: "--group G --name N [--location L] [--assign-identity ['[system]'] [UAMI name or id ...]]", summary: "create a VM, optionally with identities", run: runVMCreate},
		&command{path: "vm list", args: "[--group G]", summary: "list VMs", run: runVMList},
		&command{path: "vm show", args: "--group G --name N", summary: "show a VM", run: runVMShow},
		&command{path: "vm delete", args: "--group G --name N", summary: "delete a VM (and its system-assigned identity)", run: runVMDelete},
	)
}

// systemIdentity is az's token for the system-assigned identity in identity lists.
const systemIdentity = "[system]"

func runVMCreate(a *app, args []string) error {
	identities, assign, args := takeMulti(args, "assign-identity")
	fs := newFlagSet("vm create")
	group := fs.String("group", "", "resource group")
	name := fs.String("name", "", "VM name")
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
	id, err := c.ResourceID(*group, client.TypeVirtualMachine, *name)
	if err != nil {
		return err
	}
	body := client.Resource{Properties: json.RawMessage(`{}`)}
	if body.Identity, err = identityBlock(c, *group, assign, identities); err != nil {
		return err
	}
	if body.Location, err = a.locationOrGroups(c, *location, *group); err != nil {
		return err
	}
	vm, err := c.PutResource(a.ctx, id, body)
	if err != nil {
		return err
	}
	return a.printVMs(false, vm)
}

func runVMList(a *app, args []string) error {
	return a.listResources("vm list", client.TypeVirtualMachine, args, a.printVMs)
}

func runVMShow(a *app, args []string) error {
	return a.showResource("vm show", client.TypeVirtualMachine, "VM", args, a.printVMs)
}

func runVMDelete(a *app, args []string) error {
	return a.deleteResource("vm delete", client.TypeVirtualMachine, "VM", args)
}

func (a *app) printVMs(asList bool, vms ...client.Resource) error {
	raws := make([]any, 0, len(vms))
	for _, vm := range vms {
		raws = append(raws, rawOr(vm.Raw, vm))
	}
	var v any = raws
	if !asList && len(raws) == 1 {
		v = raws[0]
	}
	return a.emit(v, func(w io.Writer) error {
		t := newTable(w, "NAME", "GROUP", "LOCATION", "IDENTITY", "PRINCIPAL ID", "USER-ASSIGNED")
		for _, vm := range vms {
			typ, principal, uas := identityColumns(vm.Identity)
			t.row(vm.Name, groupOf(vm.ID), vm.Location, typ, principal, uas)
		}
		return t.flush()
	})
}

// identityColumns are the identity cells of a resource's table row: the
// type, the system-assigned principal and the user-assigned names.
func identityColumns(ib *client.Identity) (typ, principal, userAssigned string) {
	if ib == nil {
		return client.IdentityNone, "", ""
	}
	var names []string
	for id := range ib.UserAssignedIdentities {
		names = append(names, lastSegment(id))
	}
	return ib.Type, ib.PrincipalID, strings.Join(sortedStrings(names), ",")
}
