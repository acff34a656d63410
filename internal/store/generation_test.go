package store_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

func openAt(t *testing.T, path string) *sqlstore.Store {
	t.Helper()
	s, err := sqlstore.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// wrapped is a store wrapper that says what it wraps.
type wrapped struct{ store.Store }

func (w wrapped) Unwrap() store.Store { return w.Store }

func assign(t *testing.T, s store.Store, n int) {
	t.Helper()
	err := s.Write(context.Background(), func(tx store.Tx) error {
		return tx.CreateRoleAssignment(store.RoleAssignment{ID: fmt.Sprintf("a0000000-0000-4000-8000-%012d", n),
			Scope: "/subscriptions/s1", RoleDefinitionID: "r1", PrincipalID: fmt.Sprint("p", n)})
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A write through the watcher's own store moves Current at once; one
// through another store on the same database (another replica) within the
// poll interval; and a watcher that cannot poll stops answering.
func TestGenerationWatcher(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signet.db")
	synctest.Test(t, func(t *testing.T) {
		// Opened inside the bubble: database/sql's goroutines must be
		// the bubble's too.
		here, there := openAt(t, path), openAt(t, path)
		defer here.Close()
		defer there.Close()
		// Behind a wrapper, as the server's metrics layer wraps the store.
		w := &store.GenerationWatcher{Store: wrapped{here}, Interval: 250 * time.Millisecond}
		if _, ok := w.Current(store.GenRBAC); ok {
			t.Error("Current before any poll: ok, want not ok")
		}
		ctx, cancel := context.WithCancel(context.Background())
		stopped := make(chan struct{})
		go func() { w.Run(ctx, func(err error) { t.Errorf("poll: %v", err) }); close(stopped) }()
		synctest.Wait()

		current := func() int64 {
			t.Helper()
			v, ok := w.Current(store.GenRBAC)
			if !ok {
				t.Fatal("Current: not ok while polling")
			}
			return v
		}
		start := current()

		assign(t, here, 1)
		if got, want := current(), start+1; got != want {
			t.Errorf("right after a local write: %d, want %d", got, want)
		}

		assign(t, there, 2)
		if got, want := current(), start+1; got != want {
			t.Errorf("before the next poll: %d, want %d (the other store's write not seen yet)", got, want)
		}
		time.Sleep(w.Interval)
		synctest.Wait()
		if got, want := current(), start+2; got != want {
			t.Errorf("one poll interval after another store's write: %d, want %d", got, want)
		}

		cancel()
		<-stopped
		time.Sleep(4*w.Interval + time.Nanosecond)
		if _, ok := w.Current(store.GenRBAC); ok {
			t.Error("Current with no poll for longer than MaxStale: ok, want not ok")
		}
	})
}

// A poll that reads an older value than a local write already announced
// (it started before the write) does not move Current back.
func TestGenerationWatcherNeverGoesBack(t *testing.T) {
	st := openAt(t, filepath.Join(t.TempDir(), "signet.db"))
	defer st.Close()
	w := &store.GenerationWatcher{Store: st}
	w.Advance(map[store.Generation]int64{store.GenSecrets: 1000})
	w.Advance(map[store.Generation]int64{store.GenSecrets: 999, "unknown": 9})
	if err := w.Poll(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, ok := w.Current(store.GenSecrets); !ok || got != 1000 {
		t.Errorf("Current = %d, %v; want 1000, true", got, ok)
	}
	if _, ok := w.Current("unknown"); ok {
		t.Error("Current(unknown generation): ok, want not ok")
	}
}
