package jwt

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Defaults for RemoteKeySet.
const (
	DefaultRefreshInterval = 5 * time.Minute
	DefaultMinRefreshGap   = time.Minute
	remoteFetchTimeout     = 10 * time.Second
	maxJWKSSize            = 1 << 20
)

// RemoteKeySet is a KeySet that serves keys from a JWKS fetched over HTTPS,
// for relying parties that run apart from the STS. Keys are served from
// memory; the set is refetched when it is older than RefreshInterval, and on
// an unknown kid, but never more often than once per MinRefreshGap, so a
// flood of tokens with made-up kids cannot make it hammer the STS. When a
// refresh fails the last good set keeps being served.
//
// The zero value is not usable: set URL. Configure before first use.
type RemoteKeySet struct {
	URL    string       // https URL of the JWKS
	Client *http.Client // http.DefaultClient when nil
	// RefreshInterval is how old the set may grow before it is refetched;
	// DefaultRefreshInterval when zero. It must be shorter than the STS's
	// publication lead so a new key is known before it signs.
	RefreshInterval time.Duration
	// MinRefreshGap is the least time between two fetches, successful or
	// not; DefaultMinRefreshGap when zero.
	MinRefreshGap time.Duration
	Now           func() time.Time // time.Now when nil

	fetchMu sync.Mutex // held for the whole of a fetch: one at a time

	mu          sync.Mutex
	keys        map[string]*rsa.PublicKey
	fetchedAt   time.Time // last successful fetch
	attemptedAt time.Time // last fetch started
}

// PublicKey returns the key for kid, refreshing the set first if it is due.
func (r *RemoteKeySet) PublicKey(kid string) (*rsa.PublicKey, bool) {
	pub, ok, stale := r.lookup(kid)
	if ok && !stale {
		return pub, true
	}
	// Either the set is due for a refresh or kid is unknown. KeySet has no
	// context, so bound the fetch here.
	// A known key from a stale set is served at once when another caller is
	// already fetching; an unknown kid waits for the fetch in flight.
	ctx, cancel := context.WithTimeout(context.Background(), remoteFetchTimeout)
	defer cancel()
	_ = r.refresh(ctx, !ok) // on failure keep serving what we have
	pub, ok, _ = r.lookup(kid)
	return pub, ok
}

// Refresh fetches the JWKS now, unless a fetch started less than
// MinRefreshGap ago. A failed fetch leaves the current set in place.
func (r *RemoteKeySet) Refresh(ctx context.Context) error {
	return r.refresh(ctx, true)
}

func (r *RemoteKeySet) lookup(kid string) (pub *rsa.PublicKey, ok, stale bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	pub, ok = r.keys[kid]
	stale = r.fetchedAt.IsZero() || !r.now().Before(r.fetchedAt.Add(r.refreshInterval()))
	return pub, ok, stale
}

// refresh fetches the set unless one was attempted within MinRefreshGap. When
// wait is false and a fetch is already running it returns at once.
func (r *RemoteKeySet) refresh(ctx context.Context, wait bool) error {
	if wait {
		r.fetchMu.Lock()
	} else if !r.fetchMu.TryLock() {
		return nil
	}
	defer r.fetchMu.Unlock()
	// Whoever waited for the lock behind a fetch finds attemptedAt recent and
	// uses that fetch's result.
	r.mu.Lock()
	gap := r.MinRefreshGap
	if gap <= 0 {
		gap = DefaultMinRefreshGap
	}
	now := r.now()
	if !r.attemptedAt.IsZero() && now.Before(r.attemptedAt.Add(gap)) {
		r.mu.Unlock()
		return nil
	}
	r.attemptedAt = now
	r.mu.Unlock()

	keys, err := r.fetch(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.keys = keys
	r.fetchedAt = r.now()
	r.mu.Unlock()
	return nil
}

func (r *RemoteKeySet) fetch(ctx context.Context) (map[string]*rsa.PublicKey, error) {
	u, err := url.Parse(r.URL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("jwt: JWKS URL %q is not an https URL", r.URL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("jwt: fetch JWKS: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	client := r.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("jwt: fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("jwt: fetch JWKS from %s: HTTP %d", r.URL, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("jwt: fetch JWKS: %w", err)
	}
	if len(body) > maxJWKSSize {
		return nil, fmt.Errorf("jwt: JWKS from %s is larger than %d bytes", r.URL, maxJWKSSize)
	}
	var set JWKS
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("jwt: decode JWKS from %s: %w", r.URL, err)
	}
	keys := make(map[string]*rsa.PublicKey, len(set.Keys))
	for i := range set.Keys {
		if set.Keys[i].Kid == "" {
			continue
		}
		if pub, ok := set.Keys[i].rsaPublicKey(); ok {
			keys[set.Keys[i].Kid] = pub
		}
	}
	// An STS always publishes its active key; an empty set means a broken
	// response, and replacing good keys with it would reject every token.
	if len(keys) == 0 {
		return nil, errors.New("jwt: JWKS from " + r.URL + " has no usable RSA signing keys")
	}
	return keys, nil
}

func (r *RemoteKeySet) refreshInterval() time.Duration {
	if r.RefreshInterval > 0 {
		return r.RefreshInterval
	}
	return DefaultRefreshInterval
}

func (r *RemoteKeySet) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}
