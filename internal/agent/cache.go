package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// TokenSource is what the handlers need from the cache.
type TokenSource interface {
	// Token returns a usable token for id and resource (as sent; the
	// source normalizes it). Errors wrap ErrSTSUnavailable (transient) or
	// are a *RejectedError (the STS refused).
	Token(ctx context.Context, id *Identity, resource string) (*Token, error)
}

// Cache is the agent's token cache. Tokens are keyed by (client id,
// normalized resource). A hit is served from memory; concurrent misses for
// one key share one fetch; every token is refreshed in the background once
// half its lifetime has passed (or at the STS's refresh_in, if sooner), and
// while the STS is unreachable a cached token is served until ExpiryMargin
// before it expires.
type Cache struct {
	fetcher TokenFetcher
	cfg     CacheConfig

	mu      sync.RWMutex
	entries map[cacheKey]*entry
	closed  bool

	flightMu sync.Mutex
	flights  map[cacheKey]*flight

	hits, misses, fetches, refreshes, failures atomic.Uint64
}

// CacheConfig configures a Cache.
type CacheConfig struct {
	// ExpiryMargin: a token is not served once it expires within this
	// margin (MSAL discards tokens within 5 minutes of expiry, reference
	// §5.3, so handing one out is useless). Default 5 min; for tokens
	// shorter than 4 margins it shrinks to a quarter of the lifetime, or
	// such a token could never be served.
	ExpiryMargin time.Duration
	// FetchTimeout bounds one fetch (all regions); default 30 s. Fetches
	// run detached from the requests waiting for them, so one impatient
	// client cannot fail the others.
	FetchTimeout time.Duration
	// RetryBase and RetryMax shape the retries of a failed background
	// refresh; defaults 5 s and 2 min.
	RetryBase, RetryMax time.Duration
	// IdleTimeout: a token not asked for in this long is dropped at its
	// next refresh instead of being refreshed; default 24 h.
	IdleTimeout time.Duration
	Logger      *slog.Logger
}

// CacheStats are the cache's counters since it was created.
type CacheStats struct {
	Hits      uint64 // requests served from memory
	Misses    uint64 // requests that had to wait for a fetch
	Fetches   uint64 // fetches started for misses (coalesced)
	Refreshes uint64 // background refreshes that succeeded
	Failures  uint64 // fetches and refreshes that failed
}

type cacheKey struct{ clientID, resource string }

type entry struct {
	key      cacheKey
	tok      atomic.Pointer[Token]
	ident    atomic.Pointer[Identity] // for background refreshes
	lastUsed atomic.Int64             // unix nanoseconds

	mu       sync.Mutex // guards timer and failures
	timer    *time.Timer
	failures int
}

type flight struct {
	done chan struct{}
	tok  *Token
	err  error
}

// NewCache returns a cache that fetches through f.
func NewCache(f TokenFetcher, cfg CacheConfig) *Cache {
	if cfg.ExpiryMargin <= 0 {
		cfg.ExpiryMargin = 5 * time.Minute
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 5 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 2 * time.Minute
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 24 * time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Cache{
		fetcher: f, cfg: cfg,
		entries: make(map[cacheKey]*entry),
		flights: make(map[cacheKey]*flight),
	}
}

// Stats returns the counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{
		Hits: c.hits.Load(), Misses: c.misses.Load(), Fetches: c.fetches.Load(),
		Refreshes: c.refreshes.Load(), Failures: c.failures.Load(),
	}
}

// Close stops background refreshes. Tokens already cached stay readable.
func (c *Cache) Close() {
	c.mu.Lock()
	c.closed = true
	es := make([]*entry, 0, len(c.entries))
	for _, e := range c.entries {
		es = append(es, e)
	}
	c.mu.Unlock()
	for _, e := range es {
		e.mu.Lock()
		if e.timer != nil {
			e.timer.Stop()
		}
		e.mu.Unlock()
	}
}

// margin is the expiry margin for a token.
func (c *Cache) margin(t *Token) time.Duration {
	if life := t.ExpiresOn.Sub(t.IssuedAt); life < 4*c.cfg.ExpiryMargin {
		return life / 4
	}
	return c.cfg.ExpiryMargin
}

func (c *Cache) usable(t *Token, now time.Time) bool {
	return t != nil && now.Before(t.ExpiresOn.Add(-c.margin(t)))
}

// Token implements TokenSource.
func (c *Cache) Token(ctx context.Context, id *Identity, resource string) (*Token, error) {
	key := cacheKey{id.ClientID, NormalizeResource(resource)}
	now := time.Now()
	c.mu.RLock()
	e := c.entries[key]
	c.mu.RUnlock()
	if e != nil {
		if t := e.tok.Load(); c.usable(t, now) {
			c.hits.Add(1)
			e.touch(id, now)
			return t, nil
		}
	}
	c.misses.Add(1)
	f := c.fetch(key, id, false)
	select {
	case <-f.done:
		if f.err == nil {
			if e != nil {
				e.touch(id, time.Now())
			}
			return f.tok, nil
		}
		return nil, f.err
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the token service: %w", ctx.Err())
	}
}

// touch records a use and keeps the identity the entry refreshes with
// current, so a renewed certificate is used from the next refresh on. (A
// renewal replaces the certificate; the key may be a non-comparable value.)
func (e *entry) touch(id *Identity, now time.Time) {
	if n := now.UnixNano(); n-e.lastUsed.Load() > int64(time.Second) {
		e.lastUsed.Store(n)
	}
	if cur := e.ident.Load(); cur == nil || cur.Certificate != id.Certificate {
		cp := *id
		e.ident.Store(&cp)
	}
}

// fetch starts a fetch for key, or joins the one in flight.
func (c *Cache) fetch(key cacheKey, id *Identity, refresh bool) *flight {
	c.flightMu.Lock()
	if f, ok := c.flights[key]; ok {
		c.flightMu.Unlock()
		return f
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.flightMu.Unlock()
	if !refresh {
		c.fetches.Add(1)
	}
	idCopy := *id // the caller's Identity may live in a slice that changes
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.FetchTimeout)
		defer cancel()
		f.tok, f.err = c.fetcher.FetchToken(ctx, &idCopy, key.resource)
		if f.err == nil {
			c.store(key, &idCopy, f.tok)
		} else {
			c.failures.Add(1)
			c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "token fetch failed",
				slog.String("client_id", key.clientID), slog.String("resource", key.resource),
				slog.Bool("refresh", refresh), slog.String("cause", f.err.Error()))
		}
		c.flightMu.Lock()
		delete(c.flights, key)
		c.flightMu.Unlock()
		close(f.done)
	}()
	return f
}

// store caches t and schedules its refresh.
func (c *Cache) store(key cacheKey, id *Identity, t *Token) {
	refresh := t.ExpiresOn.Sub(t.IssuedAt) / 2
	if t.RefreshIn > 0 && t.RefreshIn < refresh {
		refresh = t.RefreshIn
	}
	t.refreshAt = t.IssuedAt.Add(refresh)

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	e := c.entries[key]
	if e == nil {
		e = &entry{key: key}
		e.lastUsed.Store(time.Now().UnixNano())
		c.entries[key] = e
	}
	c.mu.Unlock()
	if e.ident.Load() == nil {
		e.ident.Store(id)
	}
	e.tok.Store(t)
	e.mu.Lock()
	e.failures = 0
	c.scheduleLocked(e, time.Until(t.refreshAt))
	e.mu.Unlock()
}

func (c *Cache) scheduleLocked(e *entry, d time.Duration) {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = time.AfterFunc(d, func() { c.refresh(e) })
}

// refresh runs when e's token reaches its refresh time (or a retry is due).
func (c *Cache) refresh(e *entry) {
	c.mu.Lock()
	if c.closed || c.entries[e.key] != e {
		c.mu.Unlock()
		return
	}
	if idle := time.Since(time.Unix(0, e.lastUsed.Load())); idle > c.cfg.IdleTimeout {
		// Nobody has asked for this token in a long time: stop refreshing.
		delete(c.entries, e.key)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()

	f := c.fetch(e.key, e.ident.Load(), true)
	<-f.done
	if f.err == nil {
		c.refreshes.Add(1)
		return // store rescheduled the entry
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.failures++
	d := backoff(c.cfg.RetryBase, c.cfg.RetryMax, e.failures)
	var rej *RejectedError
	if errors.As(f.err, &rej) {
		// The identity is refused; keep serving the token already issued
		// (Azure's tokens also outlive their identity) but ask rarely.
		d = c.cfg.RetryMax
	}
	c.mu.RLock()
	closed := c.closed
	c.mu.RUnlock()
	if !closed {
		c.scheduleLocked(e, d)
	}
}
