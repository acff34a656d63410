package jwt

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	status  int
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, set JWKS) *jwksServer {
	s := &jwksServer{status: http.StatusOK}
	s.set(set)
	s.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.WriteHeader(s.status)
		w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(set JWKS) {
	b, _ := json.Marshal(set)
	s.mu.Lock()
	s.body = b
	s.mu.Unlock()
}

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestRemoteKeySet(t *testing.T) {
	k1 := RSAPublicJWK("k1", &testKey().PublicKey, nil)
	k2 := RSAPublicJWK("k2", &otherKey().PublicKey, nil)
	srv := newJWKSServer(t, JWKS{Keys: []JWK{k1}})
	clock := &fakeClock{now: testNow}
	r := &RemoteKeySet{URL: srv.URL + "/keys", Client: srv.Client(), RefreshInterval: 5 * time.Minute, MinRefreshGap: time.Minute, Now: clock.Now}

	fetches := func() int { return int(srv.fetches.Load()) }
	if _, ok := r.PublicKey("k1"); !ok {
		t.Fatal("k1 not found on first use")
	}
	if got, want := fetches(), 1; got != want {
		t.Fatalf("fetches = %d, want %d", got, want)
	}
	if _, ok := r.PublicKey("k1"); !ok || fetches() != 1 {
		t.Fatalf("known key caused a fetch (fetches = %d)", fetches())
	}

	// A flood of unknown kids fetches at most once per MinRefreshGap.
	for range 100 {
		if _, ok := r.PublicKey("garbage"); ok {
			t.Fatal("garbage kid found")
		}
	}
	if got, want := fetches(), 1; got != want {
		t.Fatalf("after a flood within the gap: fetches = %d, want %d", got, want)
	}
	clock.Add(61 * time.Second)
	for range 100 {
		r.PublicKey("garbage")
	}
	if got, want := fetches(), 2; got != want {
		t.Fatalf("after a flood past the gap: fetches = %d, want %d", got, want)
	}

	// A new kid becomes known once the gap has passed.
	srv.set(JWKS{Keys: []JWK{k1, k2}})
	if _, ok := r.PublicKey("k2"); ok {
		t.Fatal("k2 found before the gap passed")
	}
	clock.Add(time.Minute)
	if _, ok := r.PublicKey("k2"); !ok {
		t.Fatal("k2 not found after the gap")
	}

	// The set is refetched on schedule; a broken response keeps the old set.
	srv.mu.Lock()
	srv.status = http.StatusInternalServerError
	srv.mu.Unlock()
	before := fetches()
	clock.Add(5 * time.Minute)
	if _, ok := r.PublicKey("k1"); !ok {
		t.Fatal("k1 lost after a failed refresh")
	}
	if got, want := fetches(), before+1; got != want {
		t.Fatalf("stale set: fetches = %d, want %d", got, want)
	}
	if err := r.Refresh(context.Background()); err != nil {
		t.Fatalf("Refresh within the gap = %v, want nil (skipped)", err)
	}
	clock.Add(time.Minute)
	if err := r.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh against a failing server succeeded")
	}

	// An empty set never replaces a good one.
	srv.mu.Lock()
	srv.status = http.StatusOK
	srv.mu.Unlock()
	srv.set(JWKS{})
	clock.Add(time.Minute)
	if err := r.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh accepted an empty JWKS")
	}
	if _, ok := r.PublicKey("k2"); !ok {
		t.Fatal("k2 lost after an empty JWKS")
	}
}

func TestRemoteKeySetRequiresHTTPS(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	r := &RemoteKeySet{URL: srv.URL}
	if err := r.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh over http succeeded")
	}
}
