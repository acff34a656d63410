package arm

import (
	"net/http"
	"strings"

	"github.com/signet-platform/signet/internal/resourceid"
)

// routeKind says which endpoint a path addresses.
type routeKind int

const (
	routeSubscriptions    routeKind = iota + 1 // /subscriptions
	routeSubscription                          // /subscriptions/{s}
	routeGroups                                // /subscriptions/{s}/resourcegroups
	routeGroup                                 // /subscriptions/{s}/resourcegroups/{rg}
	routeResourcesBySub                        // /subscriptions/{s}/providers/{ns}/{type}
	routeResourcesByGroup                      // /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}
	routeResource                              // /subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/{type}/{name}
	routeSystemIdentity                        // {resourceId}/providers/Microsoft.ManagedIdentity/identities/default
	routeRoleAssignments                       // {scope}/providers/Microsoft.Authorization/roleAssignments
	routeRoleAssignment                        // {scope}/providers/Microsoft.Authorization/roleAssignments/{name}
	routeRoleDefinitions                       // {scope}/providers/Microsoft.Authorization/roleDefinitions
	routeRoleDefinition                        // {scope}/providers/Microsoft.Authorization/roleDefinitions/{name}
	routeSignIns                               // /subscriptions/{s}/providers/Signet.Audit/signIns
	routeAccessLogs                            // /subscriptions/{s}/providers/Signet.Audit/accessLogs
	routeAuditVerify                           // /subscriptions/{s}/providers/Signet.Audit/verify
	routeAuditExport                           // /subscriptions/{s}/providers/Signet.Audit/export
	routeActivity                              // /subscriptions/{s}/providers/Microsoft.Insights/eventtypes/management/values
	routeKeysRotate                            // /providers/Signet.Keys/rotate
	routeSigningKeys                           // /providers/Signet.Keys/signingKeys
	routeJoinTokens                            // {hostResourceId}/providers/Signet.Identity/joinTokens
	routeNodes                                 // /subscriptions/{s}/providers/Signet.Identity/nodes
	routeNode                                  // /subscriptions/{s}/providers/Signet.Identity/nodes/{id}
)

// nsSignetIdentity is the namespace of MIRP's operator endpoints.
const nsSignetIdentity = "Signet.Identity"

// Resource types the control plane hosts, by lower-cased "namespace/type",
// with the spelling ARM uses in ids and action names.
const (
	typeVM       = "Microsoft.Compute/virtualMachines"
	typeMachine  = "Microsoft.HybridCompute/machines"
	typeSite     = "Microsoft.Web/sites"
	typeVault    = "Microsoft.KeyVault/vaults"
	typeStorage  = "Microsoft.Storage/storageAccounts"
	typeUAMI     = "Microsoft.ManagedIdentity/userAssignedIdentities"
	typeGroup    = "Microsoft.Resources/resourceGroups"
	typeIdentity = "Microsoft.ManagedIdentity/identities"
	typeRA       = "Microsoft.Authorization/roleAssignments"
	typeRD       = "Microsoft.Authorization/roleDefinitions"
)

var knownTypes = func() map[string]string {
	m := map[string]string{}
	for _, t := range []string{typeVM, typeMachine, typeSite, typeVault, typeStorage, typeUAMI} {
		m[strings.ToLower(t)] = t
	}
	return m
}()

var knownNamespaces = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range knownTypes {
		ns, _, _ := strings.Cut(t, "/")
		m[strings.ToLower(ns)] = true
	}
	return m
}()

// route is a parsed request path. Names keep the caller's spelling; the
// fixed words (resourceGroups, providers, namespaces, types) are canonical.
type route struct {
	kind  routeKind
	sub   string // subscription id, "" for tenant-level routes
	group string // resource group name as written in the path
	typ   string // canonical resource type for resource routes
	name  string // resource, role assignment or role definition name
	// scope is the ARM scope an extension route (role assignments and
	// definitions, identities/default) hangs below; "/" for the root.
	scope string
}

// groupID is the resource group's id with the path's spelling of its name.
func (rt route) groupID() string {
	return "/subscriptions/" + rt.sub + "/resourceGroups/" + rt.group
}

// resourceID is the id of the resource a routeResource addresses.
func (rt route) resourceID() string {
	return rt.groupID() + "/providers/" + rt.typ + "/" + rt.name
}

// subscriptionID is "/subscriptions/{s}".
func (rt route) subscriptionScope() string { return "/subscriptions/" + rt.sub }

// parseRoute classifies an unescaped URL path. It answers 400 for paths that
// are not well-formed ARM ids and for resource types Signet does not host.
func parseRoute(path string) (route, error) {
	if len(path) > resourceid.MaxLength || path == "" || path[0] != '/' || path == "/" {
		return route{}, badID(path)
	}
	// A single trailing "/" is tolerated, as ARM and resourceid do.
	segs := strings.Split(strings.TrimSuffix(path[1:], "/"), "/")
	for _, s := range segs {
		// "." and ".." could mean something else once a router cleans the path.
		if s == "" || s == "." || s == ".." || strings.ContainsFunc(s, isControl) {
			return route{}, badID(path)
		}
	}
	// Extensions first: they may hang below any scope, including a resource
	// whose own id contains "/providers/".
	if rt, ok := parseExtension(path); ok {
		return rt, nil
	}
	if len(segs) == 3 && eq(segs[0], "providers") && eq(segs[1], "Signet.Keys") {
		switch {
		case eq(segs[2], "rotate"):
			return route{kind: routeKeysRotate, scope: "/"}, nil
		case eq(segs[2], "signingKeys"):
			return route{kind: routeSigningKeys, scope: "/"}, nil
		}
	}
	if !eq(segs[0], "subscriptions") {
		return route{}, badID(path)
	}
	if len(segs) == 1 {
		return route{kind: routeSubscriptions}, nil
	}
	rt := route{sub: segs[1]}
	if len(segs) == 2 {
		rt.kind = routeSubscription
		return rt, nil
	}
	switch {
	case eq(segs[2], "resourceGroups"):
		return parseGroupPath(path, rt, segs[3:])
	case eq(segs[2], "providers"):
		return parseSubscriptionProvider(path, rt, segs[3:])
	}
	return route{}, badID(path)
}

// parseGroupPath parses what follows /subscriptions/{s}/resourceGroups.
func parseGroupPath(path string, rt route, rest []string) (route, error) {
	switch len(rest) {
	case 0:
		rt.kind = routeGroups
		return rt, nil
	case 1:
		rt.kind, rt.group = routeGroup, rest[0]
		return rt, nil
	}
	rt.group = rest[0]
	if !eq(rest[1], "providers") || len(rest) < 4 {
		return route{}, badID(path)
	}
	typ, err := lookupType(rest[2], rest[3])
	if err != nil {
		return route{}, err
	}
	rt.typ = typ
	switch len(rest) {
	case 4:
		rt.kind = routeResourcesByGroup
		return rt, nil
	case 5:
		rt.kind, rt.name = routeResource, rest[4]
		return rt, nil
	}
	// Child resources (…/{name}/{childType}/…) are not hosted.
	return route{}, newError(http.StatusBadRequest, codeInvalidResourceType,
		"The resource type '%s/%s' could not be found in the namespace '%s'.", typ, rest[5], rest[2])
}

// parseSubscriptionProvider parses what follows /subscriptions/{s}/providers.
func parseSubscriptionProvider(path string, rt route, rest []string) (route, error) {
	switch {
	case len(rest) == 2 && eq(rest[0], "Signet.Audit") && eq(rest[1], "signIns"):
		rt.kind = routeSignIns
		return rt, nil
	case len(rest) == 2 && eq(rest[0], "Signet.Audit") && eq(rest[1], "accessLogs"):
		rt.kind = routeAccessLogs
		return rt, nil
	case len(rest) == 2 && eq(rest[0], "Signet.Audit") && eq(rest[1], "verify"):
		rt.kind = routeAuditVerify
		return rt, nil
	case len(rest) == 2 && eq(rest[0], "Signet.Audit") && eq(rest[1], "export"):
		rt.kind = routeAuditExport
		return rt, nil
	case len(rest) == 2 && eq(rest[0], nsSignetIdentity) && eq(rest[1], "nodes"):
		rt.kind = routeNodes
		return rt, nil
	case len(rest) == 3 && eq(rest[0], nsSignetIdentity) && eq(rest[1], "nodes"):
		rt.kind, rt.name = routeNode, rest[2]
		return rt, nil
	case len(rest) == 4 && eq(rest[0], "Microsoft.Insights") && eq(rest[1], "eventtypes") &&
		eq(rest[2], "management") && eq(rest[3], "values"):
		rt.kind = routeActivity
		return rt, nil
	case len(rest) < 2:
		return route{}, badID(path)
	}
	typ, err := lookupType(rest[0], rest[1])
	if err != nil {
		return route{}, err
	}
	if len(rest) != 2 {
		return route{}, badID(path)
	}
	rt.kind, rt.typ = routeResourcesBySub, typ
	return rt, nil
}

// parseExtension recognizes the extension routes that hang below a scope
// (resourceid checks the scope's grammar). ok is false when the path is not
// one of them.
func parseExtension(path string) (rt route, ok bool) {
	const authz, msi = "Microsoft.Authorization", "Microsoft.ManagedIdentity"
	if scope, ok := resourceid.SplitExtensionCollection(path, authz, "roleAssignments"); ok {
		rt = route{kind: routeRoleAssignments, scope: scope}
	} else if scope, name, ok := resourceid.SplitExtension(path, authz, "roleAssignments"); ok {
		rt = route{kind: routeRoleAssignment, scope: scope, name: name}
	} else if scope, ok := resourceid.SplitExtensionCollection(path, authz, "roleDefinitions"); ok {
		rt = route{kind: routeRoleDefinitions, scope: scope}
	} else if scope, name, ok := resourceid.SplitExtension(path, authz, "roleDefinitions"); ok {
		rt = route{kind: routeRoleDefinition, scope: scope, name: name}
	} else if scope, name, ok := resourceid.SplitExtension(path, msi, "identities"); ok && eq(name, "default") {
		rt = route{kind: routeSystemIdentity, scope: scope}
	} else if scope, ok := resourceid.SplitExtensionCollection(path, nsSignetIdentity, "joinTokens"); ok {
		rt = route{kind: routeJoinTokens, scope: scope}
	} else {
		return route{}, false
	}
	rt.sub, _ = subscriptionOf(rt.scope)
	return rt, true
}

// subscriptionOf returns the subscription id of a scope below /subscriptions.
func subscriptionOf(scope string) (string, bool) {
	segs := strings.Split(strings.TrimPrefix(scope, "/"), "/")
	if len(segs) >= 2 && eq(segs[0], "subscriptions") && segs[1] != "" {
		return segs[1], true
	}
	return "", false
}

// lookupType canonicalizes a namespace and type, or explains why Signet does
// not host it: an unknown namespace is NoRegisteredProviderFound, an unknown
// type in a known namespace InvalidResourceType, as ARM answers.
func lookupType(ns, typ string) (string, error) {
	if t, ok := knownTypes[strings.ToLower(ns+"/"+typ)]; ok {
		return t, nil
	}
	if !knownNamespaces[strings.ToLower(ns)] {
		return "", newError(http.StatusBadRequest, codeNoRegisteredProvider,
			"No registered resource provider found for namespace '%s'.", ns)
	}
	return "", newError(http.StatusBadRequest, codeInvalidResourceType,
		"The resource type '%s' could not be found in the namespace '%s'.", typ, ns)
}

func badID(path string) error {
	return newError(http.StatusBadRequest, codeInvalidResourceID, "The resource id '%s' is invalid.", truncate(path, 512))
}

func eq(a, b string) bool { return strings.EqualFold(a, b) }

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// truncate bounds what a client-controlled string adds to a message.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
