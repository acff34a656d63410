package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// testAuditBatches appends batches larger than one statement's worth of
// rows, as the audit recorder does under load, and checks that a
// duplicate ID anywhere in a batch, against a stored record or an earlier
// record of the same batch, fails the whole batch.
func testAuditBatches(t *testing.T, s store.Store) {
	mk := func(from, n int) []store.Access {
		var out []store.Access
		for i := from; i < from+n; i++ {
			out = append(out, access(i, time.Duration(i)*time.Millisecond, tenantA, spObject, "success", 200))
		}
		return out
	}
	count := func() int {
		var n int
		read(t, s, func(tx store.Tx) error {
			got, err := tx.ListAccess(store.AuditFilter{Limit: 10000})
			n = len(got)
			return err
		})
		return n
	}
	first := mk(0, 100)
	write(t, s, func(tx store.Tx) error { return tx.AppendAccess(first) })

	dupStored := mk(100, 70)
	dupStored[50] = first[7]
	dupInBatch := mk(100, 70)
	dupInBatch[40].ID = dupInBatch[3].ID
	dupLater := mk(100, 70)
	dupLater[69].ID = dupLater[0].ID
	for _, c := range []struct {
		name  string
		batch []store.Access
	}{
		{"a stored record's ID in a later statement of the batch", dupStored},
		{"an ID twice in the batch", dupInBatch},
		{"an ID twice in the batch, in the last row", dupLater},
	} {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.AppendAccess(c.batch) })
		wantErr(t, "AppendAccess("+c.name+")", err, store.ErrConflict)
		if got := count(); got != len(first) {
			t.Errorf("after AppendAccess(%s) failed: %d records, want %d", c.name, got, len(first))
		}
	}
	if v := verify(t, s, store.StreamAccess); !v.OK || v.Checked != 100 || v.Head.Seq != 100 {
		t.Errorf("VerifyAudit(access) after failed batches = %+v, want OK with 100", v)
	}

	// Batches of every size up to past a statement's worth continue the
	// chain, in append order.
	next := 100
	for _, n := range []int{1, 2, 3, 31, 32, 33, 64, 97} {
		write(t, s, func(tx store.Tx) error { return tx.AppendAccess(mk(next, n)) })
		next += n
	}
	var got []store.Access
	read(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.ListAccess(store.AuditFilter{Limit: 10000})
		return err
	})
	for _, r := range got {
		var n int
		if _, err := fmt.Sscanf(r.ID[len(r.ID)-12:], "%d", &n); err != nil || r.Seq != int64(n+1) {
			t.Errorf("record %s: Seq %d, want %d (append order)", r.ID, r.Seq, n+1)
		}
	}
	if v := verify(t, s, store.StreamAccess); !v.OK || v.Checked != int64(next) || v.Head.Seq != int64(next) {
		t.Errorf("VerifyAudit(access) = %+v, want OK with %d", v, next)
	}

	// Retention may delete every record; appends then continue after the
	// checkpoint.
	write(t, s, func(tx store.Tx) error {
		_, err := tx.PruneAudit(store.StreamAccess, at(time.Hour), 10000)
		return err
	})
	write(t, s, func(tx store.Tx) error { return tx.AppendAccess(mk(next, 40)) })
	write(t, s, func(tx store.Tx) error { return tx.AppendAccess(mk(next+40, 5)) })
	if v := verify(t, s, store.StreamAccess); !v.OK || v.Checked != 45 || v.Pruned.Seq != int64(next) ||
		v.Head.Seq != int64(next+45) {
		t.Errorf("VerifyAudit(access) after pruning everything and appending = %+v, want OK, 45 checked after %d",
			v, next)
	}
}
