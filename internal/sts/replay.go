package sts

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

const (
	// maxMarkBatch bounds one replay-marker transaction, so one commit
	// never holds the write lock for long.
	maxMarkBatch = 256
	// markTimeout bounds one replay-marker commit. It is the writer's, not
	// a caller's: a caller that goes away must not fail its neighbours.
	markTimeout = 10 * time.Second
)

// markRequest is one assertion waiting for its replay marker. done has
// room for one result, so the writer never blocks on a caller that
// stopped waiting.
type markRequest struct {
	issuer, jti string
	expires     time.Time
	done        chan error
}

// replayMarker records assertion replay markers (RFC 7523 §3, jti) with
// group commit: callers queue their marker and wait, and one writer marks
// everything queued in a single Store.Write, giving each caller its own
// answer. Under load a token costs a share of one write transaction
// instead of a whole one. The writer goroutine runs only while there is
// work, so there is nothing to start or stop. The zero value is ready.
type replayMarker struct {
	mu      sync.Mutex
	queue   []*markRequest
	running bool
}

// mark records (issuer, jti) until expires. It returns an error wrapping
// store.ErrConflict when the assertion was already presented (by an
// earlier request, or by another in the same batch), the Write's error
// when the batch could not be committed, and ctx's error when ctx ends
// first (the marker may still be committed: the assertion is then spent
// without a token, as it would be had the client hung up a moment later).
func (m *replayMarker) mark(ctx context.Context, st store.Store, issuer, jti string, expires time.Time) error {
	req := &markRequest{issuer: issuer, jti: jti, expires: expires, done: make(chan error, 1)}
	m.mu.Lock()
	m.queue = append(m.queue, req)
	if !m.running {
		m.running = true
		go m.run(st)
	}
	m.mu.Unlock()
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run commits batches until the queue is empty, then exits. Everything
// queued while a commit runs goes into the next one.
func (m *replayMarker) run(st store.Store) {
	for {
		m.mu.Lock()
		n := min(len(m.queue), maxMarkBatch)
		if n == 0 {
			m.running = false
			m.queue = nil // drop the backing array a burst grew
			m.mu.Unlock()
			return
		}
		batch := m.queue[:n:n]
		m.queue = m.queue[n:]
		m.mu.Unlock()
		commitMarks(st, batch)
	}
}

// commitMarks marks a batch in one write transaction. A replay is that
// caller's answer only: MarkAssertionUsed leaves the transaction usable
// after ErrConflict, so the rest of the batch commits. Any other error
// rolls the whole batch back, and every caller gets it.
func commitMarks(st store.Store, batch []*markRequest) {
	ctx, cancel := context.WithTimeout(context.Background(), markTimeout)
	defer cancel()
	results := make([]error, len(batch))
	err := st.Write(ctx, func(tx store.Tx) error {
		clear(results) // Write may run fn again after a retryable failure
		for i, r := range batch {
			err := tx.MarkAssertionUsed(r.issuer, r.jti, r.expires)
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return err
			}
			results[i] = err
		}
		return nil
	})
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- results[i]
		}
	}
}
