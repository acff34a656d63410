// Package metrics owns Signet's operational telemetry: the Prometheus
// registry and its collectors, the request middleware every listener uses
// (one log line per request, x-ms-request-id, x-ms-client-request-id) and
// the operations endpoints /metrics, /healthz and /readyz.
//
// The domain packages know nothing of it. Everything is derived at the
// composition root by decorating the parts' own interfaces: the audit
// recorder (tokens issued and refused, data-plane operations, control-plane
// writes), the store (transaction latency), the RBAC authorizers of the
// control plane, Key Vault and Blob (decisions), the HTTP handlers (latency
// by service, route class and status; MIRP certificate issuance from its
// routes) and the agent's Stats. A decorator keeps the optional interfaces
// of what it wraps (store.GenerationNotifier,
// AccessAsync): hiding one would silently turn a part's feature off.
//
// The operations endpoints are plain HTTP on their own listener
// (server.Config.OpsAddr, dev default 127.0.0.1:8450; the agent's
// --ops-addr, default 127.0.0.1:41998), as Prometheus scrapes: nothing on
// them is secret, and they stay off the public API listeners.
//
// Labels are bounded: routes are classes, never raw paths (a secret's or
// blob's name can be sensitive and would make cardinality unbounded), and
// codes from the audit records are accepted only when they look like codes.
//
// It must not be imported by domain packages (sts, arm, secrets, blob, mirp,
// agent, …): only by the composition roots (internal/server, cmd/signet).
// The exposition format is Prometheus' text format, served by promhttp.
package metrics
