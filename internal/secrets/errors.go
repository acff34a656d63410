package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
)

// Key Vault's error codes (section 8.4). azcore reports error.code as
// ResponseError.ErrorCode, so clients switch on these spellings.
const (
	codeBadParameter     = "BadParameter"
	codeUnauthorized     = "Unauthorized"
	codeForbidden        = "Forbidden"
	codeSecretNotFound   = "SecretNotFound"
	codeVaultNotFound    = "VaultNotFound"
	codeNotFound         = "NotFound"
	codeMethodNotAllowed = "MethodNotAllowed"
	codeConflict         = "Conflict"
	codeTooLarge         = "RequestEntityTooLarge"
	codeInternal         = "InternalServerError"

	innerForbiddenByRbac = "ForbiddenByRbac"
	innerSecretDisabled  = "SecretDisabled"
	innerSecretExpired   = "SecretExpired"
	innerSecretNotYet    = "SecretNotYetValid"
	innerPurgeProtection = "PurgeProtectionEnabled"
)

// kvError is what a handler returns: a status and Key Vault code with a
// client-safe message, and a private cause that is only logged.
type kvError struct {
	status  int
	code    string
	inner   string // innererror.code, "" for none
	message string
	cause   error
	header  http.Header
}

func (e *kvError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.code, e.message, e.cause)
	}
	return e.code + ": " + e.message
}

func (e *kvError) Unwrap() error { return e.cause }

func newError(status int, code, format string, args ...any) *kvError {
	return &kvError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badParameter(format string, args ...any) *kvError {
	return newError(http.StatusBadRequest, codeBadParameter, format, args...)
}

func internalError(cause error) *kvError {
	return &kvError{status: http.StatusInternalServerError, code: codeInternal,
		message: "The service encountered an internal error.", cause: cause}
}

// asKVError turns any error into the one shape written to clients; an error
// that is not a kvError is internal and its text is never shown.
func asKVError(err error) *kvError {
	var e *kvError
	if errors.As(err, &e) {
		return e
	}
	return internalError(err)
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string      `json:"code"`
	Message    string      `json:"message"`
	InnerError *innerError `json:"innererror,omitempty"`
}

type innerError struct {
	Code string `json:"code"`
}

// writeError is the one Key Vault error writer.
func writeError(w http.ResponseWriter, log *slog.Logger, e *kvError) {
	if e.status >= 500 {
		log.Error("key vault request failed", "status", e.status, "code", e.code, "err", e.cause)
	} else if e.cause != nil {
		log.Debug("key vault request refused", "status", e.status, "code", e.code, "err", e.cause)
	}
	for k, vs := range e.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	body := errorBody{Error: errorDetail{Code: e.code, Message: e.message}}
	if e.inner != "" {
		body.Error.InnerError = &innerError{Code: e.inner}
	}
	b, _ := json.Marshal(body)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.status)
	w.Write(b)
}
