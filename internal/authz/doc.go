// Package authz is Signet's role-based access control: the built-in role
// definitions as data, action matching with Azure's wildcards, scope
// inheritance, and the one decision every relying part asks for — may this
// principal perform this action at this scope?
//
// Semantics follow Azure RBAC (reference section 10.4, 10.5):
//   - an assignment applies to a request when it is the caller's and its
//     scope contains the request's scope (resourceid.Contains);
//   - a role allows an action when one of its permission blocks has a
//     matching action and no matching notAction in that same block;
//     dataActions and notDataActions likewise for data actions. Actions never
//     grant data actions and dataActions never grant actions;
//   - deny by default: no applicable assignment, no allow.
//
// Authorizer reads role assignments from the store on every decision, so a
// removed assignment takes effect at once on every replica. CachingAuthorizer
// (for the data planes' hot paths) keeps each principal's assignments and
// roles per replica, and the decisions made from them, valid while the
// store's RBAC generation is unchanged: a change takes effect at once
// through the replica that made it and within the generation poll interval
// (250 ms by default) on the others. Azure documents minutes of
// propagation for role assignment changes.
//
// It imports store and resourceid only.
package authz
