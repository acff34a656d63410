package metrics

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// readyTimeout bounds one readiness check: a store that does not answer
// within it is not ready.
const readyTimeout = 2 * time.Second

// Ops is the operations endpoint: GET /metrics (Prometheus), GET /healthz
// (the process serves) and GET /readyz (it can do its work). It is served
// on its own listener, never on a public API listener's namespace.
type Ops struct {
	// Metrics is served at /metrics; nil: 404.
	Metrics *Metrics
	// Ready reports what keeps the process from serving; nil: always
	// ready. A *NotReady's Reason is the response body; the whole error,
	// cause included, goes only to the log.
	Ready func(ctx context.Context) error
	// Logger receives readiness failures; nil: none.
	Logger *slog.Logger
}

// Handler serves the three endpoints.
func (o Ops) Handler() http.Handler {
	mux := http.NewServeMux()
	if o.Metrics != nil {
		mux.Handle("GET /metrics", o.Metrics.Handler())
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if o.Ready != nil {
			ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
			defer cancel()
			if err := o.Ready(ctx); err != nil {
				if o.Logger != nil {
					o.Logger.Warn("not ready", "err", err)
				}
				reason := "not ready"
				if nr, ok := errors.AsType[*NotReady](err); ok {
					reason += ": " + nr.Reason
				}
				writeText(w, http.StatusServiceUnavailable, reason)
				return
			}
		}
		writeText(w, http.StatusOK, "ok")
	})
	return mux
}

// NotReady is a readiness failure: Reason names the failing dependency and
// is served; Cause is only logged (a driver's error may name hosts).
type NotReady struct {
	Reason string
	Cause  error
}

func (e *NotReady) Error() string {
	if e.Cause != nil {
		return e.Reason + ": " + e.Cause.Error()
	}
	return e.Reason
}

func (e *NotReady) Unwrap() error { return e.Cause }

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}

// MIRPDone counts MIRP's certificate requests from its routes: enroll and
// renew issue node certificates, …/identities/{clientId}/certificate
// issues (or re-issues, at half-life) an identity certificate. Use it as
// the identity provider listener's Options.Done.
func (m *Metrics) MIRPDone(r *http.Request, route string, status int) {
	if r.Method != http.MethodPost {
		return
	}
	var kind, op string
	switch route {
	case "enroll":
		kind, op = "node", "enroll"
	case "renew":
		kind, op = "node", "renew"
	case "certificate":
		kind, op = "identity", "issue"
	default:
		return
	}
	result := "issued"
	if status != http.StatusOK {
		result = "failed"
	}
	m.certificates.WithLabelValues(kind, op, result).Inc()
}
