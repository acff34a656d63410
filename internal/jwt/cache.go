package jwt

import (
	"crypto/rsa"
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultCacheEntries bounds a CachingVerifier whose MaxEntries is zero.
const DefaultCacheEntries = 10000

// CachingVerifier remembers tokens Verifier accepted, so that a relying
// party checks each token's RS256 signature once rather than on every
// request. It is keyed by the SHA-256 of the whole compact token: a token
// that differs in any byte (signature included) is a miss and goes through
// the full check. Keying by the hash rather than the token keeps live
// bearer tokens out of the cache's memory.
//
// Only successes are cached; a refusal is never remembered, so a bad token
// costs a full verification every time and can never poison the cache. A
// hit is served only while the token is inside its lifetime with no leeway
// (entries expire at exp minus the verifier's leeway, so the cache never
// extends what Verify would accept), while its nbf is still within the
// leeway of the clock (a clock stepped backwards gets the full check), and
// while the key that signed it is still in the key set: a key withdrawn
// from the set ends its cached tokens at once.
type CachingVerifier struct {
	Verifier *Verifier
	// MaxEntries bounds the cache; DefaultCacheEntries when zero.
	MaxEntries int

	mu      sync.RWMutex
	entries map[[sha256.Size]byte]cachedToken
}

type cachedToken struct {
	claims Claims
	kid    string
	key    *rsa.PublicKey
	until  int64 // unix seconds: served while now < until
}

// tokenBufs holds buffers to hash tokens in: sha256.Sum256 takes a []byte
// that escapes, so converting the token string would allocate a copy of
// it on every request.
var tokenBufs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

// tokenHash is the SHA-256 of a token of at most MaxTokenSize bytes.
func tokenHash(token string) [sha256.Size]byte {
	bp := tokenBufs.Get().(*[]byte)
	b := append((*bp)[:0], token...)
	sum := sha256.Sum256(b)
	clear(b) // no copy of a bearer token left in a pooled buffer
	*bp = b[:0]
	tokenBufs.Put(bp)
	return sum
}

// Verify returns the claims of a token the underlying Verifier accepts,
// from the cache when it has already accepted the same token. The returned
// claims are the caller's own copy.
func (c *CachingVerifier) Verify(token string) (*Claims, error) {
	if len(token) > MaxTokenSize {
		return c.Verifier.Verify(token) // refused there, never hashed or cached
	}
	sum := tokenHash(token)
	now := c.Verifier.now().Unix()

	c.mu.RLock()
	e, ok := c.entries[sum]
	c.mu.RUnlock()
	if ok {
		// The key is looked up again on every hit; keys.Manager and
		// RemoteKeySet hand out the same object while a key is unchanged,
		// so the comparison is mostly a pointer comparison (a JWKS decodes
		// a new key each time: there it compares the numbers).
		if now < e.until && now+int64(c.Verifier.leeway()/time.Second) >= e.claims.NotBefore {
			if pub, found := c.Verifier.Keys.PublicKey(e.kid); found && (pub == e.key || pub.Equal(e.key)) {
				claims := e.claims
				return &claims, nil
			}
		}
		c.mu.Lock()
		delete(c.entries, sum)
		c.mu.Unlock()
	}

	claims, kid, pub, err := c.Verifier.verify(token)
	if err != nil {
		return nil, err
	}
	c.remember(sum, claims, kid, pub, now)
	out := *claims
	return &out, nil
}

// remember caches claims tied to the key (kid, pub) that verified them, so
// a hit can check that key is still the one the set holds.
func (c *CachingVerifier) remember(sum [sha256.Size]byte, claims *Claims, kid string, pub *rsa.PublicKey, now int64) {
	until := claims.Expiry - int64(c.Verifier.leeway()/time.Second)
	if until <= now {
		return
	}
	e := cachedToken{claims: *claims, kid: kid, key: pub, until: until}
	if len(claims.Roles) > 0 {
		e.claims.Roles = append([]string(nil), claims.Roles...)
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = make(map[[sha256.Size]byte]cachedToken)
	}
	limit := c.MaxEntries
	if limit <= 0 {
		limit = DefaultCacheEntries
	}
	if len(c.entries) >= limit {
		c.evictLocked(now, limit)
	}
	c.entries[sum] = e
}

// evictLocked drops expired entries and, if the cache is still full, enough
// arbitrary ones (Go's map order) to make room: an evicted token only costs
// one more full verification.
func (c *CachingVerifier) evictLocked(now int64, limit int) {
	for k, e := range c.entries {
		if now >= e.until {
			delete(c.entries, k)
		}
	}
	for k := range c.entries {
		if len(c.entries) < limit {
			break
		}
		delete(c.entries, k)
	}
}

// Len reports how many tokens are cached (for tests and metrics).
func (c *CachingVerifier) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}
