package audit

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

func listAccessItems(t *testing.T, st store.Store) []string {
	t.Helper()
	var items []string
	err := st.Read(context.Background(), func(tx store.Tx) error {
		recs, err := tx.ListAccess(store.AuditFilter{TenantID: tenantID, Limit: 100000})
		for _, r := range recs {
			items = append(items, r.Item)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(items)
	return items
}

// AccessAsync returns while the writer is stuck in a commit (a waiting
// call would never return here), and the record lands once it goes on.
func TestAccessAsyncDoesNotWaitForCommit(t *testing.T) {
	st := newStore(t, true)
	r := NewRecorder(st, nil)
	// The first record takes the writer into the gated Write.
	if err := r.AccessAsync(store.Access{TenantID: tenantID, Service: "keyvault", Item: "secrets/a"}); err != nil {
		t.Fatalf("AccessAsync: %v", err)
	}
	<-st.entered
	if err := r.AccessAsync(store.Access{TenantID: tenantID, Service: "keyvault", Item: "secrets/b"}); err != nil {
		t.Fatalf("AccessAsync while the writer is busy: %v", err)
	}
	if got := listAccessItems(t, st); len(got) != 0 {
		t.Errorf("before the commit: %v, want nothing yet", got)
	}
	close(st.gate)
	if err := r.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if diff := cmp.Diff([]string{"secrets/a", "secrets/b"}, listAccessItems(t, st)); diff != "" {
		t.Errorf("committed (-want +got):\n%s", diff)
	}
	if err := r.AccessAsync(store.Access{TenantID: tenantID, Item: "secrets/late"}); !errors.Is(err, ErrClosed) {
		t.Errorf("AccessAsync after Close = %v, want ErrClosed", err)
	}
}

// With a queue of one and the writer stuck, callers outnumber the room by
// far: they wait for room rather than drop records, and Close commits them
// all.
func TestAccessAsyncFullQueueNeverDrops(t *testing.T) {
	st := newStore(t, true)
	r := newRecorder(st, nil, 1)
	if err := r.AccessAsync(store.Access{TenantID: tenantID, Item: "item-000"}); err != nil {
		t.Fatal(err)
	}
	<-st.entered
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		wg.Go(func() { errs <- r.AccessAsync(store.Access{TenantID: tenantID, Item: fmt.Sprintf("item-%03d", i)}) })
	}
	waitQueued(r, 1) // full: the other callers are held back
	close(st.gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("AccessAsync: %v", err)
		}
	}
	r.Close()
	want := make([]string, 0, n+1)
	for i := 0; i <= n; i++ {
		want = append(want, fmt.Sprintf("item-%03d", i))
	}
	if diff := cmp.Diff(want, listAccessItems(t, st)); diff != "" {
		t.Errorf("committed (-want +got):\n%s", diff)
	}
}

// Flush waits for the records queued before it.
func TestFlushCommitsQueuedRecords(t *testing.T) {
	st := newStore(t, false)
	r := NewRecorder(st, nil)
	defer r.Close()
	var want []string
	for i := range 20 {
		item := fmt.Sprintf("item-%02d", i)
		want = append(want, item)
		if err := r.AccessAsync(store.Access{TenantID: tenantID, Item: item}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if diff := cmp.Diff(want, listAccessItems(t, st)); diff != "" {
		t.Errorf("after Flush (-want +got):\n%s", diff)
	}
}

// Records nobody waits for linger for company: many AccessAsync records
// go into one commit, which a record someone waits for (here Flush)
// starts at once instead of after the linger.
func TestAsyncRecordsLingerIntoOneCommit(t *testing.T) {
	st := newStore(t, false)
	r := newRecorder(st, nil, queueSize)
	r.lingerFor = time.Hour // only the Flush can end it
	defer r.Close()
	const n = 100
	for i := range n {
		if err := r.AccessAsync(store.Access{TenantID: tenantID, Item: fmt.Sprintf("item-%03d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if got := st.writes.Load(); got != 0 {
		t.Fatalf("%d commits while lingering, want 0", got)
	}
	if err := r.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := st.writes.Load(), int64(1); got != want {
		t.Errorf("%d commits for %d async records and a flush, want %d", got, n, want)
	}
	if got := len(listAccessItems(t, st)); got != n {
		t.Errorf("%d records committed, want %d", got, n)
	}
}
