package audit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

const tenantID = "6f1c2a4e-0d3b-4c1e-9a55-2b7f3e8d9c10"

// gatedStore is the real SQLite store with two test hooks on Write: it
// counts transactions (batches), and when gate is set the first Write
// announces itself on entered and waits for gate to close, so a test can
// pile up requests behind it.
type gatedStore struct {
	store.Store
	writes  atomic.Int64
	gate    chan struct{}
	entered chan struct{}
}

func (g *gatedStore) Write(ctx context.Context, fn func(store.Tx) error) error {
	if g.writes.Add(1) == 1 && g.gate != nil {
		close(g.entered)
		<-g.gate
	}
	return g.Store.Write(ctx, fn)
}

func newStore(t *testing.T, gated bool) *gatedStore {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(store.Tenant{ID: tenantID, DisplayName: "t", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
	g := &gatedStore{Store: st}
	if gated {
		g.gate, g.entered = make(chan struct{}), make(chan struct{})
	}
	return g
}

func signIn(i int) store.SignIn {
	return store.SignIn{TenantID: tenantID, ClientID: fmt.Sprintf("client-%04d", i), Result: "success"}
}

func listClientIDs(t *testing.T, st store.Store) []string {
	t.Helper()
	var ids []string
	err := st.Read(context.Background(), func(tx store.Tx) error {
		recs, err := tx.ListSignIns(store.AuditFilter{TenantID: tenantID, Limit: 100000})
		for _, r := range recs {
			ids = append(ids, r.ClientID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(ids)
	return ids
}

// waitQueued spins (without sleeping) until n requests wait in the queue.
func waitQueued(r *Recorder, n int) {
	for len(r.queue) < n {
		runtime.Gosched()
	}
}

func TestConcurrentCallersAllCommitted(t *testing.T) {
	st := newStore(t, false)
	r := NewRecorder(st, nil)
	const callers, each = 50, 20
	var wg sync.WaitGroup
	errs := make(chan error, callers*each)
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				errs <- r.SignIn(context.Background(), signIn(c*each+i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range callers * each {
		want = append(want, signIn(i).ClientID)
	}
	if diff := cmp.Diff(want, listClientIDs(t, st)); diff != "" {
		t.Errorf("committed records (-want +got):\n%s", diff)
	}
	if got := st.writes.Load(); got >= callers*each {
		t.Errorf("%d transactions for %d records: no group commit", got, callers*each)
	}
}

// One commit in flight, many requests behind it: they must all go in the
// next single transaction, and nobody is acknowledged before it commits.
func TestGroupCommitBatchesWaiters(t *testing.T) {
	st := newStore(t, true)
	r := NewRecorder(st, nil)
	defer r.Close()

	const n = 200
	var acked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- r.SignIn(context.Background(), signIn(i))
			acked.Add(1)
		})
		if i == 0 {
			<-st.entered // the writer now holds request 0 in a blocked commit
		}
	}
	waitQueued(r, n-1)
	if got := acked.Load(); got != 0 {
		t.Fatalf("%d callers acknowledged before any commit", got)
	}
	close(st.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("SignIn: %v", err)
		}
	}
	if got, want := st.writes.Load(), int64(2); got != want {
		t.Errorf("transactions = %d, want %d (one blocked, then one for the %d queued)", got, want, n-1)
	}
	if got := len(listClientIDs(t, st)); got != n {
		t.Errorf("committed %d records, want %d", got, n)
	}
}

func TestCloseFlushes(t *testing.T) {
	st := newStore(t, true)
	r := NewRecorder(st, nil)
	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- r.Activity(context.Background(), store.Activity{TenantID: tenantID, Operation: fmt.Sprint(i), Result: "success"})
		})
		if i == 0 {
			<-st.entered
		}
	}
	waitQueued(r, n-1)
	closed := make(chan error)
	go func() { closed <- r.Close() }()
	close(st.gate)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Activity: %v", err)
		}
	}
	var got int
	_ = st.Read(context.Background(), func(tx store.Tx) error {
		recs, err := tx.ListActivity(store.AuditFilter{TenantID: tenantID})
		got = len(recs)
		return err
	})
	if got != n {
		t.Errorf("after Close: %d activity records, want %d", got, n)
	}
	if err := r.SignIn(context.Background(), signIn(0)); !errors.Is(err, ErrClosed) {
		t.Errorf("SignIn after Close = %v, want ErrClosed", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestContextCancelledWhileQueueFull(t *testing.T) {
	st := newStore(t, true)
	r := newRecorder(st, nil, 1)

	first := make(chan error, 1)
	go func() { first <- r.SignIn(context.Background(), signIn(0)) }()
	<-st.entered
	second := make(chan error, 1)
	go func() { second <- r.SignIn(context.Background(), signIn(1)) }()
	waitQueued(r, 1) // the queue (size 1) is now full

	ctx, cancel := context.WithCancel(context.Background())
	third := make(chan error, 1)
	go func() { third <- r.SignIn(ctx, signIn(2)) }()
	cancel()
	if err := <-third; !errors.Is(err, context.Canceled) {
		t.Errorf("SignIn with cancelled ctx on a full queue = %v, want context.Canceled", err)
	}

	close(st.gate)
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Errorf("SignIn: %v", err)
		}
	}
	r.Close()
	if diff := cmp.Diff([]string{"client-0000", "client-0001"}, listClientIDs(t, st)); diff != "" {
		t.Errorf("committed records (-want +got):\n%s", diff)
	}
}

// A caller that stops waiting is told so; its record may still commit, but
// it was never acknowledged.
func TestContextCancelledWhileWaitingForCommit(t *testing.T) {
	st := newStore(t, true)
	r := NewRecorder(st, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.SignIn(ctx, signIn(0)) }()
	<-st.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("SignIn = %v, want context.Canceled", err)
	}
	close(st.gate)
	r.Close()
}

func TestFillsIDAndTime(t *testing.T) {
	st := newStore(t, false)
	r := NewRecorder(st, nil)
	defer r.Close()
	before := time.Now().UTC().Add(-time.Second)
	if err := r.SignIn(context.Background(), signIn(7)); err != nil {
		t.Fatal(err)
	}
	fixed := store.SignIn{ID: "11111111-2222-3333-4444-555555555555", Time: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), TenantID: tenantID, ClientID: "fixed"}
	if err := r.SignIn(context.Background(), fixed); err != nil {
		t.Fatal(err)
	}
	var recs []store.SignIn
	_ = st.Read(context.Background(), func(tx store.Tx) (err error) {
		recs, err = tx.ListSignIns(store.AuditFilter{TenantID: tenantID})
		return err
	})
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2", len(recs))
	}
	for _, rec := range recs {
		switch rec.ClientID {
		case "fixed":
			if rec.ID != fixed.ID || !rec.Time.Equal(fixed.Time) {
				t.Errorf("given ID/Time not kept: got %s %s, want %s %s", rec.ID, rec.Time, fixed.ID, fixed.Time)
			}
		default:
			if len(rec.ID) != 36 || rec.Time.Before(before) {
				t.Errorf("ID/Time not filled in: %q %s", rec.ID, rec.Time)
			}
		}
	}
}

// A record the store refuses (a duplicate ID) fails alone; the records
// committed with it in the same batch still succeed.
func TestBadRecordFailsAlone(t *testing.T) {
	st := newStore(t, true)
	r := NewRecorder(st, nil)
	defer r.Close()
	dup := signIn(0)
	dup.ID = "11111111-2222-3333-4444-555555555555"

	first := make(chan error, 1)
	go func() { first <- r.SignIn(context.Background(), dup) }()
	<-st.entered
	const n = 5
	errs := make([]chan error, n)
	for i := range errs {
		errs[i] = make(chan error, 1)
		rec := signIn(i + 1)
		if i == 2 {
			rec = dup
		}
		go func() { errs[i] <- r.SignIn(context.Background(), rec) }()
	}
	waitQueued(r, n)
	close(st.gate)
	if err := <-first; err != nil {
		t.Fatalf("first: %v", err)
	}
	for i, ch := range errs {
		err := <-ch
		if wantErr := i == 2; (err != nil) != wantErr {
			t.Errorf("record %d: err = %v, want error: %v", i, err, wantErr)
		}
	}
	if got, want := len(listClientIDs(t, st)), n; got != want {
		t.Errorf("committed %d records, want %d", got, want)
	}
}

// All three streams share one writer: each record lands in its own log.
func TestAllThreeStreamsLand(t *testing.T) {
	st := newStore(t, false)
	r := NewRecorder(st, nil)
	defer r.Close()
	ctx := context.Background()
	if err := r.SignIn(ctx, signIn(1)); err != nil {
		t.Fatal(err)
	}
	if err := r.Activity(ctx, store.Activity{TenantID: tenantID, Operation: "op/write"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Access(ctx, store.Access{TenantID: tenantID, Service: "keyvault", Item: "secrets/s", TokenID: "uti-1"}); err != nil {
		t.Fatal(err)
	}
	var s, a, x int
	err := st.Read(ctx, func(tx store.Tx) error {
		si, err1 := tx.ListSignIns(store.AuditFilter{})
		ac, err2 := tx.ListActivity(store.AuditFilter{})
		ax, err3 := tx.ListAccess(store.AuditFilter{})
		s, a, x = len(si), len(ac), len(ax)
		if len(ax) == 1 && (ax[0].TokenID != "uti-1" || len(ax[0].ID) != 36) {
			t.Errorf("access record %+v", ax[0])
		}
		return errors.Join(err1, err2, err3)
	})
	if err != nil || s != 1 || a != 1 || x != 1 {
		t.Fatalf("sign-ins %d, activity %d, access %d (%v); want one each", s, a, x, err)
	}
}
