package metrics

import (
	"net/http"
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/signet-platform/signet/internal/store"
)

// Metrics is one process's registry and the collectors the decorators feed.
// Build it with New; it is safe for concurrent use. A nil *Metrics is valid
// wherever the middleware takes one and records nothing.
type Metrics struct {
	reg *prometheus.Registry

	httpDuration *prometheus.HistogramVec // service, route, code

	tokens       *prometheus.CounterVec // result, reason
	dataPlane    *prometheus.CounterVec // service, action, result, code
	controlPlane *prometheus.CounterVec // result, code
	auditFailed  *prometheus.CounterVec // stream

	storeDuration *prometheus.HistogramVec // kind, result
	rbac          *prometheus.CounterVec   // service, decision
	certificates  *prometheus.CounterVec   // kind, operation, result

	// dataPlaneByKey holds dataPlane's counters by their record fields: a
	// data-plane read is counted on the hot path, where resolving four
	// labels costs more than the rest of the counting. It holds one entry
	// per series, so it is as bounded as the series are.
	dataPlaneByKey sync.Map // dataPlaneKey → prometheus.Counter
}

type dataPlaneKey struct {
	service, action, result string
	status                  int
}

// dataPlaneCounter is the data-plane counter of rec's series.
func (m *Metrics) dataPlaneCounter(rec store.Access) prometheus.Counter {
	// Keyed by the labels (an out-of-range status as 0), so the cache has
	// one entry per series and grows no further than they do.
	status := rec.Status
	if status < 100 || status > 999 { // code's "other"
		status = 0
	}
	k := dataPlaneKey{boundedLabel(rec.Service), boundedLabel(rec.Action), boundedLabel(rec.Result), status}
	if c, ok := m.dataPlaneByKey.Load(k); ok {
		return c.(prometheus.Counter)
	}
	c := m.dataPlane.WithLabelValues(k.service, k.action, k.result, code(status))
	m.dataPlaneByKey.Store(k, c)
	return c
}

// latencyBuckets span a cached token (well under a millisecond) to a slow
// store commit or blob transfer.
var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// New builds a registry with Signet's collectors and the Go runtime and
// process collectors.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "signet_http_request_duration_seconds",
			Help:    "Time to serve a request, by listener, route class and status (the token endpoint is service=\"login\",route=\"token\").",
			Buckets: latencyBuckets,
		}, []string{"service", "route", "code"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_sts_tokens_total",
			Help: "Token requests the STS answered and recorded, by result (success, failure) and refusal reason (the AADSTS code).",
		}, []string{"result", "reason"}),
		dataPlane: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_dataplane_operations_total",
			Help: "Key Vault and Blob operations, by service, data action, result and HTTP status.",
		}, []string{"service", "action", "result", "code"}),
		controlPlane: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_controlplane_writes_total",
			Help: "Control-plane writes recorded in the activity log, by result and HTTP status.",
		}, []string{"result", "code"}),
		auditFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_audit_record_failures_total",
			Help: "Audit records that could not be committed, by stream (signIns, activity, access).",
		}, []string{"stream"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "signet_store_transaction_duration_seconds",
			Help:    "Store transaction latency, by kind (read, write) and result (ok, error).",
			Buckets: latencyBuckets,
		}, []string{"kind", "result"}),
		rbac: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_rbac_decisions_total",
			Help: "RBAC decisions, by service and decision (allow, deny). Lists filtered by permission count one decision per item.",
		}, []string{"service", "decision"}),
		certificates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "signet_mirp_certificates_total",
			Help: "MIRP certificate requests, by kind (node, identity), operation (enroll, renew, issue) and result (issued, failed).",
		}, []string{"kind", "operation", "result"}),
	}
	m.reg.MustRegister(
		m.httpDuration, m.tokens, m.dataPlane, m.controlPlane, m.auditFailed,
		m.storeDuration, m.rbac, m.certificates,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return m
}

// Registry is the registry, for collectors the composition root adds and
// for tests that gather.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// code is an HTTP status as a label.
func code(status int) string {
	if status < 100 || status > 999 {
		return "other"
	}
	return strconv.Itoa(status)
}

// boundedLabel keeps a value that came from a record only when it looks
// like a code or an action ([A-Za-z0-9._/-], at most 128 bytes), so no
// caller can grow the label space or smuggle text into it.
func boundedLabel(v string) string {
	if len(v) > 128 {
		return "other"
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '/' || c == '-') {
			return "other"
		}
	}
	return v
}
