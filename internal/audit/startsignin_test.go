package audit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

func use(jti string) *store.AssertionUse {
	return &store.AssertionUse{Issuer: "client-issuer", JTI: jti, Expires: time.Now().Add(time.Hour)}
}

// A sign-in started with an assertion is written together with the
// assertion's marker: once, and never for a replay.
func TestStartSignInMarksTheAssertion(t *testing.T) {
	st := newStore(t, false)
	r := NewRecorder(st, nil)
	defer r.Close()

	if err := r.StartSignIn(t.Context(), signIn(1), use("jti-a"))(t.Context()); err != nil {
		t.Fatalf("first presentation: %v", err)
	}
	err := r.StartSignIn(t.Context(), signIn(2), use("jti-a"))(t.Context())
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("replay: err = %v, want ErrConflict", err)
	}
	if err := r.StartSignIn(t.Context(), signIn(3), nil)(t.Context()); err != nil {
		t.Fatalf("without an assertion: %v", err)
	}
	if diff := cmp.Diff([]string{"client-0001", "client-0003"}, listClientIDs(t, st)); diff != "" {
		t.Errorf("committed records (-want +got):\n%s", diff)
	}
	// The marker is in the store: marking the assertion again conflicts.
	err = st.Write(t.Context(), func(tx store.Tx) error {
		return tx.MarkAssertionUsed("client-issuer", "jti-a", time.Now().Add(time.Hour))
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("marking the spent assertion again: %v, want ErrConflict", err)
	}
}

// One batch holding two presentations of one assertion and other records:
// the first presentation and the others commit, the second alone is
// refused, and nobody is acknowledged before the commit.
func TestStartSignInReplayInOneBatch(t *testing.T) {
	st := newStore(t, true)
	r := NewRecorder(st, nil)
	defer r.Close()

	blocked := r.StartSignIn(t.Context(), signIn(0), nil)
	<-st.entered // the writer holds record 0 in a blocked commit
	first := r.StartSignIn(t.Context(), signIn(1), use("jti-b"))
	second := r.StartSignIn(t.Context(), signIn(2), use("jti-b"))
	other := r.StartSignIn(t.Context(), signIn(3), use("jti-c"))
	waitQueued(r, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := first(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait before the commit = %v, want the context's deadline", err)
	}
	close(st.gate)
	if err := blocked(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := second(t.Context()); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second presentation in the batch: %v, want ErrConflict", err)
	}
	if err := other(t.Context()); err != nil {
		t.Errorf("neighbour: %v", err)
	}
	if got, want := st.writes.Load(), int64(2); got != want {
		t.Errorf("transactions = %d, want %d", got, want)
	}
	if diff := cmp.Diff([]string{"client-0000", "client-0001", "client-0003"}, listClientIDs(t, st)); diff != "" {
		t.Errorf("committed records (-want +got):\n%s", diff)
	}
}

// After Close a started sign-in reports ErrClosed and is not written.
func TestStartSignInAfterClose(t *testing.T) {
	st := newStore(t, false)
	r := NewRecorder(st, nil)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.StartSignIn(t.Context(), signIn(1), use("jti-d"))(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("err = %v, want ErrClosed", err)
	}
}

// With the queue full behind a stuck commit, StartSignIn gives up when its
// context ends (a token request must not hang): wait reports the context's
// error and nothing of it is written.
func TestStartSignInQueueFull(t *testing.T) {
	st := newStore(t, true)
	r := newRecorder(st, nil, 1)
	defer r.Close()

	blocked := r.StartSignIn(t.Context(), signIn(0), nil)
	<-st.entered // the writer holds record 0 in a blocked commit
	queued := r.StartSignIn(t.Context(), signIn(1), nil)
	waitQueued(r, 1) // the queue's one place is taken
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := r.StartSignIn(ctx, signIn(2), nil)(t.Context()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("StartSignIn on a full queue = %v, want the context's deadline", err)
	}
	close(st.gate)
	for _, wait := range []func(context.Context) error{blocked, queued} {
		if err := wait(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"client-0000", "client-0001"}, listClientIDs(t, st)); diff != "" {
		t.Errorf("committed records (-want +got):\n%s", diff)
	}
}
