package resourceid

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxLength is the longest id or scope accepted, in bytes. ARM's own limits
// are lower for every real resource type; the bound keeps parsing cheap.
const MaxLength = 4096

// ErrorCode is the ARM error code for an id or scope that does not parse.
const ErrorCode = "InvalidResourceId"

// ErrInvalid matches every parse error with errors.Is.
var ErrInvalid = errors.New("resourceid: invalid resource id")

// Error explains why an id or scope did not parse. Its message is safe to
// return to the client in an ARM InvalidResourceId error: the echoed input is
// truncated and stripped of control characters.
type Error struct {
	Input  string // the input as given
	Reason string // what is wrong with it, lower-case, no trailing period
}

func (e *Error) Error() string {
	return "The resource id '" + quoteForMessage(e.Input) + "' is invalid: " + e.Reason + "."
}

// Code returns the ARM error code, InvalidResourceId.
func (e *Error) Code() string { return ErrorCode }

// Is makes errors.Is(err, ErrInvalid) true for every *Error.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// ID is a parsed ARM resource id of a provider resource, at resource-group,
// subscription or tenant level, possibly nested (Types and Names have the same
// length, at least one).
type ID struct {
	SubscriptionID string // "" for a tenant-level resource
	ResourceGroup  string // "" for a subscription- or tenant-level resource
	Provider       string // resource provider namespace, e.g. Microsoft.Compute
	Types          []string
	Names          []string
}

// Parse parses a full ARM resource id, e.g.
// /subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.KeyVault/vaults/v1/secrets/s1.
// It rejects subscriptions and resource groups (use ParseScope), extension
// resource ids with a second "/providers/" segment (use SplitExtension) and
// child paths that do not come in type/name pairs.
func Parse(s string) (ID, error) {
	segs, err := split(s)
	if err != nil {
		return ID{}, err
	}
	sc, reason := parseSegments(segs)
	if reason != "" {
		return ID{}, &Error{Input: s, Reason: reason}
	}
	if sc.Level != LevelResource {
		return ID{}, &Error{Input: s, Reason: "it does not name a resource under '/providers/{namespace}/{type}/{name}'"}
	}
	switch {
	case len(sc.Child) == 0:
	case strings.EqualFold(sc.Child[0], "providers"):
		return ID{}, &Error{Input: s, Reason: "extension resource ids are not accepted here"}
	case len(sc.Child) == 1:
		return ID{}, &Error{Input: s, Reason: "resource type '" + sc.Child[0] + "' has no name"}
	default:
		return ID{}, &Error{Input: s, Reason: "'" + sc.Child[0] + "' is not a valid resource type"}
	}
	return sc.Resource, nil
}

// ResourceType returns the full type, e.g. Microsoft.Compute/virtualMachines
// or, nested, Microsoft.KeyVault/vaults/secrets.
func (id ID) ResourceType() string {
	return id.Provider + "/" + strings.Join(id.Types, "/")
}

// Name returns the name of the resource itself (the last name).
func (id ID) Name() string {
	if len(id.Names) == 0 {
		return ""
	}
	return id.Names[len(id.Names)-1]
}

// String returns the canonical form: key segments spelled subscriptions,
// resourceGroups and providers; provider, types and names as given.
func (id ID) String() string {
	var b strings.Builder
	if id.SubscriptionID != "" {
		b.WriteString("/subscriptions/")
		b.WriteString(id.SubscriptionID)
		if id.ResourceGroup != "" {
			b.WriteString("/resourceGroups/")
			b.WriteString(id.ResourceGroup)
		}
	}
	b.WriteString("/providers/")
	b.WriteString(id.Provider)
	for i, t := range id.Types {
		b.WriteByte('/')
		b.WriteString(t)
		b.WriteByte('/')
		if i < len(id.Names) {
			b.WriteString(id.Names[i])
		}
	}
	return b.String()
}

// Parent returns the resource a nested resource belongs to (vaults/v1 for
// vaults/v1/secrets/s1). A top-level resource has no parent resource: its
// container is a resource group, subscription or the tenant, which are scopes,
// not ids, so ok is false.
func (id ID) Parent() (ID, bool) {
	if len(id.Types) < 2 || len(id.Names) != len(id.Types) {
		return ID{}, false
	}
	p := id
	p.Types = id.Types[: len(id.Types)-1 : len(id.Types)-1]
	p.Names = id.Names[: len(id.Names)-1 : len(id.Names)-1]
	return p, true
}

// Equal reports whether two ids name the same resource, comparing every
// segment case-insensitively as ARM does.
func (id ID) Equal(o ID) bool {
	return strings.EqualFold(id.SubscriptionID, o.SubscriptionID) &&
		strings.EqualFold(id.ResourceGroup, o.ResourceGroup) &&
		strings.EqualFold(id.Provider, o.Provider) &&
		equalFoldAll(id.Types, o.Types) && equalFoldAll(id.Names, o.Names)
}

// Scope returns the id as a resource-level scope.
func (id ID) Scope() Scope {
	return Scope{Level: LevelResource, SubscriptionID: id.SubscriptionID, ResourceGroup: id.ResourceGroup, Resource: id}
}

func equalFoldAll(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

// split checks the lexical rules shared by ids and scopes and returns the
// path segments ("/" yields none).
func split(s string) ([]string, error) {
	if len(s) > MaxLength {
		return nil, &Error{Input: s, Reason: "it is longer than 4096 bytes"}
	}
	if !strings.HasPrefix(s, "/") {
		return nil, &Error{Input: s, Reason: "it must start with '/'"}
	}
	if s == "/" {
		return nil, nil
	}
	body := strings.TrimSuffix(s[1:], "/")
	if body == "" {
		return nil, &Error{Input: s, Reason: "it contains an empty segment"}
	}
	segs := strings.Split(body, "/")
	for _, seg := range segs {
		if reason := checkSegment(seg); reason != "" {
			return nil, &Error{Input: s, Reason: reason}
		}
	}
	return segs, nil
}

func checkSegment(seg string) string {
	switch seg {
	case "":
		return "it contains an empty segment"
	case ".", "..":
		return "it contains a '.' or '..' segment"
	}
	if !utf8.ValidString(seg) {
		return "it is not valid UTF-8"
	}
	for _, r := range seg {
		if unicode.IsControl(r) {
			return "it contains a control character"
		}
	}
	return ""
}

// isToken reports whether seg can be a provider namespace or resource type:
// ASCII letters, digits, '.', '-' and '_', starting with a letter or digit.
func isToken(seg string) bool {
	if seg == "" {
		return false
	}
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case (c == '.' || c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// quoteForMessage makes input fit to echo in an error message: at most 256
// runes, control characters and invalid UTF-8 replaced.
func quoteForMessage(s string) string {
	const maxRunes = 256
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxRunes {
			b.WriteString("...")
			break
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			r = utf8.RuneError
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
