package audit

import (
	"context"
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

func countStreams(t *testing.T, st store.Store) map[store.AuditStream]int {
	t.Helper()
	out := map[store.AuditStream]int{}
	err := st.Read(t.Context(), func(tx store.Tx) error {
		for _, s := range store.AuditStreams {
			v, err := tx.VerifyAudit(s)
			if err != nil {
				return err
			}
			if !v.OK {
				t.Errorf("VerifyAudit(%s) after pruning: %+v", s, v.FirstBad)
			}
			out[s] = int(v.Checked)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPruneOnce(t *testing.T) {
	st := newStore(t, false)
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	ages := []time.Duration{72 * time.Hour, 48 * time.Hour, time.Hour}
	err := st.Write(t.Context(), func(tx store.Tx) error {
		for i, age := range ages {
			at, id := now.Add(-age), fmt.Sprint("r", i)
			if err := tx.AppendSignIns([]store.SignIn{{ID: id, Time: at, TenantID: tenantID, Result: "success"}}); err != nil {
				return err
			}
			if err := tx.AppendActivity([]store.Activity{{ID: id, Time: at, TenantID: tenantID, Result: "success"}}); err != nil {
				return err
			}
			if err := tx.AppendAccess([]store.Access{{ID: id, Time: at, TenantID: tenantID, Result: "success"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	p := &Pruner{Store: st, Retention: Retention{SignIns: 24 * time.Hour, Access: 60 * time.Hour},
		Batch: 1, Now: func() time.Time { return now }}
	got, err := p.PruneOnce(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.AuditStream]int{store.StreamSignIns: 2, store.StreamAccess: 1}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("deleted (-want +got):\n%s", d)
	}
	left := map[store.AuditStream]int{store.StreamSignIns: 1, store.StreamActivity: 3, store.StreamAccess: 2}
	if d := cmp.Diff(left, countStreams(t, st)); d != "" {
		t.Errorf("records left (-want +got):\n%s", d)
	}
}

// TestPrunerRuns checks the loop: a record is deleted at the first run
// after it has aged past its retention, not before.
func TestPrunerRuns(t *testing.T) {
	st := newStore(t, false)
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if err := st.Write(ctx, func(tx store.Tx) error {
			return tx.AppendSignIns([]store.SignIn{{ID: "old", Time: time.Now(), TenantID: tenantID, Result: "success"}})
		}); err != nil {
			t.Fatal(err)
		}
		p := &Pruner{Store: st, Retention: Retention{SignIns: 90 * time.Minute}, Interval: time.Hour}
		done := make(chan struct{})
		go func() { p.Run(ctx); close(done) }()

		time.Sleep(time.Hour + time.Second) // runs at 0 and 1h: not yet 90 minutes old
		synctest.Wait()
		if n := countStreams(t, st)[store.StreamSignIns]; n != 1 {
			t.Errorf("after 1h: %d sign-ins, want 1", n)
		}
		time.Sleep(time.Hour) // the run at 2h deletes it
		synctest.Wait()
		if n := countStreams(t, st)[store.StreamSignIns]; n != 0 {
			t.Errorf("after 2h: %d sign-ins, want 0", n)
		}
		cancel()
		<-done
	})
}
