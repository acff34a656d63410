package agent

import (
	"crypto"
	"crypto/x509"
	"net/http"
	"strings"
)

// Identity is one managed identity this host (or an app on it) may use.
type Identity struct {
	ClientID string
	ObjectID string // the identity's principal (object) id
	// ResourceID is the user-assigned identity's ARM resource id, or for a
	// system-assigned identity the resource it belongs to (host or app).
	ResourceID     string
	TenantID       string
	SystemAssigned bool

	// Key and Certificate sign client assertions: the private key never
	// leaves the host and Certificate is the MIRP-issued leaf naming this
	// identity. Key must be an RSA key (the STS accepts PS256 and RS256).
	// A nil Key means no credential has been issued yet: token requests
	// fail with a transient error until one is.
	Key         crypto.Signer
	Certificate *x509.Certificate
}

// IdentitySource says which identities a caller may use. The handlers call
// it on every request, so an implementation should return a slice it keeps
// (not build one per call) and must not modify a returned slice afterwards.
type IdentitySource interface {
	// Identities returns the identities usable by a caller: app == "" for
	// the host (IMDS, Arc), or an app's resource id (App Service endpoint).
	Identities(app string) []Identity
}

// StaticIdentities is an IdentitySource over a fixed map, for tests and for
// single-purpose agents. Key "" is the host.
type StaticIdentities map[string][]Identity

// Identities implements IdentitySource.
func (s StaticIdentities) Identities(app string) []Identity { return s[app] }

// selectorKind is how a token request names a user-assigned identity.
type selectorKind uint8

const (
	selectNone selectorKind = iota
	selectClientID
	selectObjectID
	selectResourceID
)

// selector is the identity a request asked for. Param is the query
// parameter as sent, for error messages and the Arc echo.
type selector struct {
	kind  selectorKind
	param string
	value string
}

// selectionError is why no identity could be chosen. All are 400s: a 404 or
// 5xx would make the SDKs retry for about a minute (reference §1.4, §12.15).
type selectionError struct {
	code, msg string
}

var (
	errIdentityNotFound = &selectionError{"invalid_request", "Identity not found"}
	// The text is Azure IMDS's, so operators searching for it find answers.
	errAmbiguousIdentity = &selectionError{"invalid_request",
		"Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"}
)

// selectIdentity picks the identity sel names among ids. With no selector it
// picks the system-assigned identity, else the only user-assigned one, as
// IMDS does (reference §1.1). GUIDs and ARM resource ids compare
// case-insensitively, as Azure compares them.
func selectIdentity(ids []Identity, sel selector) (*Identity, *selectionError) {
	if sel.kind == selectNone {
		for i := range ids {
			if ids[i].SystemAssigned {
				return &ids[i], nil
			}
		}
		switch len(ids) {
		case 0:
			return nil, errIdentityNotFound
		case 1:
			return &ids[0], nil
		}
		return nil, errAmbiguousIdentity
	}
	for i := range ids {
		var have string
		switch sel.kind {
		case selectClientID:
			have = ids[i].ClientID
		case selectObjectID:
			have = ids[i].ObjectID
		case selectResourceID:
			have = ids[i].ResourceID
		}
		if have != "" && strings.EqualFold(have, sel.value) {
			return &ids[i], nil
		}
	}
	return nil, errIdentityNotFound
}

// selectorParams maps query parameter names to selector kinds for one
// protocol.
type selectorParams []struct {
	name string
	kind selectorKind
}

// IMDS and Arc: msi_res_id is what every SDK sends; mi_res_id is App
// Service's spelling, accepted because callers mix them up.
var imdsSelectors = selectorParams{
	{"client_id", selectClientID},
	{"object_id", selectObjectID},
	{"msi_res_id", selectResourceID},
	{"mi_res_id", selectResourceID},
}

// App Service 2019-08-01: principal_id is a documented alias of object_id.
var appServiceSelectors = selectorParams{
	{"client_id", selectClientID},
	{"object_id", selectObjectID},
	{"principal_id", selectObjectID},
	{"mi_res_id", selectResourceID},
	{"msi_res_id", selectResourceID},
}

// App Service 2017-09-01 (and Azure ML): only clientid; MSAL Go always sends
// it, empty for system-assigned.
var legacySelectors = selectorParams{{"clientid", selectClientID}}

// selectorFrom reads the selector from q. Empty values count as absent
// (MSAL Go sends clientid= for system-assigned on the legacy protocol); more
// than one selector is an error naming the choice to make.
func selectorFrom(q *query, params selectorParams) (selector, *httpError) {
	var sel selector
	for _, p := range params {
		v, ok := q.get(p.name)
		if !ok || v == "" {
			continue
		}
		if sel.kind != selectNone {
			return selector{}, badRequest("invalid_request",
				"Only one of "+params.names()+" may be specified")
		}
		sel = selector{kind: p.kind, param: p.name, value: v}
	}
	return sel, nil
}

func (p selectorParams) names() string {
	var b strings.Builder
	for i, s := range p {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(s.name)
	}
	return b.String()
}

// asHTTPError turns a selection error into a 400.
func (e *selectionError) asHTTPError() *httpError {
	return &httpError{status: http.StatusBadRequest, code: e.code, msg: e.msg}
}
