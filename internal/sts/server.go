package sts

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Signer signs access-token claims (the keys package's Manager).
type Signer interface {
	Sign(claims any) (string, error)
}

// KeySource publishes the JWKS document (the keys package's Manager).
type KeySource interface {
	JWKS() []byte
}

// SignInRecorder durably records sign-ins (the audit package's Recorder).
type SignInRecorder interface {
	// SignIn records rec and returns once it is committed.
	SignIn(ctx context.Context, rec store.SignIn) error
	// StartSignIn queues rec and returns at once (ctx bounds the wait for
	// room in a full queue); wait returns once it is committed. With use,
	// the assertion is marked used in the same transaction; if it already
	// was, rec is not written and wait returns an error wrapping
	// store.ErrConflict.
	StartSignIn(ctx context.Context, rec store.SignIn, use *store.AssertionUse) (wait func(context.Context) error)
}

// Defaults for the Server's zero-valued fields.
const (
	DefaultServicePrincipalTokenLifetime = time.Hour
	DefaultManagedIdentityTokenLifetime  = 24 * time.Hour
	DefaultAssertionSkew                 = 2 * time.Minute
)

// Server is the token service. The composition root fills it with a struct
// literal and mounts Handler.
type Server struct {
	Store    store.Store
	Signer   Signer
	Keys     KeySource
	Recorder SignInRecorder
	// PublicURLs are the scheme://host[:port] bases clients may use to reach
	// this service, e.g. https://127.0.0.1:8443 and https://localhost:8443.
	// PublicURLs[0] is canonical: token issuers use it.
	PublicURLs []string

	ServicePrincipalTokenLifetime time.Duration // default 1h
	ManagedIdentityTokenLifetime  time.Duration // default 24h
	AssertionSkew                 time.Duration // clock skew allowed on assertions; default 2m

	// Generations, when set, lets the token path cache each client's
	// principal and credentials while the principals generation is
	// current (a *store.GenerationWatcher over Store). Nil: every request
	// reads the store.
	Generations GenerationSource

	Now    func() time.Time // default time.Now
	Logger *slog.Logger     // default slog.Default()

	once     sync.Once
	spending spending
	clients  clientCache
	certs    certCache
	tenant   sync.Map // tenant id (lower-case GUID) → struct{}: tenants known to exist
}

// IssuerV1 is the issuer of v1 tokens: {base}/{tenant}/.
func IssuerV1(base, tenant string) string { return base + "/" + tenant + "/" }

// IssuerV2 is the issuer of v2 tokens and of the v2 discovery document:
// {base}/{tenant}/v2.0.
func IssuerV2(base, tenant string) string { return base + "/" + tenant + "/v2.0" }

func (s *Server) init() {
	s.once.Do(func() {
		if s.ServicePrincipalTokenLifetime <= 0 {
			s.ServicePrincipalTokenLifetime = DefaultServicePrincipalTokenLifetime
		}
		if s.ManagedIdentityTokenLifetime <= 0 {
			s.ManagedIdentityTokenLifetime = DefaultManagedIdentityTokenLifetime
		}
		if s.AssertionSkew <= 0 {
			s.AssertionSkew = DefaultAssertionSkew
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		urls := make([]string, 0, len(s.PublicURLs))
		for _, u := range s.PublicURLs {
			urls = append(urls, strings.TrimRight(u, "/"))
		}
		s.PublicURLs = urls
	})
}

// Handler returns the service's routes. It panics when a required field is
// missing: that is a wiring error, found at startup rather than on the first
// request.
func (s *Server) Handler() http.Handler {
	s.init()
	switch {
	case len(s.PublicURLs) == 0:
		panic("sts: Server.PublicURLs is empty")
	case s.Store == nil || s.Signer == nil || s.Keys == nil || s.Recorder == nil:
		panic("sts: Server needs Store, Signer, Keys and Recorder")
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", s.handleDiscovery(2))
	mux.HandleFunc("GET /{tenant}/.well-known/openid-configuration", s.handleDiscovery(1))
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", s.handleJWKS)
	mux.HandleFunc("GET /{tenant}/discovery/keys", s.handleJWKS)
	mux.HandleFunc("/{tenant}/oauth2/v2.0/authorize", s.handleAuthorize)
	mux.HandleFunc("/{tenant}/oauth2/authorize", s.handleAuthorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handleToken(2))
	mux.HandleFunc("POST /{tenant}/oauth2/token", s.handleToken(1))
	mux.HandleFunc("/{tenant}/oauth2/v2.0/token", s.handleTokenMethod)
	mux.HandleFunc("/{tenant}/oauth2/token", s.handleTokenMethod)
	return mux
}

// baseURL is the public base the client used when it is one of PublicURLs,
// else the canonical one. MSAL checks that the discovery issuer's host is
// its authority's host, so discovery must answer with the host it was asked on.
func (s *Server) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	used := scheme + "://" + r.Host
	for _, u := range s.PublicURLs {
		if strings.EqualFold(u, used) {
			return u
		}
	}
	return s.PublicURLs[0]
}

// canonicalURL is the base every token's issuer uses.
func (s *Server) canonicalURL() string { return s.PublicURLs[0] }
