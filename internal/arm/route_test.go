package arm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRoute(t *testing.T) {
	vm := "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
	tests := []struct {
		path string
		want route
	}{
		{"/subscriptions", route{kind: routeSubscriptions}},
		{"/subscriptions/s/", route{kind: routeSubscription, sub: "s"}},
		{"/SUBSCRIPTIONS/s/RESOURCEGROUPS", route{kind: routeGroups, sub: "s"}},
		{"/subscriptions/s/resourcegroups/RG", route{kind: routeGroup, sub: "s", group: "RG"}},
		{"/subscriptions/s/providers/microsoft.keyvault/VAULTS", route{kind: routeResourcesBySub, sub: "s", typ: typeVault}},
		{"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Web/sites", route{kind: routeResourcesByGroup, sub: "s", group: "rg", typ: typeSite}},
		{vm, route{kind: routeResource, sub: "s", group: "rg", typ: typeVM, name: "vm"}},
		{vm + "/providers/Microsoft.ManagedIdentity/identities/default", route{kind: routeSystemIdentity, sub: "s", scope: vm}},
		{vm + "/providers/Microsoft.Authorization/roleAssignments", route{kind: routeRoleAssignments, sub: "s", scope: vm}},
		{"/providers/Microsoft.Authorization/roleAssignments/x", route{kind: routeRoleAssignment, scope: "/", name: "x"}},
		{"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/d", route{kind: routeRoleDefinition, sub: "s", scope: "/subscriptions/s", name: "d"}},
		{"/subscriptions/s/providers/Signet.Audit/signIns", route{kind: routeSignIns, sub: "s"}},
		{"/subscriptions/s/providers/Microsoft.Insights/eventtypes/management/values", route{kind: routeActivity, sub: "s"}},
		{"/providers/Signet.Keys/rotate", route{kind: routeKeysRotate, scope: "/"}},
		{vm + "/providers/signet.identity/JOINTOKENS", route{kind: routeJoinTokens, sub: "s", scope: vm}},
		{"/subscriptions/s/providers/Signet.Identity/nodes", route{kind: routeNodes, sub: "s"}},
		{"/subscriptions/s/providers/Signet.Identity/nodes/n1", route{kind: routeNode, sub: "s", name: "n1"}},
	}
	for _, tc := range tests {
		got, err := parseRoute(tc.path)
		if err != nil {
			t.Errorf("parseRoute(%q): %v", tc.path, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(route{})); diff != "" {
			t.Errorf("parseRoute(%q) (-want +got):\n%s", tc.path, diff)
		}
	}
}

// pathOf rebuilds a canonical path for a parsed route.
func pathOf(rt route) string {
	ext := func(tail string) string { return strings.TrimSuffix(rt.scope, "/") + tail }
	switch rt.kind {
	case routeSubscriptions:
		return "/subscriptions"
	case routeSubscription:
		return "/subscriptions/" + rt.sub
	case routeGroups:
		return "/subscriptions/" + rt.sub + "/resourceGroups"
	case routeGroup:
		return rt.groupID()
	case routeResourcesBySub:
		return "/subscriptions/" + rt.sub + "/providers/" + rt.typ
	case routeResourcesByGroup:
		return rt.groupID() + "/providers/" + rt.typ
	case routeResource:
		return rt.resourceID()
	case routeSystemIdentity:
		return ext("/providers/Microsoft.ManagedIdentity/identities/default")
	case routeRoleAssignments:
		return ext("/providers/Microsoft.Authorization/roleAssignments")
	case routeRoleAssignment:
		return ext("/providers/Microsoft.Authorization/roleAssignments/" + rt.name)
	case routeRoleDefinitions:
		return ext("/providers/Microsoft.Authorization/roleDefinitions")
	case routeRoleDefinition:
		return ext("/providers/Microsoft.Authorization/roleDefinitions/" + rt.name)
	case routeSignIns:
		return "/subscriptions/" + rt.sub + "/providers/Signet.Audit/signIns"
	case routeActivity:
		return "/subscriptions/" + rt.sub + "/providers/Microsoft.Insights/eventtypes/management/values"
	case routeKeysRotate:
		return "/providers/Signet.Keys/rotate"
	case routeSigningKeys:
		return "/providers/Signet.Keys/signingKeys"
	case routeJoinTokens:
		return ext("/providers/Signet.Identity/joinTokens")
	case routeNodes:
		return "/subscriptions/" + rt.sub + "/providers/Signet.Identity/nodes"
	case routeNode:
		return "/subscriptions/" + rt.sub + "/providers/Signet.Identity/nodes/" + rt.name
	}
	return ""
}

// FuzzRoute: parsing never panics, errors are ARM 4xx errors, and a parsed
// route rebuilt into its canonical path parses to the same route.
func FuzzRoute(f *testing.F) {
	for _, s := range []string{
		"/subscriptions", "/subscriptions/s/resourceGroups/rg",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Microsoft.Authorization/roleAssignments/x",
		"/providers/Microsoft.Authorization/roleDefinitions", "/subscriptions/s/providers/Signet.Audit/signIns",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/providers/Microsoft.Authorization/roleAssignments",
		"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/providers/Signet.Identity/joinTokens",
		"/subscriptions/s/providers/Signet.Identity/nodes/n", "/providers/Signet.Identity/joinTokens",
		"/subscriptions//x", "/subscriptions/s/resourceGroups/../x", "/a/providers/Microsoft.Authorization/roleAssignments",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		rt, err := parseRoute(path)
		if err != nil {
			if ae := asAPIError(err); ae.status != 400 {
				t.Fatalf("parseRoute(%q) error status %d, want 400", path, ae.status)
			}
			return
		}
		again, err := parseRoute(pathOf(rt))
		if err != nil {
			t.Fatalf("parseRoute(%q) = %+v, whose path %q does not parse: %v", path, rt, pathOf(rt), err)
		}
		if !cmp.Equal(rt, again, cmp.AllowUnexported(route{})) {
			t.Fatalf("round trip of %q: %+v, then %+v", path, rt, again)
		}
	})
}
