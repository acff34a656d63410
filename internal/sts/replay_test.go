package sts

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// gatedStore is a real store that counts Write transactions, holds the
// first one until gate is closed (so the test can line up a batch behind
// it), and fails every Write with fail when set.
type gatedStore struct {
	store.Store
	writes atomic.Int64
	gate   chan struct{}
	fail   error
}

func (g *gatedStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	if g.writes.Add(1) == 1 && g.gate != nil {
		<-g.gate
	}
	if g.fail != nil {
		return g.fail
	}
	return g.Store.Write(ctx, fn)
}

func newGatedStore(t *testing.T) *gatedStore {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "replay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &gatedStore{Store: st, gate: make(chan struct{})}
}

// queued waits until n markers wait in m's queue (the first batch's
// writer is held by the gate, so they cannot be taken before it opens).
func queued(t *testing.T, m *replayMarker, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		m.mu.Lock()
		got := len(m.queue)
		m.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d markers queued, want %d", got, n)
		}
		runtime.Gosched()
	}
}

// markAll marks each jti from its own goroutine, behind a first marker
// ("blocker") whose transaction is held until all of them are queued, so
// they all go into the second transaction. It returns each call's error.
func markAll(t *testing.T, st *gatedStore, jtis []string) []error {
	t.Helper()
	var m replayMarker
	exp := time.Now().Add(time.Hour)
	var wg sync.WaitGroup
	var blockerErr error
	wg.Go(func() { blockerErr = m.mark(t.Context(), st, "client", "blocker", exp) })
	queued(t, &m, 0) // the writer took the blocker and is held
	for st.writes.Load() == 0 {
		runtime.Gosched()
	}
	errs := make([]error, len(jtis))
	for i, jti := range jtis {
		wg.Go(func() { errs[i] = m.mark(t.Context(), st, "client", jti, exp) })
	}
	queued(t, &m, len(jtis))
	close(st.gate)
	wg.Wait()
	if blockerErr != nil && st.fail == nil {
		t.Fatalf("blocker: %v", blockerErr)
	}
	return errs
}

func outcomes(errs []error) map[string]int {
	got := map[string]int{}
	for _, err := range errs {
		switch {
		case err == nil:
			got["ok"]++
		case errors.Is(err, store.ErrConflict):
			got["replay"]++
		default:
			got[err.Error()]++
		}
	}
	return got
}

func TestReplayMarkerBatches(t *testing.T) {
	const n = 32
	distinct := make([]string, n)
	for i := range distinct {
		distinct[i] = fmt.Sprint("jti-", i)
	}
	same := make([]string, n)
	for i := range same {
		same[i] = "jti-same"
	}
	tests := []struct {
		name       string
		jtis       []string
		fail       error
		want       map[string]int
		wantWrites int64
	}{
		// Two transactions: the held blocker's and one for all n.
		{"distinct jtis all accepted", distinct, nil, map[string]int{"ok": n}, 2},
		// All n in one transaction: the first marks, the rest are replays
		// of it, and the transaction still commits for it.
		{"one jti presented n times", same, nil, map[string]int{"ok": 1, "replay": n - 1}, 2},
		{"failed write fails every waiter", distinct, errors.New("disk gone"), map[string]int{"disk gone": n}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newGatedStore(t)
			st.fail = tt.fail
			got := outcomes(markAll(t, st, tt.jtis))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if got, want := st.writes.Load(), tt.wantWrites; got != want {
				t.Errorf("%d Write transactions for %d markers, want %d", got, len(tt.jtis)+1, want)
			}
		})
	}
}

// A marker committed by one batch refuses the same jti in any later one,
// and the writer goroutine comes and goes with the work.
func TestReplayMarkerRefusesLaterReplay(t *testing.T) {
	st := newGatedStore(t)
	close(st.gate)
	var m replayMarker
	exp := time.Now().Add(time.Hour)
	var got []error
	for _, jti := range []string{"a", "a", "b", "a"} {
		got = append(got, m.mark(t.Context(), st, "client", jti, exp))
	}
	want := []bool{false, true, false, true} // replay?
	for i := range want {
		if g := errors.Is(got[i], store.ErrConflict); g != want[i] || (!g && got[i] != nil) {
			t.Errorf("mark #%d = %v, want replay %v", i, got[i], want[i])
		}
	}
	// The same jti from another issuer is another assertion.
	if err := m.mark(t.Context(), st, "other-client", "a", exp); err != nil {
		t.Errorf("same jti, other issuer: %v, want nil", err)
	}
}

// Over HTTP: n concurrent presentations of one assertion give one token,
// and the refused ones cost no signature.
func TestAssertionReplayNotSigned(t *testing.T) {
	f := newFixture(t)
	a := f.assertion(f.sp.ClientID, f.certDER, assertion{})
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() { statuses[i] = f.post(f.tokenURL(2), assertionForm(a), nil).status })
	}
	wg.Wait()
	got := map[int]int{}
	for _, s := range statuses {
		got[s]++
	}
	if diff := cmp.Diff(map[int]int{http.StatusOK: 1, http.StatusUnauthorized: n - 1}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got, want := f.signer.signed.Load(), int64(1); got != want {
		t.Errorf("%d tokens signed, want %d", got, want)
	}
}
