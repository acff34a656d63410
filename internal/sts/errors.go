package sts

import (
	"net/http"

	"github.com/signet-platform/signet/internal/oauth2"
)

// The Entra error codes this service answers with, all real AADSTS codes
// chosen for the closest meaning Entra gives them:
//
//	code       error                      status  when
//	90002      invalid_tenant             400     {tenant} is not a GUID of a known tenant
//	90014      invalid_request            400     a required field is missing (including neither secret nor assertion)
//	900144     invalid_request            400     grant_type missing
//	90100      invalid_request            400     malformed body, wrong content type, duplicated field, bad Basic header,
//	                                              both a secret and an assertion (RFC 6749 §2.3: one method only)
//	           invalid_request            413     body larger than 64 KiB
//	900561     invalid_request            405     token endpoint called with a method other than POST
//	901002     invalid_request            400     resource= sent to the v2 endpoint (v2 takes scope=)
//	70003      unsupported_grant_type     400     grant other than client_credentials
//	70011      invalid_scope              400     v2 scope is not exactly one <resource>/.default (plus ignored OIDC scopes)
//	500011     invalid_resource           400     v1 resource missing or not a URI/GUID
//	700016     unauthorized_client        400     no application with this client id in the tenant
//	7000112    unauthorized_client        400     the application (principal) is disabled
//	7000215    invalid_client             401     no secret credential matches
//	7000222    invalid_client             401     the matching secret credential is outside its validity
//	50027      invalid_client             401     client assertion is not a well-formed JWT or lacks a required claim
//	700021     invalid_client             401     assertion iss/sub do not both name the client (or differ from client_id)
//	700023     invalid_client             401     assertion aud is not this token endpoint
//	700024     invalid_client             401     assertion expired, not yet valid, or its lifetime exceeds 1 h
//	700027     invalid_client             401     signing certificate not registered, outside its validity, alg not allowed, or signature invalid
//	50013      invalid_client             401     assertion id (jti) already used: Entra publishes no replay-specific
//	                                              code; 50013 is its generic "assertion is invalid" code
//	(none)     unsupported_response_type  400     the authorize endpoints: no interactive sign-in is offered
//	90033      server_error               500     anything unexpected (cause logged, never sent)
//
// Entra answers unknown and disabled applications with 400
// unauthorized_client rather than RFC 6749's 401 invalid_client; the Azure
// SDKs key on the body, and matching Entra keeps their messages familiar.
const (
	codeTenantNotFound     = 90002
	codeMissingField       = 90014
	codeMissingGrantType   = 900144
	codeInvalidParameter   = 90100
	codeMethodNotAllowed   = 900561
	codeResourceParamV2    = 901002
	codeUnsupportedGrant   = 70003
	codeInvalidScope       = 70011
	codeInvalidResource    = 500011
	codeUnknownClient      = 700016
	codeClientDisabled     = 7000112
	codeInvalidSecret      = 7000215
	codeSecretExpired      = 7000222
	codeMalformedAssertion = 50027
	codeAssertionSubject   = 700021
	codeAssertionAudience  = 700023
	codeAssertionTime      = 700024
	codeAssertionSignature = 700027
	codeAssertionReplayed  = 50013
)

func errUnknownTenant(tenant string) *oauth2.Error {
	return oauth2.Errorf(http.StatusBadRequest, oauth2.ErrInvalidTenant, codeTenantNotFound,
		"Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", truncate(tenant, 64))
}

var errUnsupportedResponseType = oauth2.Errorf(http.StatusBadRequest, oauth2.ErrUnsupportedResponseType, 0,
	"Signet offers no interactive sign-in; use the client credentials grant at the token endpoint.")

func errMethodNotAllowed(method string) *oauth2.Error {
	return oauth2.Errorf(http.StatusMethodNotAllowed, oauth2.ErrInvalidRequest, codeMethodNotAllowed,
		"The endpoint only accepts POST requests. Received a %s request.", truncate(method, 16))
}

func errInvalidRequest(code int, format string, args ...any) *oauth2.Error {
	return oauth2.Errorf(http.StatusBadRequest, oauth2.ErrInvalidRequest, code, format, args...)
}

func errInvalidClient(code int, format string, args ...any) *oauth2.Error {
	return oauth2.Errorf(http.StatusUnauthorized, oauth2.ErrInvalidClient, code, format, args...)
}

func errUnknownClient(clientID, tenant string) *oauth2.Error {
	return oauth2.Errorf(http.StatusBadRequest, oauth2.ErrUnauthorizedClient, codeUnknownClient,
		"Application with identifier '%s' was not found in the directory '%s'.", truncate(clientID, 64), tenant)
}

func errClientDisabled(clientID string) *oauth2.Error {
	return oauth2.Errorf(http.StatusBadRequest, oauth2.ErrUnauthorizedClient, codeClientDisabled,
		"Application '%s' is disabled.", clientID)
}

// truncate bounds attacker-supplied text echoed in error descriptions.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
