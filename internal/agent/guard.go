package agent

import (
	"errors"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// SourceFilter admits requests by their source address: loopback always,
// and any address in Allowed (e.g. a container bridge network, or the
// host's own address when IMDS is bound to 169.254.169.254).
type SourceFilter struct {
	Allowed []netip.Prefix
}

// admit reports whether the request's peer may use the endpoint.
func (f *SourceFilter) admit(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return false // not a TCP peer we can reason about
	}
	a := ap.Addr().Unmap()
	if a.IsLoopback() {
		return true
	}
	for _, p := range f.Allowed {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// proxied reports whether a request carries any header a proxy adds. A
// workload's own SDK never sends them; a request that has one was relayed,
// which is how SSRF reaches a metadata endpoint.
func proxied(r *http.Request) bool {
	h := r.Header
	return len(h["X-Forwarded-For"]) > 0 || len(h["Forwarded"]) > 0 || len(h["Via"]) > 0
}

// metadataHeader reports whether the request carries "Metadata: true",
// exactly, as IMDS requires (lower-case value, reference §1.1).
func metadataHeader(r *http.Request) bool {
	v := r.Header["Metadata"]
	return len(v) == 1 && v[0] == "true"
}

// RateLimit is Azure's managed-identity limit: 20 requests per second and 5
// concurrent requests per host (reference §1.3). Over it, 429 with
// Retry-After. The zero value is not usable; use NewRateLimit.
type RateLimit struct {
	perSecond  float64
	burst      float64
	concurrent chan struct{}

	mu     sync.Mutex
	tokens float64
	last   time.Time
}

// NewRateLimit returns a limiter allowing perSecond requests per second
// (burst of the same size) and at most concurrent at once.
func NewRateLimit(perSecond, concurrent int) *RateLimit {
	return &RateLimit{
		perSecond: float64(perSecond), burst: float64(perSecond),
		tokens: float64(perSecond), concurrent: make(chan struct{}, concurrent),
	}
}

// AzureRateLimit returns Azure's limits: 20/s, 5 concurrent.
func AzureRateLimit() *RateLimit { return NewRateLimit(20, 5) }

// acquire admits a request or refuses it; release must follow an admit.
func (l *RateLimit) acquire(now time.Time) bool {
	l.mu.Lock()
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.perSecond)
	}
	l.last = now
	ok := l.tokens >= 1
	if ok {
		l.tokens--
	}
	l.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case l.concurrent <- struct{}{}:
		return true
	default:
		return false
	}
}

func (l *RateLimit) release() { <-l.concurrent }

// tokenError maps a TokenSource error for a client. An STS refusal is the
// identity's problem and final: 400 with the STS's code and text. Anything
// else is transient: 503 (which every SDK retries), never 404.
func tokenError(err error) *httpError {
	var rej *RejectedError
	if errors.As(err, &rej) {
		return &httpError{status: http.StatusBadRequest, code: rej.Code,
			msg: "The token service refused the request: " + rej.Description, cause: err}
	}
	if errors.Is(err, errNoCredential) {
		return &httpError{status: http.StatusServiceUnavailable, code: "credential_not_ready",
			msg:        "The agent has not yet been issued a credential for this identity; retry later",
			retryAfter: 5, cause: err}
	}
	return &httpError{status: http.StatusServiceUnavailable, code: "token_service_unavailable",
		msg: "No usable token is cached for this identity and resource and the token service " +
			"could not be reached; retry later",
		retryAfter: 5, cause: err}
}
