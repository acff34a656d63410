package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/signet-platform/signet/internal/keys"
	"github.com/signet-platform/signet/internal/metrics"
	"github.com/signet-platform/signet/internal/store"
)

// listenerOptions is the request middleware for the listener named name:
// its route classes, and what it logs itself.
func (r *Running) listenerOptions(name string) metrics.Options {
	o := metrics.Options{Service: name, Logger: r.logger, Metrics: r.Metrics}
	switch name {
	case "login":
		o.Route = metrics.LoginRoute
	case "management":
		o.Route = metrics.ManagementRoute
		// The control plane logs one line per request itself, with the
		// caller and the path; the console's requests are logged here.
		o.SkipLog = func(req *http.Request) bool { return !metrics.IsConsole(req) }
	case "identity provider":
		o.Route = metrics.MIRPRoute
		o.Done = r.Metrics.MIRPDone
	case "vault":
		o.Route = metrics.VaultRoute
	case "blob":
		o.Route = metrics.BlobRoute
	}
	return o
}

// agentMiddleware is the same middleware for the in-process dev agent's
// endpoints.
func (r *Running) agentMiddleware(endpoint string, h http.Handler) http.Handler {
	return r.Metrics.AgentMiddleware(r.logger)("agent "+endpoint, h)
}

// startOps serves /metrics, /healthz and /readyz on OpsAddr (if set) over
// plain HTTP. It is ready when the store answers a ping and a signing key is
// active: without either no token can be issued.
func (r *Running) startOps(cfg Config, st store.Store, km *keys.Manager) error {
	if cfg.OpsAddr == "" {
		return nil
	}
	ln, err := net.Listen("tcp", cfg.OpsAddr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.OpsAddr, err)
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil && !ap.Addr().Unmap().IsLoopback() {
		r.logger.Warn("the operations endpoint (metrics, health) is served over plain HTTP on a non-loopback address; keep it on an internal network",
			"addr", ln.Addr().String())
	}
	r.OpsURL = "http://" + ln.Addr().String()
	ops := metrics.Ops{
		Metrics: r.Metrics,
		Ready:   readiness(st, km),
		Logger:  r.logger,
	}
	srv := &http.Server{
		Handler:           metrics.Middleware(metrics.Options{Service: "ops", Route: opsRoute, Metrics: r.Metrics}, ops.Handler()),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    16 << 10,
	}
	r.servers = append(r.servers, srv)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.errc <- fmt.Errorf("operations listener: %w", err)
		}
	}()
	return nil
}

// readiness is /readyz's check. Its messages are served, so they name the
// failing dependency and leave the cause to the log.
func readiness(st store.Store, km *keys.Manager) func(context.Context) error {
	return func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			return &metrics.NotReady{Reason: "store unreachable", Cause: err}
		}
		if km.ActiveKID() == "" {
			return &metrics.NotReady{Reason: "no active signing key"}
		}
		return nil
	}
}

// opsRoute classifies the operations endpoint's own requests (scrapes are
// not logged: one line every few seconds per scraper says nothing).
func opsRoute(req *http.Request) string {
	switch p := req.URL.Path; p {
	case "/metrics", "/healthz", "/readyz":
		return p[1:]
	}
	return "other"
}
