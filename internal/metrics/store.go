package metrics

import (
	"context"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Store times every transaction of the store it wraps. Transactions are
// measured whole (begin to commit, retries included): that is the latency
// the parts see.
type Store struct {
	store.Store
	m *Metrics
}

// Store decorates st. What st offers beyond store.Store is kept: a
// store.GenerationNotifier stays one, or the caches that rely on hearing of
// this process's own writes at once would serve stale answers.
func (m *Metrics) Store(st store.Store) store.Store {
	s := &Store{Store: st, m: m}
	if n, ok := st.(store.GenerationNotifier); ok {
		return &notifyingStore{Store: s, n: n}
	}
	return s
}

// Unwrap returns the store without its metrics (for a benchmark's
// metrics-off configuration).
func (s *Store) Unwrap() store.Store { return s.Store }

// notifyingStore is a Store over a store.GenerationNotifier.
type notifyingStore struct {
	*Store
	n store.GenerationNotifier
}

// NotifyGenerations subscribes to the wrapped store's commit notices.
func (s *notifyingStore) NotifyGenerations(fn func(map[store.Generation]int64)) (cancel func()) {
	return s.n.NotifyGenerations(fn)
}

// Read runs fn in a read transaction of the wrapped store.
func (s *Store) Read(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	err := s.Store.Read(ctx, fn)
	s.observe("read", start, err)
	return err
}

// Write runs fn in a write transaction of the wrapped store.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	start := time.Now()
	err := s.Store.Write(ctx, fn)
	s.observe("write", start, err)
	return err
}

func (s *Store) observe(kind string, start time.Time, err error) {
	// "error" includes fn's own refusals (not found, conflict): the
	// latency of a transaction that answered no is still the store's.
	result := "ok"
	if err != nil {
		result = "error"
	}
	s.m.storeDuration.WithLabelValues(kind, result).Observe(time.Since(start).Seconds())
}
