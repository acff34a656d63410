package arm

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/store"
)

// caller is the authenticated principal behind a request.
type caller struct {
	objectID string
	tenantID string
	clientID string
}

// authenticate checks the bearer token (RFC 6750 section 2.1) and answers
// as ARM does: 401 with a WWW-Authenticate challenge (RFC 6750 section 3).
func (s *Server) authenticate(r *http.Request) (caller, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return caller{}, s.unauthenticated(codeAuthenticationFailed,
			"Authentication failed. The 'Authorization' header is missing.", nil)
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return caller{}, s.unauthenticated(codeAuthenticationFailed,
			"Authentication failed. The 'Authorization' header is provided in an invalid format.", nil)
	}
	claims, err := s.Verifier.Verify(token)
	if err != nil {
		return caller{}, s.unauthenticated(codeInvalidAuthenticationToken,
			"The access token is invalid.", err)
	}
	if claims == nil || claims.ObjectID == "" || claims.TenantID == "" {
		return caller{}, s.unauthenticated(codeInvalidAuthenticationToken,
			"The access token has no object id or tenant id.", errors.New("token lacks oid or tid"))
	}
	return caller{objectID: claims.ObjectID, tenantID: claims.TenantID, clientID: claims.ClientID()}, nil
}

func (s *Server) unauthenticated(code, message string, cause error) *apiError {
	challenge := `Bearer `
	if s.LoginURL != "" {
		challenge += fmt.Sprintf(`authorization_uri="%s", `, strings.TrimRight(s.LoginURL, "/")+"/")
	}
	// The description is fixed text: verifier errors stay in the log.
	challenge += fmt.Sprintf(`error="invalid_token", error_description="%s"`, message)
	return &apiError{
		status:  http.StatusUnauthorized,
		code:    code,
		message: message,
		cause:   cause,
		header:  http.Header{"Www-Authenticate": {challenge}},
	}
}

// authorize asks RBAC whether the caller may perform action at scope and
// turns a denial into ARM's 403 AuthorizationFailed.
func (s *Server) authorize(req *request, action, scope string) error {
	d, err := s.decide(req, action, scope)
	if err != nil {
		return err
	}
	if !d.Allowed {
		return newError(http.StatusForbidden, codeAuthorizationFailed, "%s", d.DenialMessage())
	}
	return nil
}

// allowed reports whether the caller may perform action at scope.
func (s *Server) allowed(req *request, action, scope string) (bool, error) {
	d, err := s.decide(req, action, scope)
	return d.Allowed, err
}

func (s *Server) decide(req *request, action, scope string) (authz.Decision, error) {
	d, err := s.Authorizer.Decide(req.Context(), authz.Request{
		PrincipalID: req.caller.objectID,
		Action:      action,
		Scope:       scope,
	})
	if err != nil {
		return authz.Decision{}, internalError(fmt.Errorf("authorize %s at %s: %w", action, scope, err))
	}
	return d, nil
}

// subscription loads the route's subscription and checks that it belongs to
// the caller's tenant. A subscription of another tenant is answered exactly
// like a missing one, so its existence does not leak across tenants.
func (s *Server) subscription(req *request, id string) (store.Subscription, error) {
	var sub store.Subscription
	err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		var err error
		sub, err = tx.GetSubscription(id)
		return err
	})
	if err == nil && strings.EqualFold(sub.TenantID, req.caller.tenantID) {
		return sub, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.Subscription{}, internalError(err)
	}
	return store.Subscription{}, newError(http.StatusNotFound, codeSubscriptionNotFound,
		"The subscription '%s' could not be found.", truncate(id, 64))
}
