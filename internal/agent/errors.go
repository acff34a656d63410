package agent

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
)

// httpError is a handler's failure: a status, a client-safe code and message,
// and a private cause that is only logged.
type httpError struct {
	status     int
	code       string // IMDS/Arc "error"; unused by App Service's shape
	msg        string // client-safe
	cause      error  // logged, never sent
	retryAfter int    // seconds; 0 for none
	header     http.Header
	// extra fields for the IMDS api-version error, which lists versions.
	newestVersions []string
}

func (e *httpError) Error() string {
	s := strconv.Itoa(e.status) + " " + e.code + ": " + e.msg
	if e.cause != nil {
		s += ": " + e.cause.Error()
	}
	return s
}

func (e *httpError) Unwrap() error { return e.cause }

func badRequest(code, msg string) *httpError {
	return &httpError{status: http.StatusBadRequest, code: code, msg: msg}
}

// malformedQuery is the answer to a query string parseQuery refused.
func malformedQuery(err error) *httpError {
	return badRequest("invalid_request", "Malformed query string: "+err.Error())
}

// errMetadataHeader is IMDS's answer to a request without "Metadata: true",
// which is also what the DefaultAzureCredential probe (reference §1.5) gets.
var errMetadataHeader = badRequest("bad_request_102", "Required metadata header not specified")

// errProxied refuses a request that came through a proxy: IMDS is only for
// the host's own processes, and a forwarded request is the SSRF shape
// (reference §1.1; the exact Azure body is undocumented).
var errProxied = badRequest("bad_request_proxied",
	"Requests carrying X-Forwarded-For, Forwarded or Via headers are refused")

var errMethod = &httpError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
	msg: "Only GET is supported", header: http.Header{"Allow": {http.MethodGet}}}

var errNotFound = &httpError{status: http.StatusNotFound, code: "not_found", msg: "Not found"}

var errForbiddenSource = &httpError{status: http.StatusForbidden, code: "forbidden",
	msg: "Requests are accepted only from this host"}

var errThrottled = &httpError{status: http.StatusTooManyRequests, code: "too_many_requests",
	msg: "Too many requests", retryAfter: 1}

// internalError hides cause behind a generic message.
func internalError(cause error) *httpError {
	return &httpError{status: http.StatusInternalServerError, code: "unknown",
		msg: "Internal error", cause: cause}
}

// asHTTPError turns any error a handler returned into an *httpError.
func asHTTPError(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	return internalError(err)
}

// logError records a failed request without secrets: no query values (they
// are identity selectors and resources, harmless, but headers are not), no
// header values, and only the private cause's text.
func logError(log *slog.Logger, r *http.Request, endpoint string, e *httpError) {
	if log == nil {
		log = slog.Default()
	}
	level := slog.LevelInfo
	switch {
	case e.status >= 500:
		level = slog.LevelError
	case e.header.Get("Www-Authenticate") != "":
		level = slog.LevelDebug // a challenge is the normal first step (Arc)
	}
	attrs := []slog.Attr{
		slog.String("endpoint", endpoint),
		slog.String("method", r.Method),
		slog.String("path", r.URL.Path),
		slog.String("remote", r.RemoteAddr),
		slog.Int("status", e.status),
		slog.String("error", e.code),
	}
	if e.cause != nil {
		attrs = append(attrs, slog.String("cause", e.cause.Error()))
	}
	log.LogAttrs(r.Context(), level, "agent request failed", attrs...)
}

func setErrorHeaders(w http.ResponseWriter, e *httpError) {
	h := w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
}

// writeIMDSError writes IMDS's error shape, {"error","error_description"}
// (reference §1.3), used by the IMDS and Arc endpoints. The api-version error
// has IMDS's own shape with "newest-versions".
func writeIMDSError(w http.ResponseWriter, r *http.Request, log *slog.Logger, endpoint string, err error) {
	e := asHTTPError(err)
	logError(log, r, endpoint, e)
	setErrorHeaders(w, e)
	w.WriteHeader(e.status)
	var body any = struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{e.code, e.msg}
	if e.newestVersions != nil {
		body = struct {
			Error          string   `json:"error"`
			NewestVersions []string `json:"newest-versions"`
		}{e.msg, e.newestVersions}
	}
	_ = json.NewEncoder(w).Encode(body) // status already sent; nobody to tell
}

// writeAppServiceError writes App Service's error shape,
// {"statusCode","message","correlationId"} (reference §2.1), which msal-node
// reads and MSAL Go shows verbatim.
func writeAppServiceError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	e := asHTTPError(err)
	logError(log, r, "appservice", e)
	setErrorHeaders(w, e)
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(struct {
		StatusCode    int    `json:"statusCode"`
		Message       string `json:"message"`
		CorrelationID string `json:"correlationId"`
	}{e.status, e.msg, correlationID(r)})
}

// correlationID echoes the client's request id when it sent a sane one, else
// makes one up, so a failure can be matched with the agent's log.
func correlationID(r *http.Request) string {
	for _, h := range []string{"X-Ms-Client-Request-Id", "Client-Request-Id"} {
		if v := r.Header.Get(h); v != "" && len(v) <= 64 && !hasControl(v) {
			return v
		}
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
