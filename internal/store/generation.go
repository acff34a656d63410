package store

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Generation names a domain of records whose every change moves a counter,
// so a replica can cache what it read from the domain and tell cheaply when
// the cache may be out of date.
type Generation string

const (
	// GenRBAC moves with every change to role assignments or role
	// definitions.
	GenRBAC Generation = "rbac"
	// GenSecrets moves with every change to vaults, secrets or secret
	// versions.
	GenSecrets Generation = "secrets"
	// GenPrincipals moves with every change to principals or their
	// credentials: the token service's client cache is checked against it,
	// which is how a revocation reaches the STS.
	GenPrincipals Generation = "principals"
)

// AllGenerations are every generation a backend keeps.
var AllGenerations = []Generation{GenRBAC, GenSecrets, GenPrincipals}

// GenerationTx reads and moves the per-domain change counters. Backends
// move a domain's counter inside every write method that changes the
// domain (at most once per transaction), so no caller can forget to;
// BumpGeneration is for a change the backend cannot see as one.
type GenerationTx interface {
	// Generations returns every generation's counter (0 for one never
	// moved). A counter only grows.
	Generations() (map[Generation]int64, error)
	// BumpGeneration moves g's counter; it fails in a Read transaction.
	BumpGeneration(Generation) error
}

// GenerationNotifier is implemented by a Store that tells its own process,
// before Write returns, the generations a committed write transaction
// moved and their new values; a cache in the same process then never
// serves what that write changed, without waiting for a poll.
type GenerationNotifier interface {
	// NotifyGenerations calls fn after every such commit until cancel is
	// called. fn must not block or call into the store.
	NotifyGenerations(fn func(map[Generation]int64)) (cancel func())
}

// notifier finds the GenerationNotifier under s, through wrappers (a
// metrics layer, say) that expose what they wrap with Unwrap.
func notifier(s Store) (GenerationNotifier, bool) {
	for s != nil {
		if n, ok := s.(GenerationNotifier); ok {
			return n, true
		}
		u, ok := s.(interface{ Unwrap() Store })
		if !ok {
			return nil, false
		}
		s = u.Unwrap()
	}
	return nil, false
}

// DefaultGenerationPoll is how often a GenerationWatcher reads the
// generations: what another replica's change takes at most to reach this
// one's caches.
const DefaultGenerationPoll = 250 * time.Millisecond

// GenerationWatcher knows the current generations, for caches to validate
// their entries against: polled from the store (one small query every
// Interval) and, when the store is a GenerationNotifier, moved at once by
// this process's own writes. Build it with a struct literal and run Run.
type GenerationWatcher struct {
	Store Store
	// Interval between polls; DefaultGenerationPoll when zero.
	Interval time.Duration
	// MaxStale is how old the last successful poll may be for Current to
	// still answer; 4×Interval when zero. Past it (the store is not
	// answering), caches must go to the store, where a change made by
	// another replica is visible.
	MaxStale time.Duration
	Now      func() time.Time

	once   sync.Once
	values map[Generation]*atomic.Int64 // fixed keys after init
	polled atomic.Int64                 // unix nanos at the start of the last successful poll; 0 never
}

func (w *GenerationWatcher) init() {
	w.once.Do(func() {
		w.values = make(map[Generation]*atomic.Int64, len(AllGenerations))
		for _, g := range AllGenerations {
			w.values[g] = new(atomic.Int64)
		}
	})
}

func (w *GenerationWatcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *GenerationWatcher) interval() time.Duration {
	if w.Interval > 0 {
		return w.Interval
	}
	return DefaultGenerationPoll
}

// Current returns g's counter as last known, and false when it cannot be
// trusted (no successful poll within MaxStale, or g unknown): the caller
// must then not use its cache.
func (w *GenerationWatcher) Current(g Generation) (int64, bool) {
	w.init()
	v, ok := w.values[g]
	if !ok {
		return 0, false
	}
	polled := w.polled.Load()
	maxStale := w.MaxStale
	if maxStale <= 0 {
		maxStale = 4 * w.interval()
	}
	if polled == 0 || w.now().UnixNano()-polled > int64(maxStale) {
		return 0, false
	}
	return v.Load(), true
}

// Advance raises the known counters to the given values (never lowers
// them: a poll that started before a local write must not undo it).
func (w *GenerationWatcher) Advance(gens map[Generation]int64) {
	w.init()
	for g, n := range gens {
		v, ok := w.values[g]
		if !ok {
			continue
		}
		for {
			cur := v.Load()
			if n <= cur || v.CompareAndSwap(cur, n) {
				break
			}
		}
	}
}

// Poll reads the generations from the store once.
func (w *GenerationWatcher) Poll(ctx context.Context) error {
	w.init()
	started := w.now().UnixNano()
	var gens map[Generation]int64
	err := w.Store.Read(ctx, func(tx Tx) error {
		var err error
		gens, err = tx.Generations()
		return err
	})
	if err != nil {
		return err
	}
	w.Advance(gens)
	for {
		cur := w.polled.Load()
		if started <= cur || w.polled.CompareAndSwap(cur, started) {
			return nil
		}
	}
}

// Run subscribes to the store's own commits, when it (or the store it
// wraps, through Unwrap() Store) is a GenerationNotifier, and polls
// every Interval until ctx ends. Poll errors leave the last values in place
// until MaxStale runs out; onError, when set, hears of them.
func (w *GenerationWatcher) Run(ctx context.Context, onError func(error)) {
	w.init()
	if n, ok := notifier(w.Store); ok {
		// Subscribed before the first poll: a commit is either seen by
		// that poll or notified.
		cancel := n.NotifyGenerations(w.Advance)
		defer cancel()
	}
	t := time.NewTicker(w.interval())
	defer t.Stop()
	for {
		if err := w.Poll(ctx); err != nil && ctx.Err() == nil && onError != nil {
			onError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
