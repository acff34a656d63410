package secrets

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/signet-platform/signet/internal/store"
)

// Generations tells a domain's current change counter, and false when it
// cannot be trusted; *store.GenerationWatcher is one.
type Generations interface {
	Current(store.Generation) (int64, bool)
}

// maxCachedReads bounds the read cache (vaults plus versions); past it the
// cache starts over.
const maxCachedReads = 16384

// readCache keeps vault records and secret versions as the store has them:
// values stay sealed (each GET opens its own copy; no plaintext is ever
// kept). Every entry was read under the secrets generation gen and is used
// only while that generation is current, so a change made through this
// process is seen at once and one made through another replica within the
// generation poll interval. Entries are shared, never modified.
type readCache struct {
	mu       sync.RWMutex
	gen      int64
	vaults   map[string]store.Vault // by lower-case name
	versions map[versionKey]cachedVersion
}

// versionKey names a version: lower-case vault and secret names, and the
// version ("" for whichever is current).
type versionKey struct{ vault, name, version string }

type cachedVersion struct {
	sec store.Secret
	v   store.SecretVersion
}

func (c *readCache) vault(gen int64, name string) (store.Vault, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return store.Vault{}, false
	}
	v, ok := c.vaults[name]
	return v, ok
}

func (c *readCache) version(gen int64, k versionKey) (cachedVersion, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.gen != gen {
		return cachedVersion{}, false
	}
	v, ok := c.versions[k]
	return v, ok
}

// put keeps an entry read under gen, unless the cache has moved past gen
// (the entry may then be out of date: it serves its own request only).
func (c *readCache) put(gen int64, fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.gen:
		return
	case gen > c.gen || c.vaults == nil || len(c.vaults)+len(c.versions) >= maxCachedReads:
		c.gen = gen
		c.vaults = make(map[string]store.Vault)
		c.versions = make(map[versionKey]cachedVersion)
	}
	fn()
}

// generation is the secrets generation to validate cache entries against;
// false: do not use the cache.
func (s *Server) generation() (int64, bool) {
	if s.Generations == nil {
		return 0, false
	}
	return s.Generations.Current(store.GenSecrets)
}

// getVault loads the vault record named name (lower-case).
func (s *Server) getVault(ctx context.Context, name string) (store.Vault, error) {
	gen, cached := s.generation()
	if cached {
		if v, ok := s.cache.vault(gen, name); ok {
			return v, nil
		}
	}
	var v store.Vault
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		v, err = tx.GetVault(name)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return v, vaultNotFound(name)
	}
	if err != nil {
		return v, storeError(err)
	}
	if cached {
		s.cache.put(gen, func() { s.cache.vaults[name] = v })
	}
	return v, nil
}

// liveVersion loads the request's live secret and the version it names
// (the current one when it names none), as readVersion does in a
// transaction.
func (s *Server) liveVersion(req *request) (store.Secret, store.SecretVersion, error) {
	k := versionKey{vault: strings.ToLower(req.vault.Name), name: strings.ToLower(req.route.name), version: req.route.version}
	gen, cached := s.generation()
	if cached {
		if e, ok := s.cache.version(gen, k); ok {
			return e.sec, e.v, nil
		}
	}
	var sec store.Secret
	var v store.SecretVersion
	err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		var err error
		sec, v, err = s.readVersion(req, tx)
		return err
	})
	if err != nil {
		return sec, v, storeError(err)
	}
	if cached {
		s.cache.put(gen, func() { s.cache.versions[k] = cachedVersion{sec, v} })
	}
	return sec, v, nil
}
