package secrets

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/jwt"
)

// authenticate checks the bearer token as Key Vault does (section 8.1) and
// lets a verified caller of the vault's own tenant through. Without a
// token, or with one that does not verify, the answer is 401 with a
// challenge naming the authority ({login}/{tenant}) and the resource the
// client must ask a token for. The first request azsecrets sends is of the
// first kind, on purpose, and without its body. It runs once the vault
// (and so the tenant the challenge names) is known.
func (s *Server) authenticate(req *request) error {
	h := req.Header.Get("Authorization")
	if h == "" {
		return s.challenge(req, "AKV10000: Request is missing a Bearer or PoP token.", nil)
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
		return s.challenge(req, "AKV10001: The Authorization header is not a Bearer token.", nil)
	}
	claims, err := s.Verifier.Verify(token)
	if err != nil {
		return s.challenge(req, tokenRefusal(err), err)
	}
	if claims.ObjectID == "" || claims.TenantID == "" {
		return s.challenge(req, "AKV10001: The token has no object id or tenant id.", errors.New("token lacks oid or tid"))
	}
	req.claims = claims
	req.access.CallerID, req.access.ClientID, req.access.TokenID = claims.ObjectID, claims.ClientID(), claims.TokenID
	if !strings.EqualFold(claims.TenantID, req.vault.TenantID) {
		// A token of another tenant: the challenge names the vault's.
		return s.challenge(req, "AKV10032: Invalid issuer. The token is not from this vault's tenant.",
			fmt.Errorf("token tenant %s, vault tenant %s", claims.TenantID, req.vault.TenantID))
	}
	return nil
}

// tokenRefusal is the client-safe reason for a token that did not verify.
// It names the check that failed and never echoes the token.
func tokenRefusal(err error) string {
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return "AKV10020: The token has expired."
	case errors.Is(err, jwt.ErrNotYetValid):
		return "AKV10020: The token is not yet valid."
	case errors.Is(err, jwt.ErrAudience):
		return "AKV10022: Invalid audience."
	case errors.Is(err, jwt.ErrIssuer):
		return "AKV10032: Invalid issuer."
	case errors.Is(err, jwt.ErrAlgorithm):
		return "AKV10010: The token's signing algorithm is not accepted."
	case errors.Is(err, jwt.ErrUnknownKey), errors.Is(err, jwt.ErrSignature):
		return "AKV10021: The token's signature is invalid."
	}
	return "AKV10001: The token is malformed."
}

// challenge is the 401 Key Vault answers: WWW-Authenticate carries the
// authority (a full URL whose first path segment is the tenant; azsecrets
// takes the 4th "/"-separated part) and the resource. azsecrets splits the
// header on spaces and on "=", so no value may hold either; both are URLs
// built from configuration and the Host header's port, which hold neither.
func (s *Server) challenge(req *request, message string, cause error) error {
	authority := strings.TrimRight(s.LoginURL, "/") + "/" + req.vault.TenantID
	header := fmt.Sprintf(`Bearer authorization="%s", resource="%s"`, authority, s.challengeResource(req.Host))
	if cause != nil {
		header += `, error="invalid_token"`
	}
	return &kvError{
		status:  http.StatusUnauthorized,
		code:    codeUnauthorized,
		message: message,
		cause:   cause,
		header:  http.Header{"Www-Authenticate": {header}},
	}
}

// challengeResource is https://{DNSSuffix} with the port the client used,
// so that {vault}.{DNSSuffix}:{port} ends with "."+ its host, which is the
// check azsecrets makes before it asks for a token.
func (s *Server) challengeResource(host string) string {
	_, port, err := net.SplitHostPort(host)
	if err != nil || port == "" || port == "443" || !numeric(port) {
		return "https://" + s.DNSSuffix
	}
	return "https://" + s.DNSSuffix + ":" + port
}

func numeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// authorize decides the route's data action at the secret's scope or the
// vault's, on every request; a denial is Key Vault's 403 ForbiddenByRbac.
// How fresh the caller's assignments are is the Authorizer's contract: the
// uncached one reads them afresh, the caching one sees a change through
// this replica at once and through another within its poll interval.
func (s *Server) authorize(req *request) error {
	scope := req.vault.ResourceID
	if req.route.op.perSecret {
		scope += "/secrets/" + req.route.name
	}
	action := req.route.op.action
	az := s.Authorizer
	if az == nil {
		az = &authz.Authorizer{Store: s.Store}
	}
	d, err := az.Decide(req.Context(), authz.Request{PrincipalID: req.claims.ObjectID, Action: action, DataAction: true, Scope: scope})
	if err != nil {
		return internalError(fmt.Errorf("authorize %s at %s: %w", action, scope, err))
	}
	if d.Allowed {
		return nil
	}
	msg := fmt.Sprintf("Caller is not authorized to perform action on resource.\r\n"+
		"If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.\r\n"+
		"Caller: appid=%s;oid=%s;iss=%s\r\nAction: '%s'\r\nResource: '%s'\r\nAssignment: (not found)\r\nVault: %s",
		req.claims.ClientID(), req.claims.ObjectID, req.claims.Issuer, action, strings.ToLower(scope), req.vault.Name)
	if role, ok := authz.SuggestRole(action, true); ok {
		msg += fmt.Sprintf("\r\nLeast-privileged built-in role that allows it: '%s' (%s).", role.RoleName, role.ID)
	}
	return &kvError{status: http.StatusForbidden, code: codeForbidden, inner: innerForbiddenByRbac, message: msg}
}
