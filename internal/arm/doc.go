// Package arm is Signet's ARM-shaped control plane: subscriptions, resource
// groups, resources (virtual machines, hybrid machines, web sites, key vaults,
// storage accounts) with their `identity` block, user-assigned identities,
// role definitions and role assignments, and the sign-in, activity and
// signing-key endpoints.
//
// It speaks the Azure Resource Manager wire protocol closely enough that the
// official management clients (armmsi, armauthorization) and the az CLI work
// against it unchanged: paths, `api-version`, the `{"error":{"code","message"}}`
// envelope, `{value,nextLink}` paging, status codes. The shapes follow section
// 10 of the wire-protocol reference (shared/reference/azure-wire-protocol.md).
//
// Every request is authenticated (a bearer token checked by a TokenVerifier),
// then authorized by RBAC with ARM's action names, then handled. Identity
// lifecycle changes (a system-assigned identity born and deleted with its
// resource, a user-assigned identity detached from every resource when it is
// deleted) happen in the same store transaction as the resource change.
//
// Revocation at once: every write that can end a host's entitlement to an
// identity (a PUT or PATCH of a resource other than a user-assigned
// identity, which may change its identity block or a site's placement
// property properties.signetHostResourceId; the deletion of a resource,
// user-assigned identity or group) calls the EntitlementHook inside its
// store transaction, so MIRP's credentials end in the same commit. A hook
// error fails the write (500) and nothing commits.
//
// MIRP's operator endpoints (Signet's own provider Signet.Identity, behind
// the NodeAdmin interface):
//
//   - POST {hostResourceId}/providers/Signet.Identity/joinTokens?ttl=1h
//     answers {token, expiresOn, resourceId}, needs
//     Signet.Identity/joinTokens/action at the host, which must be a
//     virtual machine or hybrid machine (400 InvalidResourceType otherwise);
//     ttl is a Go duration from 1m to 24h, 1h by default. The token is in
//     the response only (Cache-Control: no-store), never in a log line or
//     the activity record.
//   - GET /subscriptions/{s}/providers/Signet.Identity/nodes lists the
//     nodes whose host resource id is in the subscription, removed ones
//     included (Signet.Identity/nodes/read at the subscription).
//   - DELETE …/nodes/{id} removes a node and revokes what was issued to it
//     (Signet.Identity/nodes/delete at the subscription). An unknown node,
//     or one of another subscription, is 404 rather than ARM's 204: removing
//     a node cuts a host off, and a mistyped id must not look like success.
//
// A site's placement must be a VM or hybrid machine id in the site's
// subscription (400 otherwise), because MIRP looks for sites only there.
//
// Choices where Azure leaves room, or where Signet is stricter on purpose:
//
//   - Order of checks: authentication, api-version, path, subscription (a
//     subscription that does not exist or belongs to another tenant is 404
//     SubscriptionNotFound, so its existence does not leak across tenants),
//     RBAC at the target scope, then existence of the group or resource. A
//     caller without permission therefore gets 403 whether or not the target
//     exists.
//   - Lists return only the items the caller may read (no 403 on a list).
//   - DELETE of a resource group answers 200 once everything is deleted, in one
//     transaction (ARM answers 202 and deletes asynchronously).
//   - Deleting a resource or group also deletes the role assignments at and
//     below its scope, so a later resource of the same name does not inherit
//     stale grants.
//   - identity.type is echoed as "SystemAssigned, UserAssigned" for
//     Microsoft.Compute (as the Compute API spells it) and
//     "SystemAssigned,UserAssigned" for every other type. A PUT without an
//     `identity` block keeps the identities the resource has: dropping a
//     system-assigned identity is irreversible, so it takes an explicit
//     `"type": "None"`. A PUT's userAssignedIdentities is the full set; a
//     PATCH's is merged (a null value detaches that identity).
//   - A user-assigned identity that does not exist (or is in another tenant)
//     is 400 InvalidIdentity, after the assign/action check
//     (403 LinkedAuthorizationFailed).
//   - Role assignment conditions are refused (400) rather than dropped: the
//     store keeps no conditions, and ignoring one would grant more than asked.
//   - Unknown JSON fields are ignored, as ARM does (clients round-trip
//     read-only fields), but syntax errors and wrong types are 400
//     InvalidRequestContent with the byte offset. Bodies are limited to
//     1 MiB (413 RequestEntityTooLarge) and must be application/json (415).
//   - Codes ARM uses beyond the common ones: InvalidRoleAssignmentId (a
//     name that is not a GUID), RoleAssignmentNotFound, InvalidRoleDefinitionId,
//     UnmatchedPrincipalType, RoleDefinitionHasAssignments and
//     RoleDefinitionWithSameNameExists (409), LocationRequired,
//     InvalidResourceGroupName, InvalidResourceName; Signet's own:
//     CannotModifyBuiltInRole (400) and InvalidQueryParameterValue for a bad
//     $filter, $skiptoken, since or top.
//   - A role definition PUT answers 201 for create and replace alike
//     (armauthorization accepts only 201). Custom roles are visible where
//     they are assignable, so one tenant never sees another's.
//   - nextLink is always https (the listener is HTTPS-only) and carries the
//     request's query with an opaque $skiptoken (the last key returned).
//   - armauthorization sends $filter unencoded (raw spaces); Go's HTTP/1.1
//     server refuses that request line before any handler, so the
//     management listener must keep HTTP/2 enabled.
//
// It must not import sts, keys or server: relying parties see tokens only
// through the TokenVerifier they are given, and this package reaches the rest
// of Signet only through the small interfaces declared in server.go.
package arm
