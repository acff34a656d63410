package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// auditTests are the tamper-evidence, filter and paging checks.
var auditTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"AuditChain", testAuditChain},
	{"AuditFilters", testAuditFilters},
	{"AuditPaging", testAuditPaging},
	{"AuditPrune", testAuditPrune},
	{"AuditConcurrentAppends", testAuditConcurrentAppends},
	{"AuditBatches", testAuditBatches},
}

func verify(t *testing.T, s store.Store, stream store.AuditStream) store.AuditVerification {
	t.Helper()
	var v store.AuditVerification
	read(t, s, func(tx store.Tx) error {
		var err error
		v, err = tx.VerifyAudit(stream)
		return err
	})
	return v
}

// testAuditChain checks that appends are numbered and linked in append
// order, per stream, and that an untouched store verifies.
func testAuditChain(t *testing.T, s store.Store) {
	for _, stream := range store.AuditStreams {
		v := verify(t, s, stream)
		if !v.OK || v.Checked != 0 || v.Head.Seq != 0 || v.FirstBad != nil {
			t.Errorf("VerifyAudit(%s) on an empty store = %+v, want OK with nothing checked", stream, v)
		}
	}
	// Batches out of time order: the chain follows append order.
	write(t, s, func(tx store.Tx) error {
		return tx.AppendSignIns([]store.SignIn{signIn(3, 3*time.Second, tenantA, spObject, "success"),
			signIn(1, time.Second, tenantA, spObject, "failure")})
	})
	write(t, s, func(tx store.Tx) error {
		if err := tx.AppendActivity([]store.Activity{activity(1, time.Second, tenantA, spObject, "success", 200)}); err != nil {
			return err
		}
		return tx.AppendSignIns([]store.SignIn{signIn(2, 2*time.Second, tenantA, spObject, "success")})
	})
	// A failed batch takes no sequence numbers.
	err := s.Write(t.Context(), func(tx store.Tx) error {
		return tx.AppendSignIns([]store.SignIn{signIn(4, 4*time.Second, tenantA, spObject, "success"),
			signIn(1, time.Second, tenantA, spObject, "failure")})
	})
	wantErr(t, "AppendSignIns(duplicate)", err, store.ErrConflict)
	write(t, s, func(tx store.Tx) error {
		return tx.AppendSignIns([]store.SignIn{signIn(5, 5*time.Second, tenantA, spObject, "success")})
	})

	var got []store.SignIn
	read(t, s, func(tx store.Tx) error {
		got, err = tx.ListSignIns(store.AuditFilter{})
		return err
	})
	bySeq := slices.Clone(got)
	slices.SortFunc(bySeq, func(a, b store.SignIn) int { return int(a.Seq - b.Seq) })
	var ids []string
	prev := make([]byte, 32)
	for i, r := range bySeq {
		ids = append(ids, r.ID[len(r.ID)-1:])
		if r.Seq != int64(i+1) {
			t.Errorf("record %s: Seq %d, want %d", r.ID, r.Seq, i+1)
		}
		if !bytes.Equal(r.PrevHash, prev) {
			t.Errorf("record %s: PrevHash %x, want the previous record's hash %x", r.ID, r.PrevHash, prev)
		}
		if len(r.Hash) != 32 || bytes.Equal(r.Hash, r.PrevHash) {
			t.Errorf("record %s: Hash %x, want a fresh SHA-256", r.ID, r.Hash)
		}
		prev = r.Hash
	}
	if got, want := strings.Join(ids, ""), "3125"; got != want {
		t.Errorf("sign-ins in sequence order: %s, want %s (append order)", got, want)
	}
	v := verify(t, s, store.StreamSignIns)
	if !v.OK || v.Checked != 4 || v.Head.Seq != 4 || !bytes.Equal(v.Head.Hash, prev) {
		t.Errorf("VerifyAudit(signins) = %+v, want OK, 4 checked, head 4 at the last hash", v)
	}
	if v := verify(t, s, store.StreamActivity); !v.OK || v.Checked != 1 {
		t.Errorf("VerifyAudit(activity) = %+v, want OK with its own chain of 1", v)
	}
	read(t, s, func(tx store.Tx) error {
		if _, err := tx.VerifyAudit("nope"); err == nil {
			t.Error("VerifyAudit(unknown stream): no error")
		}
		return nil
	})
}

// testAuditFilters checks the filters beyond the original five.
func testAuditFilters(t *testing.T, s store.Store) {
	vm10 := vm1ID + "0" // a sibling whose id extends vm1's: not below it
	rg := vm1ID[:strings.Index(vm1ID, "/providers/")]
	acts := []store.Activity{
		activity(1, time.Second, tenantA, spObject, "success", 200),
		activity(2, 2*time.Second, tenantA, spObject, "success", 200),
		activity(3, 3*time.Second, tenantA, spObject, "success", 200),
	}
	acts[1].ResourceID, acts[1].Operation = vm10, "Microsoft.Compute/virtualMachines/delete"
	acts[2].ResourceID = rg
	recs := []store.Access{
		access(1, time.Second, tenantA, spObject, "success", 200),
		access(2, 2*time.Second, tenantA, spObject, "success", 200),
	}
	recs[1].ResourceID, recs[1].Action, recs[1].TokenID = vm10, "Microsoft.KeyVault/vaults/secrets/setSecret/action", "uti-x"
	ins := []store.SignIn{signIn(1, time.Second, tenantA, spObject, "success"), signIn(2, 2*time.Second, tenantA, spObject, "success")}
	ins[1].Resource = "https://vault.azure.net"
	write(t, s, func(tx store.Tx) error {
		if err := tx.AppendActivity(acts); err != nil {
			return err
		}
		if err := tx.AppendAccess(recs); err != nil {
			return err
		}
		return tx.AppendSignIns(ins)
	})
	actCases := []struct {
		name string
		f    store.AuditFilter
		want []store.Activity
	}{
		{"resource", store.AuditFilter{ResourceID: upper(vm1ID)}, nth(acts, 1)},
		{"resource group scope", store.AuditFilter{ResourceID: rg + "/"}, nth(acts, 3, 2, 1)},
		{"subscription scope", store.AuditFilter{ResourceID: rg[:strings.Index(rg, "/resourceGroups")]}, nth(acts, 3, 2, 1)},
		{"root scope", store.AuditFilter{ResourceID: "/"}, nth(acts, 3, 2, 1)},
		{"sibling", store.AuditFilter{ResourceID: vm10}, nth(acts, 2)},
		{"operation", store.AuditFilter{Operation: strings.ToUpper("Microsoft.Compute/virtualMachines/delete")}, nth(acts, 2)},
		{"token id never matches activity", store.AuditFilter{TokenID: "uti-1"}, nil},
		{"after", store.AuditFilter{After: store.AuditCursor{Time: acts[1].Time, ID: acts[1].ID}}, nth(acts, 1)},
		{"after, same time, smaller id", store.AuditFilter{After: store.AuditCursor{Time: acts[1].Time, ID: acts[1].ID + "z"}}, nth(acts, 2, 1)},
	}
	read(t, s, func(tx store.Tx) error {
		for _, c := range actCases {
			got, err := tx.ListActivity(c.f)
			wantErr(t, "ListActivity("+c.name+")", err, nil)
			auditDiff(t, "ListActivity("+c.name+")", got, c.want)
		}
		for _, c := range []struct {
			name string
			f    store.AuditFilter
			want []store.Access
		}{
			{"resource", store.AuditFilter{ResourceID: vm1ID}, recs[:1]},
			{"token id", store.AuditFilter{TokenID: "uti-x"}, recs[1:]},
			{"action", store.AuditFilter{Operation: "microsoft.keyvault/vaults/secrets/getsecret/action"}, recs[:1]},
		} {
			got, err := tx.ListAccess(c.f)
			wantErr(t, "ListAccess("+c.name+")", err, nil)
			auditDiff(t, "ListAccess("+c.name+")", got, c.want)
		}
		for _, c := range []struct {
			name string
			f    store.AuditFilter
			want []store.SignIn
		}{
			{"resource is the audience asked for", store.AuditFilter{ResourceID: "https://vault.azure.net"}, ins[1:]},
			{"token id", store.AuditFilter{TokenID: "uti-1"}, ins[:1]},
			{"operation never matches sign-ins", store.AuditFilter{Operation: "x"}, nil},
		} {
			got, err := tx.ListSignIns(c.f)
			wantErr(t, "ListSignIns("+c.name+")", err, nil)
			auditDiff(t, "ListSignIns("+c.name+")", got, c.want)
		}
		return nil
	})
}

// testAuditPaging lists with every filter in small pages, continuing from
// the last record of each page, and checks that the pages together are
// exactly the records the filter selects, newest first (a reference
// implementation of the filter in Go decides which).
func testAuditPaging(t *testing.T, s store.Store) {
	principals := []string{spObject, userObject, bObject}
	var ins []store.SignIn
	for i := range 120 {
		// Every third record shares its time with the previous one, so the
		// id breaks ties across page boundaries.
		d := time.Duration(i-i/3) * time.Second
		r := signIn(i, d, []string{tenantA, tenantB}[i%2], principals[i%3], []string{"success", "failure"}[i/7%2])
		if i%5 == 0 {
			r.Resource = "https://vault.azure.net"
		}
		ins = append(ins, r)
	}
	for lo := 0; lo < len(ins); lo += 50 {
		write(t, s, func(tx store.Tx) error { return tx.AppendSignIns(ins[lo:min(lo+50, len(ins))]) })
	}
	match := func(f store.AuditFilter, r store.SignIn) bool {
		return (f.TenantID == "" || strings.EqualFold(f.TenantID, r.TenantID)) &&
			(f.PrincipalID == "" || strings.EqualFold(f.PrincipalID, r.PrincipalID)) &&
			(f.Result == "" || f.Result == r.Result) &&
			(f.ResourceID == "" || f.ResourceID == r.Resource) &&
			(f.TokenID == "" || f.TokenID == r.TokenID) &&
			(f.Since.IsZero() || !r.Time.Before(f.Since)) &&
			(f.Until.IsZero() || r.Time.Before(f.Until))
	}
	filters := map[string]store.AuditFilter{
		"all":                   {},
		"tenant":                {TenantID: tenantB},
		"principal and window":  {PrincipalID: upper(userObject), Since: at(10 * time.Second), Until: at(60 * time.Second)},
		"tenant and principal":  {TenantID: tenantA, PrincipalID: spObject},
		"result and resource":   {Result: "failure", ResourceID: "https://vault.azure.net"},
		"token":                 {TokenID: "uti-42"},
		"everything but tokens": {TenantID: tenantA, PrincipalID: bObject, Result: "success", Since: at(5 * time.Second), Until: at(75 * time.Second)},
	}
	for name, f := range filters {
		var want []store.SignIn
		for _, r := range ins {
			if match(f, r) {
				want = append(want, r)
			}
		}
		slices.SortFunc(want, func(a, b store.SignIn) int {
			if c := b.Time.Compare(a.Time); c != 0 {
				return c
			}
			return strings.Compare(b.ID, a.ID)
		})
		for _, size := range []int{1, 7, 1000} {
			var got []store.SignIn
			page := f
			page.Limit = size
			for range len(ins) + 2 {
				var recs []store.SignIn
				read(t, s, func(tx store.Tx) error {
					var err error
					recs, err = tx.ListSignIns(page)
					return err
				})
				got = append(got, recs...)
				if len(recs) < size {
					break
				}
				last := recs[len(recs)-1]
				page.After = store.AuditCursor{Time: last.Time, ID: last.ID}
			}
			auditDiff(t, fmt.Sprintf("%s in pages of %d", name, size), got, want)
		}
	}
}

// testAuditPrune checks retention: the oldest records go in sequence order,
// the chain still verifies from the checkpoint, and a record older than the
// cut-off behind a newer one in sequence is kept with it.
func testAuditPrune(t *testing.T, s store.Store) {
	ins := []store.SignIn{
		signIn(1, 1*time.Second, tenantA, spObject, "success"),
		signIn(2, 2*time.Second, tenantA, spObject, "success"),
		signIn(3, 3*time.Second, tenantA, spObject, "success"),
		signIn(4, 9*time.Second, tenantA, spObject, "success"), // newer than the cut-off
		signIn(5, 4*time.Second, tenantA, spObject, "success"), // older, but after 4 in the chain
	}
	write(t, s, func(tx store.Tx) error { return tx.AppendSignIns(ins) })
	prune := func(before time.Time, max int) int {
		var n int
		write(t, s, func(tx store.Tx) error {
			var err error
			n, err = tx.PruneAudit(store.StreamSignIns, before, max)
			return err
		})
		return n
	}
	cut := at(5 * time.Second)
	if n := prune(cut, 2); n != 2 {
		t.Errorf("PruneAudit(max 2) = %d, want 2", n)
	}
	if n := prune(cut, 100); n != 1 {
		t.Errorf("PruneAudit(rest) = %d, want 1 (record 5 stays behind record 4)", n)
	}
	if n := prune(cut, 100); n != 0 {
		t.Errorf("PruneAudit(again) = %d, want 0", n)
	}
	var got []store.SignIn
	read(t, s, func(tx store.Tx) error {
		var err error
		got, err = tx.ListSignIns(store.AuditFilter{})
		return err
	})
	auditDiff(t, "ListSignIns after pruning", got, []store.SignIn{ins[3], ins[4]})
	v := verify(t, s, store.StreamSignIns)
	if !v.OK || v.Checked != 2 || v.Pruned.Seq != 3 || v.Head.Seq != 5 {
		t.Errorf("VerifyAudit after pruning = %+v, want OK, 2 checked, pruned through 3, head 5", v)
	}
	// Appends continue the chain after pruning.
	write(t, s, func(tx store.Tx) error {
		return tx.AppendSignIns([]store.SignIn{signIn(6, 10*time.Second, tenantA, spObject, "success")})
	})
	if n := prune(at(time.Hour), 100); n != 3 {
		t.Errorf("PruneAudit(everything) = %d, want 3", n)
	}
	if v := verify(t, s, store.StreamSignIns); !v.OK || v.Checked != 0 || v.Pruned.Seq != 6 || v.Head.Seq != 6 {
		t.Errorf("VerifyAudit after pruning everything = %+v, want OK, pruned through the head", v)
	}
}

// testAuditConcurrentAppends appends from many goroutines at once: the
// chain must come out whole (no fork, no gap), as it must with several
// replicas on one PostgreSQL.
func testAuditConcurrentAppends(t *testing.T, s store.Store) {
	const writers, each = 8, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				n := w*each + i
				errs <- s.Write(t.Context(), func(tx store.Tx) error {
					if err := tx.AppendSignIns([]store.SignIn{signIn(n, time.Duration(n)*time.Second, tenantA, spObject, "success")}); err != nil {
						return err
					}
					return tx.AppendAccess([]store.Access{access(n, time.Duration(n)*time.Second, tenantA, spObject, "success", 200)})
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent append: %v", err)
		}
	}
	for _, stream := range []store.AuditStream{store.StreamSignIns, store.StreamAccess} {
		if v := verify(t, s, stream); !v.OK || v.Checked != writers*each || v.Head.Seq != writers*each {
			t.Errorf("VerifyAudit(%s) after concurrent appends = %+v, want OK with %d records", stream, v, writers*each)
		}
	}
}
