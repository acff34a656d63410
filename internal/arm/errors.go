package arm

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// ARM error codes this package answers with. Clients switch on some of them
// (azcore surfaces the code as ResponseError.ErrorCode), so they are spelled
// as Azure spells them.
const (
	codeInvalidResourceID          = "InvalidResourceId"
	codeInvalidRequestContent      = "InvalidRequestContent"
	codeMissingAPIVersion          = "MissingApiVersionParameter"
	codeAuthenticationFailed       = "AuthenticationFailed"
	codeInvalidAuthenticationToken = "InvalidAuthenticationToken"
	codeAuthorizationFailed        = "AuthorizationFailed"
	codeLinkedAuthorizationFailed  = "LinkedAuthorizationFailed"
	codeResourceNotFound           = "ResourceNotFound"
	codeResourceGroupNotFound      = "ResourceGroupNotFound"
	codeSubscriptionNotFound       = "SubscriptionNotFound"
	codeConflict                   = "Conflict"
	codeRoleAssignmentExists       = "RoleAssignmentExists"
	codeRoleAssignmentNotFound     = "RoleAssignmentNotFound"
	codeInvalidRoleAssignmentID    = "InvalidRoleAssignmentId"
	codeRoleDefinitionDoesNotExist = "RoleDefinitionDoesNotExist"
	codeRoleDefinitionHasAssigns   = "RoleDefinitionHasAssignments"
	codeRoleDefinitionNameExists   = "RoleDefinitionWithSameNameExists"
	codeCannotModifyBuiltInRole    = "CannotModifyBuiltInRole"
	codeInvalidRoleDefinitionID    = "InvalidRoleDefinitionId"
	codePrincipalNotFound          = "PrincipalNotFound"
	codeUnmatchedPrincipalType     = "UnmatchedPrincipalType"
	codeInvalidResourceType        = "InvalidResourceType"
	codeNoRegisteredProvider       = "NoRegisteredProviderFound"
	codeUnsupportedMediaType       = "UnsupportedMediaType"
	codeMethodNotAllowed           = "MethodNotAllowed"
	codeRequestTooLarge            = "RequestEntityTooLarge"
	codeInvalidIdentity            = "InvalidIdentity"
	codeLocationRequired           = "LocationRequired"
	codeInvalidQueryParameter      = "InvalidQueryParameterValue"
	codeInternal                   = "InternalServerError"
)

// apiError is an error a handler returns: a status and an ARM code with a
// client-safe message, and a private cause that is only logged.
type apiError struct {
	status  int
	code    string
	message string
	cause   error
	header  http.Header // extra response headers (WWW-Authenticate, Allow)
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.code, e.message, e.cause)
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

// newError builds an apiError; message is sent to the client.
func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// internalError hides cause from the client.
func internalError(cause error) *apiError {
	return &apiError{
		status:  http.StatusInternalServerError,
		code:    codeInternal,
		message: "The server encountered an internal error. Please retry the request.",
		cause:   cause,
	}
}

// asAPIError returns err as an *apiError, turning anything else into a 500.
func asAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	return internalError(err)
}

// errorBody is ARM's error envelope.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeError is the one writer of ARM error responses.
func writeError(w http.ResponseWriter, logger *slog.Logger, r *http.Request, err error) *apiError {
	ae := asAPIError(err)
	if ae.status >= 500 {
		logger.ErrorContext(r.Context(), "arm request failed", "method", r.Method, "path", r.URL.Path, "status", ae.status, "err", ae)
	} else if ae.cause != nil {
		logger.DebugContext(r.Context(), "arm request refused", "method", r.Method, "path", r.URL.Path, "status", ae.status, "code", ae.code, "err", ae.cause)
	}
	for k, vs := range ae.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("x-ms-failure-cause", failureCause(ae.status))
	w.WriteHeader(ae.status)
	_ = json.NewEncoder(w).Encode(errorBody{Error: errorDetail{Code: ae.code, Message: ae.message}})
	return ae
}

// failureCause mirrors ARM's x-ms-failure-cause header: whether the gateway
// (authentication, authorization, routing) or the resource provider refused.
func failureCause(status int) string {
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return "gateway"
	default:
		return "service"
	}
}
