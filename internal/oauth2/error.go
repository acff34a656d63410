package oauth2

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// Grant and client-assertion vocabulary.
const (
	GrantClientCredentials = "client_credentials"                                     // RFC 6749 §4.4
	AssertionTypeJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" // RFC 7523 §2.2
)

// OAuth error codes (RFC 6749 §5.2, RFC 8707 §2 for invalid_target's Entra
// cousin invalid_resource) plus the two Entra uses beyond them.
const (
	ErrInvalidRequest          = "invalid_request"
	ErrInvalidClient           = "invalid_client"
	ErrInvalidGrant            = "invalid_grant"
	ErrUnauthorizedClient      = "unauthorized_client"
	ErrUnsupportedGrantType    = "unsupported_grant_type"
	ErrUnsupportedResponseType = "unsupported_response_type"
	ErrInvalidScope            = "invalid_scope"
	ErrInvalidResource         = "invalid_resource"
	ErrInvalidTenant           = "invalid_tenant" // Entra's, with AADSTS90002
	ErrServerError             = "server_error"
)

// Error is an OAuth error response. Description is shown to the client;
// Cause is only logged.
type Error struct {
	Status      int    // HTTP status
	Code        string // OAuth "error", e.g. invalid_client
	AADSTS      int    // Entra error code, e.g. 7000215; 0 for none
	Description string // client-safe text, without the "AADSTSn: " prefix
	Cause       error  // private; never sent
}

// Errorf returns an *Error with a formatted client-safe description.
func Errorf(status int, code string, aadsts int, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, AADSTS: aadsts, Description: fmt.Sprintf(format, args...)}
}

// WithCause returns a copy of e carrying a private cause.
func (e *Error) WithCause(cause error) *Error {
	c := *e
	c.Cause = cause
	return &c
}

func (e *Error) Error() string {
	s := e.Code
	if e.AADSTS != 0 {
		s += " " + e.AADSTSCode()
	}
	s += ": " + e.Description
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Cause }

// AADSTSCode returns the code as Entra prints it ("AADSTS7000215"), or "".
func (e *Error) AADSTSCode() string {
	if e.AADSTS == 0 {
		return ""
	}
	return "AADSTS" + strconv.Itoa(e.AADSTS)
}

// ServerError is the error every unexpected failure becomes on the wire: the
// cause is logged, never sent.
func ServerError(cause error) *Error {
	return &Error{
		Status: http.StatusInternalServerError, Code: ErrServerError, AADSTS: 90033,
		Description: "A transient error has occurred. Please try again.", Cause: cause,
	}
}

// wireError is Entra's error body.
type wireError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	ErrorCodes    []int  `json:"error_codes,omitempty"`
	Timestamp     string `json:"timestamp"`
	TraceID       string `json:"trace_id"`
	CorrelationID string `json:"correlation_id"`
}

// entraTimestamp is the layout Entra uses in error bodies.
const entraTimestamp = "2006-01-02 15:04:05Z"

// CorrelationID returns the request's client-request-id header when it is a
// GUID (MSAL sends one and expects it echoed), else a fresh GUID.
func CorrelationID(r *http.Request) string {
	if id, err := uuid.Parse(r.Header.Get("client-request-id")); err == nil {
		return id.String()
	}
	return uuid.NewString()
}

// WriteError writes err in Entra's error shape. An err that is not an *Error
// becomes a server_error whose cause is logged and not sent. The cause and
// the request's credentials are never logged in full; only the cause's text.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, now time.Time, err error) {
	oe, ok := err.(*Error)
	if !ok {
		oe = ServerError(err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	traceID := uuid.NewString()
	correlationID := CorrelationID(r)
	ts := now.UTC().Format(entraTimestamp)

	level := slog.LevelInfo
	if oe.Status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{
		slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", oe.Status), slog.String("error", oe.Code),
		slog.String("aadsts", oe.AADSTSCode()),
		slog.String("trace_id", traceID), slog.String("correlation_id", correlationID),
	}
	if oe.Cause != nil {
		attrs = append(attrs, slog.String("cause", oe.Cause.Error()))
	}
	logger.Log(r.Context(), level, "oauth error", attrs...)

	desc := oe.Description
	if c := oe.AADSTSCode(); c != "" {
		desc = c + ": " + desc
	}
	desc += "\r\nTrace ID: " + traceID + "\r\nCorrelation ID: " + correlationID + "\r\nTimestamp: " + ts
	body := wireError{
		Error: oe.Code, Description: desc, Timestamp: ts, TraceID: traceID, CorrelationID: correlationID,
	}
	if oe.AADSTS != 0 {
		body.ErrorCodes = []int{oe.AADSTS}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	if oe.Status == http.StatusUnauthorized {
		// RFC 6749 §5.2: a 401 for invalid_client answers with the scheme the
		// client may authenticate with.
		h.Set("WWW-Authenticate", `Basic realm="signet"`)
	}
	if oe.Status == http.StatusMethodNotAllowed {
		h.Set("Allow", http.MethodPost)
	}
	w.WriteHeader(oe.Status)
	_ = json.NewEncoder(w).Encode(body) // the status is sent; a write error has no one to go to
}
