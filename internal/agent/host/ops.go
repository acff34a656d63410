package host

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// opsHandler serves the monitoring endpoints: /healthz (the process
// serves), /readyz (Ready) and, when the composition gives one, /metrics.
func (a *Agent) opsHandler(metrics func(stats func() Stats) http.Handler) http.Handler {
	mux := http.NewServeMux()
	if metrics != nil {
		mux.Handle("GET /metrics", metrics(a.Stats))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := a.Ready(); err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		writeText(w, http.StatusOK, "ok")
	})
	return mux
}

// Ready reports why the agent cannot be trusted to serve current
// identities: it is not enrolled, or MIRP has not answered a sync within
// ReadyWithin (MIRP unreachable, or the node was removed). Workloads may
// still get tokens for the identities on disk meanwhile.
func (a *Agent) Ready() error {
	if a.enroll.NodeID() == "" {
		return errors.New("not enrolled")
	}
	n := a.lastSync.Load()
	if n == 0 {
		return errors.New("no sync with MIRP has succeeded yet")
	}
	if age := time.Since(time.Unix(0, n)); age > a.readyWithin {
		return fmt.Errorf("last good sync with MIRP was %s ago", age.Round(time.Second))
	}
	return nil
}

func writeText(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body + "\n"))
}
