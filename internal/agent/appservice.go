package agent

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"
)

// AppSecrets resolves the secret an app presents in X-IDENTITY-HEADER to the
// app's resource id.
type AppSecrets interface {
	// AppForSecret returns the app the secret belongs to; ok is false for
	// an unknown secret. Implementations must not leak, through timing,
	// how much of a secret matched.
	AppForSecret(secret string) (app string, ok bool)
}

// AppSecretTable is an in-memory AppSecrets that generates per-app secrets.
// It looks secrets up by their SHA-256, so lookup time says nothing about
// how close a guess was, and the table never holds a secret in clear.
type AppSecretTable struct {
	mu     sync.RWMutex
	byHash map[[32]byte]string
	byApp  map[string][32]byte
}

// NewAppSecretTable returns an empty table.
func NewAppSecretTable() *AppSecretTable {
	return &AppSecretTable{byHash: map[[32]byte]string{}, byApp: map[string][32]byte{}}
}

// Issue generates a new secret for app (256 random bits, base64url),
// replacing any earlier one. The caller hands it to the app as
// IDENTITY_HEADER; it is not retrievable afterwards.
func (t *AppSecretTable) Issue(app string) (string, error) {
	if app == "" {
		return "", errors.New("app secrets: empty app resource id")
	}
	var b [32]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	secret := base64.RawURLEncoding.EncodeToString(b[:])
	t.Set(app, secret)
	return secret, nil
}

// Set installs secret for app, replacing any earlier one: a secret issued
// elsewhere and restored after a restart. Unlike Issue it accepts app "",
// the host's own identities, for callers that hand the host a secret too.
func (t *AppSecretTable) Set(app, secret string) {
	h := sha256.Sum256([]byte(secret))
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.byApp[app]; ok {
		delete(t.byHash, old)
	}
	t.byHash[h], t.byApp[app] = app, h
}

// Revoke forgets app's secret.
func (t *AppSecretTable) Revoke(app string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if h, ok := t.byApp[app]; ok {
		delete(t.byHash, h)
		delete(t.byApp, app)
	}
}

// AppForSecret implements AppSecrets.
func (t *AppSecretTable) AppForSecret(secret string) (string, bool) {
	h := sha256.Sum256([]byte(secret))
	t.mu.RLock()
	defer t.mu.RUnlock()
	app, ok := t.byHash[h]
	return app, ok
}

// App Service protocol versions (reference §2).
const (
	appServiceAPIVersion = "2019-08-01"
	legacyAPIVersion     = "2017-09-01"
)

// AppService serves the App Service managed-identity protocol (reference
// §2.1) and its 2017-09-01 predecessor (§2.2), at whatever path it is
// mounted (the composition root chooses IDENTITY_ENDPOINT). The caller's app
// is the one its secret header names, and it gets that app's identities.
type AppService struct {
	Tokens     TokenSource
	Identities IdentitySource
	Secrets    AppSecrets
	Sources    SourceFilter
	RateLimit  *RateLimit // nil: no limit
	Logger     *slog.Logger
}

var (
	errNoIdentityHeader = &httpError{status: http.StatusUnauthorized, code: "unauthorized",
		msg: "The X-IDENTITY-HEADER header is missing"}
	errNoLegacySecret = &httpError{status: http.StatusUnauthorized, code: "unauthorized",
		msg: "The secret header is missing"}
	errBadIdentityHeader = &httpError{status: http.StatusForbidden, code: "forbidden",
		msg: "The identity header does not match any application on this host"}
)

// ServeHTTP implements http.Handler.
func (h *AppService) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		writeAppServiceError(w, r, h.Logger, err)
	}
}

func (h *AppService) serve(w http.ResponseWriter, r *http.Request) error {
	if !h.Sources.admit(r) {
		return errForbiddenSource
	}
	if proxied(r) {
		return errProxied
	}
	if r.Method != http.MethodGet {
		return errMethod
	}
	var q query
	if err := parseQuery(r.URL.RawQuery, &q); err != nil {
		return malformedQuery(err)
	}
	// The version decides which header carries the secret and which
	// selector is allowed, so it is read before authentication.
	version, _ := q.get("api-version")
	header, missing, selectors := "X-Identity-Header", errNoIdentityHeader, appServiceSelectors
	switch version {
	case appServiceAPIVersion:
	case legacyAPIVersion:
		header, missing, selectors = "Secret", errNoLegacySecret, legacySelectors
	default:
		return badRequest("invalid_request",
			"api-version must be "+appServiceAPIVersion+" (or the legacy "+legacyAPIVersion+")")
	}
	secrets := r.Header[header]
	if len(secrets) == 0 || secrets[0] == "" {
		return missing
	}
	if len(secrets) > 1 {
		return badRequest("invalid_request", "The identity header must be sent once")
	}
	app, ok := h.Secrets.AppForSecret(secrets[0])
	if !ok {
		return errBadIdentityHeader
	}
	if h.RateLimit != nil {
		if !h.RateLimit.acquire(time.Now()) {
			return errThrottled
		}
		defer h.RateLimit.release()
	}
	resource, ok := q.get("resource")
	if !ok || resource == "" {
		return badRequest("invalid_request", "The resource query parameter is required")
	}
	sel, herr := selectorFrom(&q, selectors)
	if herr != nil {
		return herr
	}
	id, serr := selectIdentity(h.Identities.Identities(app), sel)
	if serr != nil {
		return serr.asHTTPError()
	}
	tok, err := h.Tokens.Token(r.Context(), id, resource)
	if err != nil {
		return tokenError(err)
	}
	// Both versions answer with unix-seconds expires_on: the 2017 date
	// string breaks MSAL Go and msal-node (reference §2.2).
	tok.viewFor(kindAppService, resource).write(w, tok, time.Now())
	return nil
}
