package secrets

import (
	"net/http"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

// RBAC data actions (Azure's names; section 8 and the built-in roles).
const (
	actionGet      = "Microsoft.KeyVault/vaults/secrets/getSecret/action"
	actionMetadata = "Microsoft.KeyVault/vaults/secrets/readMetadata/action"
	actionSet      = "Microsoft.KeyVault/vaults/secrets/setSecret/action"
	actionDelete   = "Microsoft.KeyVault/vaults/secrets/delete"
	actionRecover  = "Microsoft.KeyVault/vaults/secrets/recover/action"
	actionBackup   = "Microsoft.KeyVault/vaults/secrets/backup/action"
	actionRestore  = "Microsoft.KeyVault/vaults/secrets/restore/action"
	actionPurge    = "Microsoft.KeyVault/vaults/secrets/purge/action"
)

// operation is one Key Vault secrets operation.
type operation struct {
	action string
	// perSecret: RBAC is decided at the secret's own scope
	// (…/vaults/{vault}/secrets/{name}), else at the vault.
	perSecret bool
	// Exactly one is set. serve is a read that finds its records itself
	// (through the read cache); read runs inside a read transaction of
	// its own; handle is a write, with a write transaction of its own.
	serve  func(*Server, *request) (response, error)
	read   func(*Server, *request, store.Tx) (response, error)
	handle func(*Server, *request) (response, error)
}

var (
	opSet         = &operation{action: actionSet, perSecret: true, handle: (*Server).setSecret}
	opGet         = &operation{action: actionGet, perSecret: true, serve: (*Server).getSecret}
	opUpdate      = &operation{action: actionSet, perSecret: true, handle: (*Server).updateSecret}
	opList        = &operation{action: actionMetadata, read: (*Server).listSecrets}
	opVersions    = &operation{action: actionMetadata, perSecret: true, read: (*Server).listVersions}
	opDelete      = &operation{action: actionDelete, perSecret: true, handle: (*Server).deleteSecret}
	opGetDeleted  = &operation{action: actionMetadata, perSecret: true, read: (*Server).getDeleted}
	opListDeleted = &operation{action: actionMetadata, read: (*Server).listDeleted}
	opRecover     = &operation{action: actionRecover, perSecret: true, handle: (*Server).recoverSecret}
	opPurge       = &operation{action: actionPurge, perSecret: true, handle: (*Server).purgeSecret}
	opBackup      = &operation{action: actionBackup, perSecret: true, read: (*Server).backupSecret}
	opRestore     = &operation{action: actionRestore, handle: (*Server).restoreSecret}
)

// readOnly reports that the operation changes nothing (it is a serve or a
// read), so a failure to record the access fails the request rather than
// let it through unrecorded.
func (o *operation) readOnly() bool { return o.handle == nil }

// route is a parsed request path: the operation and the names in it.
type route struct {
	op      *operation
	name    string // secret name ("" for vault-wide operations)
	version string // "" for the current version
	deleted bool   // the path is under /deletedsecrets
}

// item names what the route touches, for the access log.
func (r route) item() string {
	switch {
	case r.name == "":
		return "secrets"
	case r.deleted:
		return "deletedsecrets/" + r.name
	case r.version != "":
		return "secrets/" + r.name + "/" + r.version
	}
	return "secrets/" + r.name
}

// parseRoute maps method and escaped path to an operation (section 8.2).
// Names and versions are checked here, before RBAC, since the RBAC scope is
// built from the name.
func parseRoute(method, path string) (route, error) {
	split, n := splitRoute(strings.TrimPrefix(path, "/"))
	segs := split[:n]
	var rt route
	var allowed string
	switch {
	case len(segs) == 1 && segs[0] == "secrets":
		rt, allowed = pick(method, map[string]*operation{http.MethodGet: opList}), "GET"
	case len(segs) == 1 && segs[0] == "deletedsecrets":
		rt, allowed = pick(method, map[string]*operation{http.MethodGet: opListDeleted}), "GET"
	case len(segs) == 2 && segs[0] == "secrets" && segs[1] == "restore" && method == http.MethodPost:
		rt = route{op: opRestore}
	case len(segs) == 2 && segs[0] == "secrets":
		// GET and PATCH without the trailing slash address the current
		// version too, as Key Vault allows.
		rt, allowed = pick(method, map[string]*operation{http.MethodPut: opSet, http.MethodDelete: opDelete,
			http.MethodGet: opGet, http.MethodPatch: opUpdate}), "GET, PUT, PATCH, DELETE"
		rt.name = segs[1]
	case len(segs) == 3 && segs[0] == "secrets" && segs[2] == "versions":
		rt, allowed = pick(method, map[string]*operation{http.MethodGet: opVersions}), "GET"
		rt.name = segs[1]
	case len(segs) == 3 && segs[0] == "secrets" && segs[2] == "backup":
		rt, allowed = pick(method, map[string]*operation{http.MethodPost: opBackup}), "POST"
		rt.name = segs[1]
	case len(segs) == 3 && segs[0] == "secrets":
		rt, allowed = pick(method, map[string]*operation{http.MethodGet: opGet, http.MethodPatch: opUpdate}), "GET, PATCH"
		rt.name, rt.version = segs[1], segs[2]
		if rt.version != "" && !validVersion(rt.version) {
			return route{}, badParameter("The secret version '%s' is not valid: a version is 32 lower-case hexadecimal characters.", truncate(rt.version, 64))
		}
	case len(segs) == 2 && segs[0] == "deletedsecrets":
		rt, allowed = pick(method, map[string]*operation{http.MethodGet: opGetDeleted, http.MethodDelete: opPurge}), "GET, DELETE"
		rt.name, rt.deleted = segs[1], true
	case len(segs) == 3 && segs[0] == "deletedsecrets" && segs[2] == "recover":
		rt, allowed = pick(method, map[string]*operation{http.MethodPost: opRecover}), "POST"
		rt.name, rt.deleted = segs[1], true
	default:
		return route{}, newError(http.StatusNotFound, codeNotFound, "The requested operation is not supported by this vault.")
	}
	if rt.op == nil {
		e := newError(http.StatusMethodNotAllowed, codeMethodNotAllowed, "The method '%s' is not allowed on this path.", truncate(method, 16))
		e.header = http.Header{"Allow": {allowed}}
		return route{}, e
	}
	if rt.op.perSecret && !validSecretName(rt.name) {
		return route{}, badParameter("The secret name '%s' is not valid: a name is 1 to 127 letters, digits and dashes.", truncate(rt.name, 130))
	}
	return rt, nil
}

// splitRoute is strings.Split(path, "/") for the at most three segments a
// route has, without allocating: n is how many of segs are set. A path of
// more segments gives four (the rest unsplit in the last), which no route
// matches.
func splitRoute(path string) (segs [4]string, n int) {
	for ; n < len(segs)-1; n++ {
		seg, rest, found := strings.Cut(path, "/")
		segs[n] = seg
		if !found {
			return segs, n + 1
		}
		path = rest
	}
	segs[n] = path
	return segs, n + 1
}

func pick(method string, ops map[string]*operation) route {
	return route{op: ops[method]}
}
