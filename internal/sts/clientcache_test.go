package sts

import (
	"context"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// readCounter is the fixture's real store, counting Read transactions.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (c *readCounter) Read(ctx context.Context, fn func(store.Tx) error) error {
	c.reads.Add(1)
	return c.Store.Read(ctx, fn)
}

// testClock is a settable clock for the generation watcher.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// withClientCache gives the fixture's server a client cache: a watcher
// that hears of this process's commits and is polled only when the test
// says so (its clock decides when the last poll is too old).
func withClientCache(t *testing.T, f *fixture) (*readCounter, *store.GenerationWatcher, *testClock) {
	t.Helper()
	clock := &testClock{now: time.Now()}
	w := &store.GenerationWatcher{Store: f.st, Interval: time.Minute, Now: clock.Now}
	t.Cleanup(f.st.NotifyGenerations(w.Advance))
	if err := w.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	rc := &readCounter{Store: f.st}
	f.srv.Store, f.srv.Generations = rc, w
	return rc, w, clock
}

// deleteCredentials deletes every credential of sp of the given kind.
func (f *fixture) deleteCredentials(t *testing.T, kind store.CredentialKind) func(store.Tx) error {
	t.Helper()
	var ids []string
	err := f.st.Read(t.Context(), func(tx store.Tx) error {
		creds, err := tx.ListCredentials(f.sp.ObjectID)
		for _, c := range creds {
			if c.Kind == kind {
				ids = append(ids, c.ID)
			}
		}
		return err
	})
	if err != nil || len(ids) == 0 {
		t.Fatalf("sp's %s credentials: %q, %v", kind, ids, err)
	}
	return func(tx store.Tx) error {
		for _, id := range ids {
			if err := tx.DeleteCredential(id); err != nil {
				return err
			}
		}
		return nil
	}
}

// A cached client costs no store read; the cache changes no answer.
func TestClientCacheServesRepeatRequests(t *testing.T) {
	f := newFixture(t)
	rc, _, _ := withClientCache(t, f)
	if r := f.post(f.tokenURL(2), secretForm(f.sp.ClientID, f.secret), nil); r.status != http.StatusOK {
		t.Fatalf("first request: status %d %v", r.status, r.body)
	}
	rc.reads.Store(0) // the tenant and the client are known now
	for i := range 3 {
		if r := f.post(f.tokenURL(2), secretForm(f.sp.ClientID, f.secret), nil); r.status != http.StatusOK {
			t.Fatalf("request %d: status %d %v", i, r.status, r.body)
		}
		if r := f.post(f.tokenURL(2), assertionForm(f.assertion(f.sp.ClientID, f.certDER, assertion{})), nil); r.status != http.StatusOK {
			t.Fatalf("assertion request %d: status %d %v", i, r.status, r.body)
		}
	}
	if got, want := rc.reads.Load(), int64(0); got != want {
		t.Errorf("%d store reads for 6 more requests of a known client, want %d", got, want)
	}
	// Wrong secrets are still refused from the cache.
	if r := f.post(f.tokenURL(2), secretForm(f.sp.ClientID, "wrong"), nil); r.status != http.StatusUnauthorized {
		t.Errorf("wrong secret: status %d, want 401", r.status)
	}
}

// Revoking through this process takes effect on the very next request,
// however warm the cache: this is how MIRP revocation reaches the STS.
func TestClientCacheRevocationIsImmediate(t *testing.T) {
	tests := []struct {
		name       string
		assertion  bool // authenticate with the certificate, else the secret
		revoke     func(t *testing.T, f *fixture) func(store.Tx) error
		wantStatus int
	}{
		{"delete secrets", false, func(t *testing.T, f *fixture) func(store.Tx) error {
			return f.deleteCredentials(t, store.CredentialSecret)
		}, http.StatusUnauthorized},
		{"delete certificates", true, func(t *testing.T, f *fixture) func(store.Tx) error {
			return f.deleteCredentials(t, store.CredentialCertificate)
		}, http.StatusUnauthorized},
		{"disable principal", true, func(t *testing.T, f *fixture) func(store.Tx) error {
			p := f.sp
			p.Enabled = false
			return func(tx store.Tx) error { return tx.UpdatePrincipal(p) }
		}, http.StatusBadRequest},
		{"delete principal", false, func(t *testing.T, f *fixture) func(store.Tx) error {
			return func(tx store.Tx) error { return tx.DeletePrincipal(f.sp.ObjectID) }
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			withClientCache(t, f)
			form := func() map[string][]string {
				if tt.assertion {
					return assertionForm(f.assertion(f.sp.ClientID, f.certDER, assertion{}))
				}
				return secretForm(f.sp.ClientID, f.secret)
			}
			for range 2 { // the second is served from the cache
				if r := f.post(f.tokenURL(2), form(), nil); r.status != http.StatusOK {
					t.Fatalf("before revocation: status %d %v", r.status, r.body)
				}
			}
			if err := f.st.Write(t.Context(), tt.revoke(t, f)); err != nil {
				t.Fatal(err)
			}
			r := f.post(f.tokenURL(2), form(), nil)
			if r.status != tt.wantStatus {
				t.Errorf("after revocation: status %d %v, want %d", r.status, r.body, tt.wantStatus)
			}
			if _, ok := r.body["access_token"]; ok {
				t.Error("a token was issued after revocation")
			}
		})
	}
}

// Another replica's change (a second store on the same database, whose
// commits this process does not hear of) reaches the cache with the next
// poll; when polls stop succeeding the cache is bypassed altogether.
func TestClientCacheOtherReplica(t *testing.T) {
	tests := []struct {
		name    string
		catchUp func(t *testing.T, w *store.GenerationWatcher, clock *testClock)
	}{
		{"next poll", func(t *testing.T, w *store.GenerationWatcher, _ *testClock) {
			if err := w.Poll(t.Context()); err != nil {
				t.Fatal(err)
			}
		}},
		{"polls stale", func(t *testing.T, w *store.GenerationWatcher, clock *testClock) {
			clock.Add(time.Hour) // past MaxStale (4 minutes) without a poll
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, w, clock := withClientCache(t, f)
			replica, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(f.dir, "sts.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer replica.Close()
			for range 2 {
				if r := f.post(f.tokenURL(2), secretForm(f.sp.ClientID, f.secret), nil); r.status != http.StatusOK {
					t.Fatalf("before revocation: status %d %v", r.status, r.body)
				}
			}
			if err := replica.Write(t.Context(), f.deleteCredentials(t, store.CredentialSecret)); err != nil {
				t.Fatal(err)
			}
			// Within the poll interval the cached credential may still
			// serve (the documented bound); after catching up it must not.
			if r := f.post(f.tokenURL(2), secretForm(f.sp.ClientID, f.secret), nil); r.status != http.StatusOK {
				t.Errorf("before the poll: status %d, want 200 from the cache", r.status)
			}
			tt.catchUp(t, w, clock)
			if r := f.post(f.tokenURL(2), secretForm(f.sp.ClientID, f.secret), nil); r.status != http.StatusUnauthorized {
				t.Errorf("after %s: status %d %v, want 401", tt.name, r.status, r.body)
			}
		})
	}
}
