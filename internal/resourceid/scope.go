package resourceid

import "strings"

// Level says where in the ARM hierarchy a scope sits.
type Level int

const (
	LevelRoot          Level = iota // "/"
	LevelSubscription               // /subscriptions/{s}
	LevelResourceGroup              // /subscriptions/{s}/resourceGroups/{rg}
	LevelResource                   // a resource, or a path below one
)

func (l Level) String() string {
	switch l {
	case LevelRoot:
		return "Root"
	case LevelSubscription:
		return "Subscription"
	case LevelResourceGroup:
		return "ResourceGroup"
	case LevelResource:
		return "Resource"
	}
	return "Unknown"
}

// Scope is a parsed RBAC scope.
type Scope struct {
	Level          Level
	SubscriptionID string // "" at the root and for tenant-level resources
	ResourceGroup  string // "" above resource-group level
	// Resource is, at LevelResource, the longest run of type/name pairs after
	// the provider namespace: the resource the scope is, or lies below.
	Resource ID
	// Child holds the segments below Resource, if any: an odd trailing
	// segment, an extension path ("providers/..."), or a path segment that is
	// not a type token (a blob name, say). Always empty above LevelResource.
	Child []string
}

// ParseScope parses an RBAC scope: "/", a subscription, a resource group, a
// resource id, or any path below a resource.
func ParseScope(s string) (Scope, error) {
	segs, err := split(s)
	if err != nil {
		return Scope{}, err
	}
	sc, reason := parseSegments(segs)
	if reason != "" {
		return Scope{}, &Error{Input: s, Reason: reason}
	}
	return sc, nil
}

// parseSegments applies the grammar in doc.go to lexically valid segments.
// It returns a reason when they do not fit it.
func parseSegments(segs []string) (Scope, string) {
	var sc Scope
	i := 0
	if len(segs) == 0 {
		return sc, ""
	}
	if strings.EqualFold(segs[0], "subscriptions") {
		if len(segs) < 2 {
			return Scope{}, "'subscriptions' has no subscription id"
		}
		sc.Level, sc.SubscriptionID = LevelSubscription, segs[1]
		i = 2
		if i < len(segs) && strings.EqualFold(segs[i], "resourceGroups") {
			if i+1 >= len(segs) {
				return Scope{}, "'resourceGroups' has no resource group name"
			}
			sc.Level, sc.ResourceGroup = LevelResourceGroup, segs[i+1]
			i += 2
		}
	}
	if i == len(segs) {
		return sc, ""
	}
	if !strings.EqualFold(segs[i], "providers") {
		if i == 0 {
			return Scope{}, "it must start with '/subscriptions/' or '/providers/'"
		}
		return Scope{}, "expected 'providers' or 'resourceGroups' but found '" + segs[i] + "'"
	}
	if i+1 >= len(segs) || !isToken(segs[i+1]) {
		return Scope{}, "'providers' must be followed by a resource provider namespace"
	}
	id := ID{SubscriptionID: sc.SubscriptionID, ResourceGroup: sc.ResourceGroup, Provider: segs[i+1]}
	j := i + 2
	for j+1 < len(segs) && isToken(segs[j]) && !strings.EqualFold(segs[j], "providers") {
		id.Types = append(id.Types, segs[j])
		id.Names = append(id.Names, segs[j+1])
		j += 2
	}
	if len(id.Types) == 0 {
		return Scope{}, "the resource provider namespace '" + id.Provider + "' must be followed by a resource type and name"
	}
	sc.Level, sc.Resource = LevelResource, id
	if j < len(segs) {
		sc.Child = append([]string(nil), segs[j:]...)
	}
	return sc, ""
}

// String returns the canonical form of the scope (see ID.String); the root is "/".
func (s Scope) String() string {
	switch s.Level {
	case LevelRoot:
		return "/"
	case LevelSubscription:
		return "/subscriptions/" + s.SubscriptionID
	case LevelResourceGroup:
		return "/subscriptions/" + s.SubscriptionID + "/resourceGroups/" + s.ResourceGroup
	}
	str := s.Resource.String()
	if len(s.Child) > 0 {
		str += "/" + strings.Join(s.Child, "/")
	}
	return str
}

// Segments returns the canonical path segments of the scope (none for the
// root): Contains compares them, case-insensitively, as a prefix.
func (s Scope) Segments() []string {
	if s.Level == LevelRoot {
		return nil
	}
	return strings.Split(s.String()[1:], "/")
}

// Contains reports whether target equals s or lies below it.
func (s Scope) Contains(target Scope) bool {
	return SegmentsContain(s.Segments(), target.Segments())
}

// SegmentsContain is Contains over scopes already split by Segments, for
// callers that split a scope once and compare it many times.
func SegmentsContain(scope, target []string) bool {
	if len(scope) > len(target) {
		return false
	}
	for i := range scope {
		if !strings.EqualFold(scope[i], target[i]) {
			return false
		}
	}
	return true
}

// Contains reports whether target equals scope or lies below it, comparing
// whole segments case-insensitively. Either argument failing to parse makes
// the answer false: an unreadable scope grants nothing.
func Contains(scope, target string) bool {
	a, err := ParseScope(scope)
	if err != nil {
		return false
	}
	b, err := ParseScope(target)
	if err != nil {
		return false
	}
	return a.Contains(b)
}

// Ancestors returns the canonical form of scope and of every valid scope
// above it, nearest first, ending with "/". These are exactly the scopes X for
// which Contains(X, scope) holds (up to case), i.e. where an assignment that
// applies to scope may sit. It returns nil if scope does not parse.
//
// For /subscriptions/s/resourceGroups/rg/providers/P/t/n/c/m it returns
// that path, .../P/t/n/c, .../P/t/n, /subscriptions/s/resourceGroups/rg,
// /subscriptions/s and /. The partial paths .../providers and
// .../providers/P are not scopes and are skipped.
func Ancestors(scope string) []string {
	sc, err := ParseScope(scope)
	if err != nil {
		return nil
	}
	segs := sc.Segments()
	// Resource-level scopes need at least .../providers/P/t/n.
	minResource := len(segs) + 1
	if sc.Level == LevelResource {
		minResource = 4
		if sc.SubscriptionID != "" {
			minResource += 2
		}
		if sc.ResourceGroup != "" {
			minResource += 2
		}
	}
	var out []string
	for n := len(segs); n >= minResource; n-- {
		out = append(out, "/"+strings.Join(segs[:n], "/"))
	}
	if sc.ResourceGroup != "" {
		out = append(out, "/subscriptions/"+sc.SubscriptionID+"/resourceGroups/"+sc.ResourceGroup)
	}
	if sc.SubscriptionID != "" {
		out = append(out, "/subscriptions/"+sc.SubscriptionID)
	}
	return append(out, "/")
}

// SplitExtension splits an extension-resource path of the form
// {scope}/providers/{provider}/{typ}/{name}, e.g. a role assignment id, into
// its canonical scope and name. provider and typ match case-insensitively; typ
// may have several segments ("roleDefinitions" or "a/b"). ok is false when the
// path does not have that shape or the scope does not parse.
func SplitExtension(path, provider, typ string) (scope, name string, ok bool) {
	segs, err := split(path)
	if err != nil || len(segs) == 0 {
		return "", "", false
	}
	name = segs[len(segs)-1]
	scope, ok = splitCollection(segs[:len(segs)-1], provider, typ)
	if !ok {
		return "", "", false
	}
	return scope, name, true
}

// SplitExtensionCollection is SplitExtension for the collection path
// {scope}/providers/{provider}/{typ} (a list or a $filter query).
func SplitExtensionCollection(path, provider, typ string) (scope string, ok bool) {
	segs, err := split(path)
	if err != nil {
		return "", false
	}
	return splitCollection(segs, provider, typ)
}

func splitCollection(segs []string, provider, typ string) (string, bool) {
	tail := append([]string{"providers", provider}, strings.Split(typ, "/")...)
	if len(segs) < len(tail) {
		return "", false
	}
	k := len(segs) - len(tail)
	for i, want := range tail {
		if !strings.EqualFold(segs[k+i], want) {
			return "", false
		}
	}
	sc, reason := parseSegments(segs[:k])
	if reason != "" {
		return "", false
	}
	return sc.String(), true
}
