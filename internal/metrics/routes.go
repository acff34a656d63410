package metrics

import (
	"net/http"
	"strings"
)

// Route classes: each listener's requests fall into a small fixed set of
// names, so labels stay bounded and no log line carries a secret's, blob's
// or resource's name. Unknown shapes are "other".

// LoginRoute classifies the token service's requests.
func LoginRoute(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/oauth2/v2.0/token"), strings.HasSuffix(p, "/oauth2/token"):
		return "token"
	case strings.HasSuffix(p, "/.well-known/openid-configuration"):
		return "discovery"
	case strings.HasSuffix(p, "/discovery/v2.0/keys"), strings.HasSuffix(p, "/discovery/keys"):
		return "keys"
	case strings.HasSuffix(p, "/oauth2/v2.0/authorize"):
		return "authorize"
	}
	return "other"
}

// managementRoutes are matched in order against the lower-cased path.
var managementRoutes = []struct{ marker, class string }{
	{"/providers/microsoft.authorization/roleassignments", "roleAssignments"},
	{"/providers/microsoft.authorization/roledefinitions", "roleDefinitions"},
	{"/providers/signet.audit/", "audit"},
	{"/providers/microsoft.insights/", "audit"},
	{"/providers/signet.keys/", "signingKeys"},
	{"/providers/signet.identity/", "identityProvider"},
	{"/resourcegroups/", "resources"},
	{"/resources", "resources"},
	{"/resourcegroups", "resourceGroups"},
	{"/subscriptions", "subscriptions"},
}

// ManagementRoute classifies the control plane's (and the console's)
// requests.
func ManagementRoute(r *http.Request) string {
	p := strings.ToLower(r.URL.Path)
	if IsConsole(r) {
		return "console"
	}
	for _, m := range managementRoutes {
		if strings.Contains(p, m.marker) {
			return m.class
		}
	}
	return "other"
}

// IsConsole says whether a management request is for the web console,
// served under /console on the management listener.
func IsConsole(r *http.Request) bool {
	p := r.URL.Path
	return p == "/console" || strings.HasPrefix(p, "/console/")
}

// MIRPRoute classifies the identity provider's requests.
func MIRPRoute(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/mirp/v1/enroll":
		return "enroll"
	case p == "/mirp/v1/node/renew":
		return "renew"
	case p == "/mirp/v1/node/identities":
		return "identities"
	case strings.HasPrefix(p, "/mirp/v1/node/identities/") && strings.HasSuffix(p, "/certificate"):
		return "certificate"
	}
	return "other"
}

// vaultCollections are the Key Vault collections a path may start with
// (after the vault's name in path-style addressing).
var vaultCollections = map[string]bool{"secrets": true, "deletedsecrets": true, "keys": true,
	"deletedkeys": true, "certificates": true, "deletedcertificates": true}

// vaultVerbs are the literal last segments of Key Vault paths.
var vaultVerbs = map[string]bool{"versions": true, "backup": true, "restore": true, "recover": true}

// VaultRoute classifies Key Vault requests: "secrets", "secrets/{name}",
// "secrets/{name}/{version}", "secrets/{name}/backup", …
func VaultRoute(r *http.Request) string {
	segs := strings.Split(strings.Trim(strings.ToLower(r.URL.Path), "/"), "/")
	for i := 0; i < len(segs) && i < 2; i++ {
		if !vaultCollections[segs[i]] {
			continue
		}
		class, rest := segs[i], segs[i+1:]
		switch {
		case len(rest) == 0:
			return class
		case len(rest) == 1 && rest[0] == "restore":
			return class + "/restore"
		case len(rest) == 1:
			return class + "/{name}"
		case len(rest) == 2 && vaultVerbs[rest[1]]:
			return class + "/{name}/" + rest[1]
		case len(rest) == 2:
			return class + "/{name}/{version}"
		}
		return "other"
	}
	return "other"
}

// blobComps are the comp= values of the Blob REST API.
var blobComps = map[string]bool{"list": true, "block": true, "blocklist": true, "properties": true,
	"metadata": true, "lease": true, "acl": true, "stats": true, "appendblock": true, "page": true,
	"pagelist": true, "tags": true, "userdelegationkey": true, "snapshot": true, "copy": true,
	"batch": true, "query": true, "undelete": true, "expiry": true, "tier": true, "blobs": true}

// BlobRoute classifies Blob requests by what the REST API dispatches on:
// restype and comp ("container", "container?comp=list", "blob",
// "blob?comp=block", "account?comp=list", …).
func BlobRoute(r *http.Request) string {
	q := r.URL.Query()
	restype, comp := strings.ToLower(q.Get("restype")), strings.ToLower(q.Get("comp"))
	kind := "blob"
	switch restype {
	case "container", "service", "account":
		kind = restype
	case "":
		if comp == "list" {
			kind = "account" // List Containers
		}
	default:
		return "other"
	}
	switch {
	case comp == "":
		return kind
	case blobComps[comp]:
		return kind + "?comp=" + comp
	}
	return "other"
}

// AgentRoute classifies the agent's workload endpoints (IMDS, App Service,
// Arc) and its operations endpoint.
func AgentRoute(r *http.Request) string {
	p := r.URL.Path
	switch {
	case strings.HasSuffix(p, "/oauth2/token"), p == "/msi/token":
		return "token"
	case strings.HasPrefix(p, "/metadata/instance"):
		return "instance"
	case p == "/metrics", p == "/healthz", p == "/readyz":
		return p[1:]
	}
	return "other"
}
