package authz

import "strings"

// MatchAction reports whether an action or data action matches a pattern from
// a role definition, the way Azure matches them: case-insensitively, with
// "*" standing for any run of characters, within and across "/" segments
// ("*", "*/read", "Microsoft.Authorization/*/Write").
//
// A "*" that is a whole segment in the middle of a pattern also matches no
// segment at all: Managed Identity Operator's
// "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action" allows
// the operation "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action",
// and "…/userAssignedIdentities/*/read" allows ".../userAssignedIdentities/read",
// as they do in Azure. The same rule applies to notActions, where it can only
// deny more.
func MatchAction(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	if !strings.Contains(p, "*") {
		return p == a
	}
	// Dynamic programming over (pattern prefix, action prefix), one row per
	// pattern byte: O(len(p)·len(a)) time and O(len(a)) space whatever the
	// pattern, so a hostile custom role cannot make matching explode.
	// prev[j] = p[:i] matches a[:j].
	prev := make([]bool, len(a)+1)
	cur := make([]bool, len(a)+1)
	prev[0] = true
	// beforeStar is the row for a pattern prefix ending in the "/" of a
	// coming "/*/", kept for the whole-segment rule below.
	var beforeStar []bool
	for i := 1; i <= len(p); i++ {
		c := p[i-1]
		switch c {
		case '*':
			cur[0] = prev[0]
			for j := 1; j <= len(a); j++ {
				cur[j] = prev[j] || cur[j-1]
			}
		default:
			cur[0] = false
			for j := 1; j <= len(a); j++ {
				cur[j] = prev[j-1] && a[j-1] == c
			}
		}
		// A whole-segment star may match nothing: then "/*/" consumes just
		// one "/" of the action, i.e. p[:i] (ending in "/*/") matches
		// wherever p[:i-2] (ending in "/") does.
		if c == '/' && i >= 3 && p[i-2] == '*' && p[i-3] == '/' && beforeStar != nil {
			for j := range cur {
				cur[j] = cur[j] || beforeStar[j]
			}
		}
		if c == '/' && i+1 < len(p) && p[i] == '*' && p[i+1] == '/' {
			beforeStar = append(beforeStar[:0], cur...)
		}
		prev, cur = cur, prev
	}
	return prev[len(a)]
}
