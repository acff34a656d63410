package metrics

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signet-platform/signet/internal/agent/host"
)

// agentCollector reads a running agent's counters at scrape time: the
// agent keeps its own atomics (agent.Cache.Stats), so nothing is counted
// twice and the agent's packages stay ignorant of Prometheus.
type agentCollector struct {
	stats func() host.Stats

	hits, misses, fetches, refreshes, failures *prometheus.Desc
	syncFailures, lastSync, identities, apps   *prometheus.Desc
}

// RegisterAgent adds a host agent's counters to the registry; stats is
// called once per scrape.
func (m *Metrics) RegisterAgent(stats func() host.Stats) error {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return m.reg.Register(&agentCollector{
		stats:        stats,
		hits:         d("signet_agent_token_cache_hits_total", "Token requests the agent served from its cache."),
		misses:       d("signet_agent_token_cache_misses_total", "Token requests that waited for a fetch from the STS."),
		fetches:      d("signet_agent_token_cache_fetches_total", "Fetches from the STS started for misses (concurrent misses share one)."),
		refreshes:    d("signet_agent_token_cache_refreshes_total", "Background token refreshes that succeeded."),
		failures:     d("signet_agent_token_cache_failures_total", "Token fetches and refreshes that failed."),
		syncFailures: d("signet_agent_sync_failures_total", "Identity syncs with MIRP that failed."),
		lastSync:     d("signet_agent_last_sync_timestamp_seconds", "When MIRP last answered a sync in full (0: not yet)."),
		identities:   d("signet_agent_host_identities", "Identities the host's own endpoints (IMDS, Arc) may use."),
		apps:         d("signet_agent_apps", "Apps placed on this host."),
	})
}

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.hits, c.misses, c.fetches, c.refreshes, c.failures,
		c.syncFailures, c.lastSync, c.identities, c.apps} {
		ch <- d
	}
}

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stats()
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge := func(d *prometheus.Desc, v float64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v)
	}
	counter(c.hits, s.Cache.Hits)
	counter(c.misses, s.Cache.Misses)
	counter(c.fetches, s.Cache.Fetches)
	counter(c.refreshes, s.Cache.Refreshes)
	counter(c.failures, s.Cache.Failures)
	counter(c.syncFailures, s.SyncFailures)
	last := 0.0
	if !s.LastSync.IsZero() {
		last = float64(s.LastSync.UnixNano()) / 1e9
	}
	gauge(c.lastSync, last)
	gauge(c.identities, float64(s.HostIdentities))
	gauge(c.apps, float64(s.Apps))
}

// AgentHandler registers a host agent's counters and returns /metrics; it
// is host.Config.Metrics' shape. It panics when called twice on one
// registry, as registering a collector twice is a wiring mistake.
func (m *Metrics) AgentHandler(stats func() host.Stats) http.Handler {
	if err := m.RegisterAgent(stats); err != nil {
		panic(err)
	}
	return m.Handler()
}

// AgentMiddleware returns host.Config.Middleware: the request middleware
// on each agent endpoint, with the agent's route classes. Scrapes of the
// operations endpoint are measured, not logged.
func (m *Metrics) AgentMiddleware(log *slog.Logger) func(endpoint string, h http.Handler) http.Handler {
	return func(endpoint string, h http.Handler) http.Handler {
		o := Options{Service: endpoint, Route: AgentRoute, Logger: log, Metrics: m}
		if endpoint == "ops" {
			o.Logger = nil
		}
		return Middleware(o, h)
	}
}
