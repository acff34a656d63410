package cli

import (
	"fmt"
	"io"
	"time"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "node join-token", args: "--resource ID | --vm NAME --group G [--ttl 1h]", summary: "create a one-time join token that enrolls a host's node agent", run: runNodeJoinToken},
		&command{path: "node list", args: "", summary: "list enrolled nodes (removed ones included)", run: runNodeList},
		&command{path: "node remove", args: "--id N", summary: "remove a node and revoke every credential issued to it", run: runNodeRemove},
	)
}

func runNodeJoinToken(a *app, args []string) error {
	fs := newFlagSet("node join-token")
	resource := fs.String("resource", "", "host resource id (a VM or hybrid machine)")
	vm := fs.String("vm", "", "VM name (with --group)")
	group := fs.String("group", "", "resource group of --vm")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the token, 1m to 24h")
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case *resource != "" && (*vm != "" || *group != ""):
		return usagef("give either --resource or --vm with --group, not both")
	case *resource == "" && *vm == "":
		return usagef("--resource or --vm is required")
	case *ttl <= 0:
		return usagef("--ttl must be positive")
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	host, err := hostID(c, *resource, *vm, *group)
	if err != nil {
		return err
	}
	tok, err := c.CreateJoinToken(a.ctx, host, *ttl)
	if err != nil {
		return err
	}
	// The table form is the bare token, so `$(signet node join-token ...)`
	// hands it straight to the agent.
	return a.emit(rawOr(tok.Raw, tok), func(w io.Writer) error {
		_, err := fmt.Fprintln(w, tok.Token)
		return err
	})
}

// hostID resolves a host given as a resource id or as a VM name in a group.
func hostID(c *client.Client, resource, vm, group string) (string, error) {
	if resource != "" {
		if resource[0] != '/' {
			return "", usagef("%q is not a resource id (use --vm NAME --group G for a VM name)", resource)
		}
		return resource, nil
	}
	if group == "" {
		return "", usagef("--group is required with --vm")
	}
	id, err := c.ResourceID(group, client.TypeVirtualMachine, vm)
	if err != nil {
		return "", usagef("invalid VM %q: %v", vm, err)
	}
	return id, nil
}

func runNodeList(a *app, args []string) error {
	if err := parse(newFlagSet("node list"), args); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	nodes, err := c.ListNodes(a.ctx)
	if err != nil {
		return err
	}
	raws := make([]any, 0, len(nodes))
	for _, n := range nodes {
		raws = append(raws, rawOr(n.Raw, n))
	}
	return a.emit(raws, func(w io.Writer) error {
		t := newTable(w, "ID", "HOST", "GROUP", "CREATED", "REMOVED")
		for _, n := range nodes {
			removed := ""
			if n.RemovedAt != nil {
				removed = formatTime(*n.RemovedAt)
			}
			t.row(n.ID, lastSegment(n.HostResourceID), groupOf(n.HostResourceID), formatTime(n.CreatedAt), removed)
		}
		return t.flush()
	})
}

func runNodeRemove(a *app, args []string) error {
	fs := newFlagSet("node remove")
	id := fs.String("id", "", "node id")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := required([2]string{"id", *id}); err != nil {
		return err
	}
	c, err := a.subscriptionClient()
	if err != nil {
		return err
	}
	return c.RemoveNode(a.ctx, *id)
}
