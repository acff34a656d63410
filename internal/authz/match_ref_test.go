package authz

import (
	"strings"
	"testing"
)

// matchActionReference is MatchAction as first written: both strings
// lowered with strings.ToLower, then the dynamic programme over every
// pattern. The fast paths of MatchAction must agree with it everywhere.
func matchActionReference(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	if !strings.Contains(p, "*") {
		return p == a
	}
	prev := make([]bool, len(a)+1)
	cur := make([]bool, len(a)+1)
	prev[0] = true
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

// strs returns every string of up to max symbols drawn from alphabet.
func strs(alphabet []string, max int) []string {
	out := []string{""}
	level := []string{""}
	for range max {
		var next []string
		for _, s := range level {
			for _, c := range alphabet {
				next = append(next, s+c)
			}
		}
		out = append(out, next...)
		level = next
	}
	return out
}

// Every short pattern against every short action, over an alphabet with
// both cases, the separator, the wildcard and a non-ASCII letter that
// strings.ToLower folds to ASCII (the Kelvin sign): MatchAction agrees
// with the reference on all of them.
func TestMatchActionAgreesWithReference(t *testing.T) {
	patterns := strs([]string{"k", "B", "/", "*", "\u212a"}, 4)
	actions := strs([]string{"K", "b", "/", "*"}, 5)
	for _, p := range patterns {
		for _, a := range actions {
			if got, want := MatchAction(p, a), matchActionReference(p, a); got != want {
				t.Fatalf("MatchAction(%q, %q) = %v, reference %v", p, a, got, want)
			}
		}
	}
	// Real patterns, including every built-in one, against real actions.
	var real []string
	for _, r := range BuiltInRoles {
		for _, p := range r.Permissions {
			for _, l := range [][]string{p.Actions, p.NotActions, p.DataActions, p.NotDataActions} {
				real = append(real, l...)
			}
		}
	}
	for _, p := range real {
		for _, a := range real {
			a = strings.ReplaceAll(a, "*", "x")
			for _, a := range []string{a, strings.ToUpper(a), strings.ToLower(a), a + "/read", strings.Repeat(a, 10)} {
				if got, want := MatchAction(p, a), matchActionReference(p, a); got != want {
					t.Fatalf("MatchAction(%q, %q) = %v, reference %v", p, a, got, want)
				}
			}
		}
	}
}

func FuzzMatchActionReference(f *testing.F) {
	f.Add("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write")
	f.Add("a/*/b", "a/b")
	f.Add("a/*/*/b", "A/B")
	f.Add("\u212a/*", "k/x")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		if got, want := MatchAction(pattern, action), matchActionReference(pattern, action); got != want {
			t.Fatalf("MatchAction(%q, %q) = %v, reference %v", pattern, action, got, want)
		}
	})
}
