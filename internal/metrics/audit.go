package metrics

import (
	"context"
	"errors"

	"github.com/signet-platform/signet/internal/store"
)

// AuditRecorder is everything the audit recorder does for the parts: the
// sign-in (STS), activity (control plane) and access (data planes) streams.
// *audit.Recorder is one.
type AuditRecorder interface {
	SignIn(ctx context.Context, rec store.SignIn) error
	StartSignIn(ctx context.Context, rec store.SignIn, use *store.AssertionUse) (wait func(context.Context) error)
	Activity(ctx context.Context, rec store.Activity) error
	Access(ctx context.Context, rec store.Access) error
}

// Recorder counts what passes through an AuditRecorder. Every token the STS
// answers, every control-plane write and every data-plane operation is
// recorded exactly once, so the records are the one place to count them
// without the parts knowing about metrics. A record is counted once it is
// committed: a request whose record failed was refused (or, for a write,
// is reported in signet_audit_record_failures_total).
type Recorder struct {
	next AuditRecorder
	m    *Metrics
}

// Recorder decorates next.
func (m *Metrics) Recorder(next AuditRecorder) *Recorder { return &Recorder{next: next, m: m} }

// SignIn records rec and counts the token request by result and reason.
func (r *Recorder) SignIn(ctx context.Context, rec store.SignIn) error {
	if err := r.next.SignIn(ctx, rec); err != nil {
		r.m.auditFailed.WithLabelValues("signIns").Inc()
		return err
	}
	r.m.tokens.WithLabelValues(boundedLabel(rec.Result), boundedLabel(rec.ErrorCode)).Inc()
	return nil
}

// StartSignIn queues rec (and marks use) and counts the token request once
// its wait reports the commit. A replayed assertion writes nothing and is
// not counted here: the STS records (and so counts) the refusal.
func (r *Recorder) StartSignIn(ctx context.Context, rec store.SignIn, use *store.AssertionUse) func(context.Context) error {
	wait := r.next.StartSignIn(ctx, rec, use)
	return func(ctx context.Context) error {
		err := wait(ctx)
		switch {
		case errors.Is(err, store.ErrConflict):
			return err
		case err != nil:
			r.m.auditFailed.WithLabelValues("signIns").Inc()
			return err
		}
		r.m.tokens.WithLabelValues(boundedLabel(rec.Result), boundedLabel(rec.ErrorCode)).Inc()
		return nil
	}
}

// Activity records rec and counts the control-plane write.
func (r *Recorder) Activity(ctx context.Context, rec store.Activity) error {
	if err := r.next.Activity(ctx, rec); err != nil {
		r.m.auditFailed.WithLabelValues("activity").Inc()
		return err
	}
	r.m.controlPlane.WithLabelValues(boundedLabel(rec.Result), code(rec.Status)).Inc()
	return nil
}

// Access records rec and counts the data-plane operation.
func (r *Recorder) Access(ctx context.Context, rec store.Access) error {
	if err := r.next.Access(ctx, rec); err != nil {
		r.m.auditFailed.WithLabelValues("access").Inc()
		return err
	}
	r.m.dataPlaneCounter(rec).Inc()
	return nil
}

// asyncAccess is a recorder that can queue an access record without waiting
// for its commit (*audit.Recorder's AccessAsync).
type asyncAccess interface {
	AccessAsync(rec store.Access) error
}

// AccessAsync queues rec without waiting for its commit when the wrapped
// recorder can, and counts it once queued; otherwise it records it as
// Access does.
func (r *Recorder) AccessAsync(rec store.Access) error {
	a, ok := r.next.(asyncAccess)
	if !ok {
		return r.Access(context.Background(), rec)
	}
	if err := a.AccessAsync(rec); err != nil {
		r.m.auditFailed.WithLabelValues("access").Inc()
		return err
	}
	r.m.dataPlaneCounter(rec).Inc()
	return nil
}
