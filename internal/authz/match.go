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
//
// Case is folded as strings.ToLower folds it. Actions and patterns are
// ASCII in practice and are then folded byte by byte, without copying;
// anything else is lowered with strings.ToLower first, since it maps some
// non-ASCII letters to ASCII ones (the Kelvin sign to "k").
func MatchAction(pattern, action string) bool {
	if !isASCII(pattern) || !isASCII(action) {
		pattern, action = strings.ToLower(pattern), strings.ToLower(action)
	}
	star := strings.IndexByte(pattern, '*')
	if star < 0 {
		return equalFold(pattern, action)
	}
	if strings.IndexByte(pattern[star+1:], '*') < 0 {
		return matchOneStar(pattern, star, action)
	}
	return matchStars(pattern, action)
}

// matchOneStar is matchStars for a pattern whose only "*" is at star: the
// action starts with what comes before it and ends with what comes after,
// without the two overlapping, or, for a whole-segment "/*/", the action is
// the pattern with "*/" taken out.
func matchOneStar(p string, star int, a string) bool {
	pre, suf := p[:star], p[star+1:]
	if len(a) >= len(pre)+len(suf) && equalFold(a[:len(pre)], pre) && equalFold(a[len(a)-len(suf):], suf) {
		return true
	}
	if star > 0 && p[star-1] == '/' && len(suf) > 0 && suf[0] == '/' {
		suf = suf[1:]
		return len(a) == len(pre)+len(suf) && equalFold(a[:len(pre)], pre) && equalFold(a[len(pre):], suf)
	}
	return false
}

// dpStack is how long an action may be for matchStars to keep its rows on
// the stack; Azure's longest actions are about a hundred bytes.
const dpStack = 256

// matchStars is dynamic programming over (pattern prefix, action prefix),
// one row per pattern byte: O(len(p)·len(a)) time and O(len(a)) space
// whatever the pattern, so a hostile custom role cannot make matching
// explode. p and a are ASCII-folded as they are compared.
func matchStars(p, a string) bool {
	n := len(a) + 1
	var stack [3 * dpStack]bool
	var lowered [dpStack]byte
	var prev, cur, beforeStar []bool
	var al []byte
	if n <= dpStack {
		prev, cur, beforeStar = stack[:n], stack[n:2*n], stack[2*n:3*n]
		al = lowered[:len(a)]
	} else {
		rows := make([]bool, 3*n)
		prev, cur, beforeStar = rows[:n], rows[n:2*n], rows[2*n:]
		al = make([]byte, len(a))
	}
	for j := range al {
		al[j] = lower(a[j])
	}
	// prev[j] = p[:i] matches a[:j].
	prev[0] = true
	// beforeStar is the row for a pattern prefix ending in the "/" of a
	// coming "/*/", kept for the whole-segment rule below.
	haveBeforeStar := false
	for i := 1; i <= len(p); i++ {
		c := lower(p[i-1])
		switch c {
		case '*':
			cur[0] = prev[0]
			for j := 1; j <= len(a); j++ {
				cur[j] = prev[j] || cur[j-1]
			}
		default:
			cur[0] = false
			for j := 1; j <= len(a); j++ {
				cur[j] = prev[j-1] && al[j-1] == c
			}
		}
		// A whole-segment star may match nothing: then "/*/" consumes just
		// one "/" of the action, i.e. p[:i] (ending in "/*/") matches
		// wherever p[:i-2] (ending in "/") does.
		if c == '/' && i >= 3 && p[i-2] == '*' && p[i-3] == '/' && haveBeforeStar {
			for j := range cur {
				cur[j] = cur[j] || beforeStar[j]
			}
		}
		if c == '/' && i+1 < len(p) && p[i] == '*' && p[i+1] == '/' {
			copy(beforeStar, cur)
			haveBeforeStar = true
		}
		prev, cur = cur, prev
	}
	return prev[len(a)]
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// equalFold compares ASCII-folded bytes (strings.EqualFold also folds
// non-ASCII runes, differently from strings.ToLower).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	if a == b {
		return true
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}
