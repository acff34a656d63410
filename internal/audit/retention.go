package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Retention is how long each audit stream keeps its records. Zero keeps a
// stream's records forever.
type Retention struct {
	SignIns  time.Duration
	Activity time.Duration
	Access   time.Duration
}

func (r Retention) of(s store.AuditStream) time.Duration {
	switch s {
	case store.StreamSignIns:
		return r.SignIns
	case store.StreamActivity:
		return r.Activity
	case store.StreamAccess:
		return r.Access
	}
	return 0
}

// IsZero reports whether every stream is kept forever.
func (r Retention) IsZero() bool { return r == Retention{} }

const (
	defaultPruneInterval = time.Hour
	// defaultPruneBatch bounds one prune transaction, so retention never
	// holds the write lock long enough to stall the recorder.
	defaultPruneBatch = 5000
)

// Pruner enforces Retention: it deletes each stream's records older than
// its retention, oldest first, in bounded transactions. The store keeps a
// checkpoint of the last record deleted, so the hash chain still verifies
// afterwards; and it refuses to delete records that do not verify, so
// pruning cannot erase the evidence of tampering (the pruner logs that and
// leaves the stream alone). Build it with a struct literal.
type Pruner struct {
	Store     store.Store
	Retention Retention
	// Interval between runs; 0 means an hour.
	Interval time.Duration
	// Batch bounds the records one transaction deletes; 0 means 5000.
	Batch  int
	Logger *slog.Logger
	Now    func() time.Time
}

// Run prunes at once and then every Interval until ctx ends.
func (p *Pruner) Run(ctx context.Context) {
	if p.Retention.IsZero() {
		return
	}
	interval := p.Interval
	if interval <= 0 {
		interval = defaultPruneInterval
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := p.PruneOnce(ctx); err != nil && ctx.Err() == nil {
			p.logger().Error("audit retention", slog.String("cause", err.Error()))
		}
		t.Reset(interval)
	}
}

// PruneOnce deletes every stream's expired records and returns how many
// it deleted per stream. A stream that fails does not stop the others; the
// errors are joined.
func (p *Pruner) PruneOnce(ctx context.Context) (map[store.AuditStream]int, error) {
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	batch := p.Batch
	if batch <= 0 {
		batch = defaultPruneBatch
	}
	deleted := map[store.AuditStream]int{}
	var errs []error
	for _, stream := range store.AuditStreams {
		keep := p.Retention.of(stream)
		if keep <= 0 {
			continue
		}
		before := now().Add(-keep)
		for {
			var n int
			err := p.Store.Write(ctx, func(tx store.Tx) error {
				var err error
				n, err = tx.PruneAudit(stream, before, batch)
				return err
			})
			if err != nil {
				errs = append(errs, fmt.Errorf("audit: prune %s: %w", stream, err))
				break
			}
			deleted[stream] += n
			if n < batch {
				break
			}
		}
		if deleted[stream] > 0 {
			p.logger().Info("audit records past retention deleted",
				slog.String("stream", string(stream)), slog.Int("records", deleted[stream]),
				slog.Time("before", before))
		}
	}
	return deleted, errors.Join(errs...)
}

func (p *Pruner) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}
