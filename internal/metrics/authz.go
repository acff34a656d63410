package metrics

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/signet-platform/signet/internal/authz"
)

// Decider is what the control plane and the Blob data plane ask RBAC;
// *authz.Authorizer is one.
type Decider interface {
	Decide(ctx context.Context, req authz.Request) (authz.Decision, error)
}

// Authorizer counts the decisions of the Decider it wraps for one service.
type Authorizer struct {
	next        Decider
	allow, deny prometheus.Counter // resolved once: a label lookup per decision is as dear as a cached decision
}

// Authorizer decorates next; service labels its decisions ("management",
// "blob").
func (m *Metrics) Authorizer(service string, next Decider) *Authorizer {
	return &Authorizer{next: next,
		allow: m.rbac.WithLabelValues(service, "allow"), deny: m.rbac.WithLabelValues(service, "deny")}
}

// Decide asks the wrapped Decider and counts the answer. An error is no
// decision and is not counted: the caller refuses the request with a 500.
func (a *Authorizer) Decide(ctx context.Context, req authz.Request) (authz.Decision, error) {
	d, err := a.next.Decide(ctx, req)
	if err != nil {
		return d, err
	}
	if d.Allowed {
		a.allow.Inc()
	} else {
		a.deny.Inc()
	}
	return d, nil
}
