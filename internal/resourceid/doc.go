// Package resourceid parses Azure Resource Manager (ARM) resource ids and
// scopes, and answers the scope questions RBAC asks: does one scope contain
// another, and which scopes lie above a given one.
//
// Grammar (reference section 10, ARM resource-id conventions):
//
//	scope    = "/" | sub | sub rg | [sub [rg]] resource [child]
//	sub      = "/subscriptions/" name
//	rg       = "/resourceGroups/" name
//	resource = "/providers/" namespace 1*("/" type "/" name)
//	child    = 1*("/" segment)   ; any path below a resource (scopes only)
//
// Key segments (subscriptions, resourceGroups, providers) match
// case-insensitively and are written canonically by String. Names keep the
// case they were given; comparisons between ids and scopes fold case, as ARM
// does. A single trailing "/" is tolerated (ARM tolerates it too) and dropped
// from the canonical form; any other empty segment is an error. Segments "."
// and ".." are rejected so that no id can mean something different after an
// HTTP router cleans its path.
//
// Containment is decided on whole segments, never on raw string prefixes:
// "/subscriptions/a" does not contain "/subscriptions/ab".
//
// This is a leaf package: it imports only the standard library.
package resourceid
