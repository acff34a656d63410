package blob

import (
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// apiError is a failed operation: an HTTP status, Blob's error code, a
// client-safe message and a private cause that is only logged.
type apiError struct {
	status int
	code   string
	msg    string
	cause  error
	header http.Header // extra response headers (WWW-Authenticate, Content-Range)
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%d %s: %s: %v", e.status, e.code, e.msg, e.cause)
	}
	return fmt.Sprintf("%d %s: %s", e.status, e.code, e.msg)
}

func (e *apiError) Unwrap() error { return e.cause }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func (e *apiError) with(cause error) *apiError { e.cause = cause; return e }

func (e *apiError) withHeader(k, v string) *apiError {
	if e.header == nil {
		e.header = http.Header{}
	}
	e.header.Set(k, v)
	return e
}

// internal wraps an unexpected failure: the client learns nothing of it.
func internal(cause error) *apiError {
	return errf(http.StatusInternalServerError, "InternalError",
		"Server encountered an internal error. Please try again after some time.").with(cause)
}

// Errors the operations share, with Azure's codes, statuses and messages.
var (
	errContainerNotFound = func() *apiError {
		return errf(http.StatusNotFound, "ContainerNotFound", "The specified container does not exist.")
	}
	errBlobNotFound = func() *apiError {
		return errf(http.StatusNotFound, "BlobNotFound", "The specified blob does not exist.")
	}
	errConditionNotMet = func() *apiError {
		return errf(http.StatusPreconditionFailed, "ConditionNotMet",
			"The condition specified using HTTP conditional header(s) is not met.")
	}
	errNotModified = func() *apiError { return &apiError{status: http.StatusNotModified, code: "ConditionNotMet"} }
)

func invalidHeader(name string) *apiError {
	return errf(http.StatusBadRequest, "InvalidHeaderValue",
		"The value for one of the HTTP headers is not in the correct format.").
		withHeaderDetail(name)
}

func invalidQuery(name string) *apiError {
	return errf(http.StatusBadRequest, "InvalidQueryParameterValue",
		"Value for one of the query parameters specified in the request URI is invalid.").
		withHeaderDetail(name)
}

// withHeaderDetail names the offending header or parameter in the message,
// as Azure does in its HeaderName/QueryParameterName detail elements.
func (e *apiError) withHeaderDetail(name string) *apiError {
	e.msg += " (" + name + ")"
	return e
}

type xmlError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string   `xml:"Code"`
	Message string   `xml:"Message"`
}

// writeError is the one writer of Blob errors: the x-ms-error-code header
// (which azcore prefers) and, except for HEAD and 304, the XML body.
func writeError(w http.ResponseWriter, r *http.Request, requestID string, err error, now time.Time) {
	var e *apiError
	if !errors.As(err, &e) {
		e = internal(err)
	}
	h := w.Header()
	for k, v := range e.header {
		h[k] = v
	}
	h.Set("x-ms-error-code", e.code)
	if r.Method == http.MethodHead || e.status == http.StatusNotModified {
		w.WriteHeader(e.status)
		return
	}
	msg := strings.Join([]string{e.msg, "RequestId:" + requestID, "Time:" + now.UTC().Format("2006-01-02T15:04:05.0000000Z")}, "\n")
	body, _ := xml.Marshal(xmlError{Code: e.code, Message: msg})
	h.Set("Content-Type", "application/xml")
	h.Set("Content-Length", fmt.Sprint(len(xml.Header)+len(body)))
	w.WriteHeader(e.status)
	w.Write([]byte(xml.Header))
	w.Write(body)
}
