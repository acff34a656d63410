package sts

import (
	"strings"
	"sync"

	"github.com/signet-platform/signet/internal/store"
)

// GenerationSource tells a domain's current change counter, and false when
// it cannot be trusted; *store.GenerationWatcher is one.
type GenerationSource interface {
	Current(store.Generation) (int64, bool)
}

// defaultMaxClients bounds the client cache; past it the cache starts over.
const defaultMaxClients = 10000

// clientCacheKey names a client: its tenant (canonical, lower-case) and its
// client id, lower-cased as the store compares it.
type clientCacheKey struct{ tenant, clientID string }

// cachedClient is a principal and its credentials as one read transaction
// saw them. Shared between requests: never modified after it is cached.
type cachedClient struct {
	principal store.Principal
	creds     []store.Credential
}

// clientCache holds what loadClient read, per client, tagged with the
// principals generation read before the load; an entry is used only while
// that generation is current. A change made through this process (a
// credential or principal deleted, a principal disabled) moves the
// generation before its Write returns, so the next token request reads the
// store; one made through another replica, within the watcher's poll
// interval. When the generation cannot be trusted (polls failing) the
// cache is not used at all. It does not cache unknown clients: those are
// refused from the store.
type clientCache struct {
	mu      sync.RWMutex
	gen     int64
	entries map[clientCacheKey]*cachedClient
}

func newClientCacheKey(tenant, clientID string) clientCacheKey {
	return clientCacheKey{tenant: strings.ToLower(tenant), clientID: strings.ToLower(clientID)}
}

// get returns the entry for k if it was read under generation gen.
func (c *clientCache) get(gen int64, k clientCacheKey) (*cachedClient, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return nil, false
	}
	e, ok := c.entries[k]
	return e, ok
}

// put keeps e, read under generation gen, unless the cache has already
// moved past gen (then e may be out of date and serves this request only).
func (c *clientCache) put(gen int64, k clientCacheKey, e *cachedClient) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.gen:
		return
	case gen > c.gen || c.entries == nil || len(c.entries) >= defaultMaxClients:
		c.gen, c.entries = gen, make(map[clientCacheKey]*cachedClient)
	}
	c.entries[k] = e
}
