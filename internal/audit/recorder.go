package audit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/store"
)

// ErrClosed is returned for records offered after Close.
var ErrClosed = errors.New("audit: recorder closed")

const (
	// queueSize bounds how many records may wait for the writer before
	// callers block.
	queueSize = 4096
	// maxBatch bounds one transaction, so one commit never holds the write
	// lock for long and a failure touches a bounded number of callers.
	maxBatch = 1024
	// writeTimeout bounds one commit; waiters get its error when it passes.
	writeTimeout = 30 * time.Second
	// asyncLinger is how long a batch of records nobody waits for
	// (AccessAsync) may wait for company before it commits. Under a read
	// load one commit then carries hundreds of records instead of a few, so
	// the pages every commit rewrites (each index's rightmost leaf, the
	// stream head) are written once per batch, not once per handful. A
	// record someone waits for ends the wait at once.
	asyncLinger = 5 * time.Millisecond
)

// request is one record waiting to be committed. At most one of signIn,
// activity and access is set (none: a Flush marker). done has room for one result so the writer never blocks
// on a caller that stopped waiting; it is nil for a record nobody waits on
// (AccessAsync).
type request struct {
	signIn   *store.SignIn
	activity *store.Activity
	access   *store.Access
	done     chan error

	// use, with signIn, is an assertion to mark used in the same
	// transaction; replayed is set (by the transaction) when it was already
	// used, and signIn is then not written.
	use      *store.AssertionUse
	replayed error
}

// Recorder commits audit records with group commit. Build it with
// NewRecorder; it is safe for concurrent use.
type Recorder struct {
	st     store.Store
	logger *slog.Logger
	now    func() time.Time

	queue chan *request
	// nudge ends a linger early (see linger).
	nudge chan struct{}
	// lingerFor is asyncLinger; tests lengthen it.
	lingerFor time.Duration

	// mu makes enqueueing and closing mutually exclusive: senders hold it
	// shared while they send, Close holds it exclusively to set closed, so
	// no record can slip into the queue after the writer's final drain.
	mu     sync.RWMutex
	closed bool

	stop     chan struct{} // closed by Close: drain and exit
	finished chan struct{} // closed by the writer when it has exited
	once     sync.Once
}

// newID is a record's ID: a UUIDv7 (RFC 9562 §5.7), which begins with its
// millisecond time, so the stores' unique index on IDs grows at its end
// like the logs themselves instead of taking a random page per record.
func newID() string {
	return uuid.Must(uuid.NewV7()).String() // crypto/rand does not fail
}

// NewRecorder starts a recorder writing to st. Call Close to flush and stop it.
func NewRecorder(st store.Store, logger *slog.Logger) *Recorder {
	return newRecorder(st, logger, queueSize)
}

func newRecorder(st store.Store, logger *slog.Logger, queueSize int) *Recorder {
	if logger == nil {
		logger = slog.Default()
	}
	r := &Recorder{
		st:        st,
		logger:    logger,
		now:       time.Now,
		queue:     make(chan *request, queueSize),
		nudge:     make(chan struct{}, 1),
		lingerFor: asyncLinger,
		stop:      make(chan struct{}),
		finished:  make(chan struct{}),
	}
	go r.run()
	return r
}

// SignIn records a token request and returns once it is committed. It fills
// in ID and Time when they are empty. If ctx ends first it returns ctx's
// error; the record may still be committed later, but it was not
// acknowledged.
func (r *Recorder) SignIn(ctx context.Context, rec store.SignIn) error {
	if rec.ID == "" {
		rec.ID = newID()
	}
	if rec.Time.IsZero() {
		rec.Time = r.now().UTC()
	}
	return r.submit(ctx, &request{signIn: &rec, done: make(chan error, 1)})
}

// StartSignIn queues rec for commit and returns at once, so the caller can
// do its own work (sign the token) while the record commits; wait returns
// once it has committed, with the same rules as SignIn. When the queue is
// full, StartSignIn waits for room until ctx ends; wait then returns ctx's
// error. When use is not
// nil the assertion is marked used in the same transaction: if it was
// already used, rec is not written and wait returns an error wrapping
// store.ErrConflict, so a token is recorded if and only if its assertion
// was spent on it. Call wait exactly once.
func (r *Recorder) StartSignIn(ctx context.Context, rec store.SignIn, use *store.AssertionUse) (wait func(context.Context) error) {
	if rec.ID == "" {
		rec.ID = newID()
	}
	if rec.Time.IsZero() {
		rec.Time = r.now().UTC()
	}
	req := &request{signIn: &rec, use: use, done: make(chan error, 1)}
	if err := r.enqueue(ctx, req); err != nil {
		return func(context.Context) error { return err }
	}
	return func(ctx context.Context) error { return r.await(ctx, req) }
}

// Activity records a control-plane write and returns once it is committed,
// with the same rules as SignIn.
func (r *Recorder) Activity(ctx context.Context, rec store.Activity) error {
	if rec.ID == "" {
		rec.ID = newID()
	}
	if rec.Time.IsZero() {
		rec.Time = r.now().UTC()
	}
	return r.submit(ctx, &request{activity: &rec, done: make(chan error, 1)})
}

// Access records one data-plane operation (a secret or blob touched, or a
// request refused); it returns once the record is committed.
func (r *Recorder) Access(ctx context.Context, rec store.Access) error {
	if rec.ID == "" {
		rec.ID = newID()
	}
	if rec.Time.IsZero() {
		rec.Time = r.now().UTC()
	}
	return r.submit(ctx, &request{access: &rec, done: make(chan error, 1)})
}

// AccessAsync queues a data-access record for the same group-commit writer
// and returns without waiting for its commit, so a read's response does not
// wait on a write transaction. It never drops a record: when the queue is
// full it blocks until the writer makes room (backpressure on the callers
// that outrun the commits). Close commits every queued record. What it
// gives up is the acknowledgement: a crash in the milliseconds before the
// batch commits loses the record, and a commit that fails is logged, not
// reported to the caller. It returns ErrClosed after Close.
func (r *Recorder) AccessAsync(rec store.Access) error {
	if rec.ID == "" {
		rec.ID = newID()
	}
	if rec.Time.IsZero() {
		rec.Time = r.now().UTC()
	}
	// No done channel: nobody waits. Background, so a caller that goes
	// away still gets its record queued.
	return r.enqueue(context.Background(), &request{access: &rec})
}

// Flush returns once every record queued before it (AccessAsync's
// included) has been through its commit, for callers that must read their
// own log (tests). A failed commit is logged, as for AccessAsync; Flush
// reports only its own.
func (r *Recorder) Flush(ctx context.Context) error {
	// A request with no record: batches commit in queue order, so its
	// reply comes after every record queued ahead of it.
	return r.submit(ctx, &request{done: make(chan error, 1)})
}

func (r *Recorder) submit(ctx context.Context, req *request) error {
	if err := r.enqueue(ctx, req); err != nil {
		return err
	}
	return r.await(ctx, req)
}

// await waits for req's commit.
func (r *Recorder) await(ctx context.Context, req *request) error {
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("audit: waiting for commit: %w", context.Cause(ctx))
	}
}

func (r *Recorder) enqueue(ctx context.Context, req *request) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.closed {
		return ErrClosed
	}
	// The writer keeps draining until closed is set, and Close cannot set it
	// while we hold the read lock, so this send always makes progress.
	select {
	case r.queue <- req:
	case <-ctx.Done():
		return fmt.Errorf("audit: queue full: %w", context.Cause(ctx))
	}
	if req.done != nil || len(r.queue) >= cap(r.queue)/2 {
		// End a linger now: someone waits, or the queue should drain
		// before it makes callers wait. A nudge left over when nobody
		// lingers only ends the next linger early.
		select {
		case r.nudge <- struct{}{}:
		default:
		}
	}
	return nil
}

// Close stops accepting records, commits every record already queued, waits
// for the writer to finish and returns. It is safe to call more than once.
func (r *Recorder) Close() error {
	r.once.Do(func() {
		r.mu.Lock()
		r.closed = true
		r.mu.Unlock()
		close(r.stop)
	})
	<-r.finished
	return nil
}

// run is the single writer.
func (r *Recorder) run() {
	defer close(r.finished)
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case req := <-r.queue:
			batch = r.fill(append(batch[:0], req))
			if !awaited(batch) {
				batch = r.linger(batch)
			}
			r.commit(batch)
		case <-r.stop:
			// closed is set, so nothing new arrives: commit what is left.
			for len(r.queue) > 0 {
				batch = r.fill(batch[:0])
				r.commit(batch)
			}
			return
		}
	}
}

// fill takes whatever is already queued, up to maxBatch, without waiting:
// batches grow exactly as fast as callers outrun the commits.
func (r *Recorder) fill(batch []*request) []*request {
	for len(batch) < maxBatch {
		select {
		case req := <-r.queue:
			batch = append(batch, req)
		default:
			return batch
		}
	}
	return batch
}

// awaited reports whether anyone waits for a record of batch.
func awaited(batch []*request) bool {
	for _, req := range batch {
		if req.done != nil {
			return true
		}
	}
	return false
}

// linger lets a batch nobody waits for grow for up to lingerFor. The
// writer sleeps meanwhile rather than wake for every record (a wakeup per
// data-plane read, each one a goroutine switch ahead of the requests on
// that core): records wait in the queue, and the writer takes them all when
// the time is up, a record someone waits for arrives or the queue is half
// full (enqueue's nudge), or the recorder closes.
func (r *Recorder) linger(batch []*request) []*request {
	t := time.NewTimer(r.lingerFor)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.nudge:
	case <-r.stop:
	}
	return r.fill(batch)
}

// commit writes batch in one transaction and wakes every waiter with the
// result. When a multi-record batch fails, each record is retried on its
// own so one bad record (say a duplicate ID) cannot fail its neighbours.
func (r *Recorder) commit(batch []*request) {
	if len(batch) == 0 {
		return
	}
	err := r.write(batch)
	if err != nil && len(batch) > 1 {
		r.logger.Warn("audit batch failed; retrying records one by one",
			slog.Int("records", len(batch)), slog.String("cause", err.Error()))
		for _, req := range batch {
			err := r.write([]*request{req})
			if err != nil {
				r.logger.Error("audit record not committed", slog.String("cause", err.Error()))
			}
			req.reply(err)
		}
		return
	}
	if err != nil {
		r.logger.Error("audit record not committed", slog.String("cause", err.Error()))
	}
	for _, req := range batch {
		req.reply(err)
	}
}

// reply hands the commit's result to the waiter, if there is one.
func (req *request) reply(err error) {
	if err == nil {
		err = req.replayed
	}
	if req.done != nil {
		req.done <- err
	}
}

func (r *Recorder) write(batch []*request) error {
	ctx, cancel := context.WithTimeout(context.Background(), writeTimeout)
	defer cancel()
	err := r.st.Write(ctx, func(tx store.Tx) error {
		// Write may run this again after a retryable failure: everything
		// it decides is decided afresh.
		var signIns []store.SignIn
		var activity []store.Activity
		var access []store.Access
		for _, req := range batch {
			req.replayed = nil
			switch {
			case req.signIn != nil:
				if u := req.use; u != nil {
					err := tx.MarkAssertionUsed(u.Issuer, u.JTI, u.Expires)
					if errors.Is(err, store.ErrConflict) {
						// That caller's answer only; the transaction
						// stays usable and its neighbours commit.
						req.replayed = err
						continue
					}
					if err != nil {
						return fmt.Errorf("mark assertion used: %w", err)
					}
				}
				signIns = append(signIns, *req.signIn)
			case req.activity != nil:
				activity = append(activity, *req.activity)
			case req.access != nil:
				access = append(access, *req.access)
			}
		}
		if len(signIns) > 0 {
			if err := tx.AppendSignIns(signIns); err != nil {
				return fmt.Errorf("append sign-ins: %w", err)
			}
		}
		if len(activity) > 0 {
			if err := tx.AppendActivity(activity); err != nil {
				return fmt.Errorf("append activity: %w", err)
			}
		}
		if len(access) > 0 {
			if err := tx.AppendAccess(access); err != nil {
				return fmt.Errorf("append access: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("audit: commit %d records: %w", len(batch), err)
	}
	return nil
}
