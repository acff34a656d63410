package metrics

import (
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// Request-id headers, as Azure services send them.
const (
	headerRequestID       = "x-ms-request-id"
	headerClientRequestID = "x-ms-client-request-id"
)

// maxClientRequestID bounds the client request id echoed and logged.
const maxClientRequestID = 64

// Options shape the middleware for one listener.
type Options struct {
	// Service names the listener in log lines and labels ("login",
	// "management", "identity provider", "vault", "blob", "imds", …).
	Service string
	// Route classifies a request into a small fixed set of names; nil
	// means "all". It must never return raw path text.
	Route func(*http.Request) string
	// SkipLog says a request is logged by the handler itself (the control
	// plane logs its own line with the caller), so the middleware does not
	// log a second one. Its metrics and headers are kept.
	SkipLog func(*http.Request) bool
	// Logger receives the request lines; nil logs nothing.
	Logger *slog.Logger
	// Metrics receives the request latency; nil records none.
	Metrics *Metrics
	// Done, when set, is told each request's route class and status (MIRP's
	// certificate counters are derived from its routes this way).
	Done func(r *http.Request, route string, status int)
}

// Middleware wraps h so that every request gets one log line (method,
// route class, status, duration, request id, client request id, caller
// address), an x-ms-request-id (a new GUID, unless the handler sets its
// own, which is then the one logged), its x-ms-client-request-id echoed
// when it is a short token of safe characters, and a latency observation.
// It never logs headers, query strings, bodies or paths: the route class
// is the only trace of what was asked for.
func Middleware(o Options, h http.Handler) http.Handler {
	route := o.Route
	if route == nil {
		route = func(*http.Request) string { return "all" }
	}
	// The listener's name is formatted once, not on every line.
	logger := o.Logger
	if logger != nil {
		logger = logger.With(slog.String("service", o.Service))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		clientID := clientRequestID(r)
		rw := &responseWriter{ResponseWriter: w, clientID: clientID}
		w.Header().Set(headerRequestID, uuid.NewString())
		defer func() {
			// A handler that panics (http.ErrAbortHandler cuts a response
			// short) is logged too; the panic then goes on to net/http.
			p := recover()
			status := rw.status
			switch {
			case status == 0 && p != nil:
				status = http.StatusInternalServerError
			case status == 0:
				status = http.StatusOK
			}
			rc := route(r)
			elapsed := time.Since(start)
			if o.Metrics != nil {
				o.Metrics.httpDuration.WithLabelValues(o.Service, rc, code(status)).Observe(elapsed.Seconds())
			}
			if o.Done != nil {
				o.Done(r, rc, status)
			}
			if p != nil {
				defer panic(p)
			}
			if logger == nil || (o.SkipLog != nil && o.SkipLog(r)) {
				return
			}
			attrs := []slog.Attr{
				slog.String("method", method(r.Method)),
				slog.String("route", rc),
				slog.Int("status", status),
				slog.Duration("duration", elapsed),
				slog.String("request_id", boundedLabel(w.Header().Get(headerRequestID))),
				slog.String("caller", remoteHost(r.RemoteAddr)),
			}
			if clientID != "" {
				attrs = append(attrs, slog.String("client_request_id", clientID))
			}
			if p != nil {
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			// A record without a caller's PC: the source of this line is
			// always here, and finding it costs a stack walk per request.
			if h := logger.Handler(); h.Enabled(r.Context(), slog.LevelInfo) {
				rec := slog.NewRecord(time.Now(), slog.LevelInfo, "request", 0)
				rec.AddAttrs(attrs...)
				_ = h.Handle(r.Context(), rec)
			}
		}()
		h.ServeHTTP(rw, r)
	})
}

// clientRequestID is the client's x-ms-client-request-id when it is a
// GUID-like token (letters, digits, '-', '_', '.', at most 64 bytes); else
// "". Anything else is neither echoed nor logged: a header is attacker
// input.
func clientRequestID(r *http.Request) string {
	v := r.Header.Get(headerClientRequestID)
	if v == "" || len(v) > maxClientRequestID {
		return ""
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return ""
		}
	}
	return v
}

// method is r.Method when it is a standard one; a client may send any token.
func method(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}

func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// responseWriter remembers the status and applies the request-id policy
// when the headers go out, whatever the handler set: some parts echo the
// client's id under looser rules of their own.
type responseWriter struct {
	http.ResponseWriter
	clientID string
	status   int
}

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
		w.applyHeaders()
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
		w.applyHeaders()
	}
	return w.ResponseWriter.Write(b)
}

func (w *responseWriter) applyHeaders() {
	h := w.Header()
	if w.clientID != "" {
		h.Set(headerClientRequestID, w.clientID)
	} else {
		h.Del(headerClientRequestID)
	}
}

// Flush lets streaming handlers flush through the middleware.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
		w.applyHeaders()
	}
	http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap lets http.ResponseController reach the connection (read
// deadlines for uploads).
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
