package authz

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// watch runs a GenerationWatcher on s until the test ends.
func watch(t testing.TB, s store.Store) *store.GenerationWatcher {
	t.Helper()
	w := &store.GenerationWatcher{Store: s, Interval: 250 * time.Millisecond}
	// Subscribed and polled before the first decision (Run does the same,
	// in its own goroutine; it keeps the polls coming).
	t.Cleanup(s.(store.GenerationNotifier).NotifyGenerations(w.Advance))
	if err := w.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { w.Run(ctx, nil); close(stopped) }()
	t.Cleanup(func() { cancel(); <-stopped })
	return w
}

// Every Evaluate case reaches the same answer through the cache, when the
// entry is loaded and when it is served from the cache.
func TestCachingDecide(t *testing.T) {
	for _, tt := range decisionCases() {
		t.Run(tt.name, func(t *testing.T) {
			s := openStore(t)
			write(t, s, func(tx store.Tx) error {
				if err := SeedBuiltIns(tx); err != nil {
					return err
				}
				if err := seedCustomRoles(tx); err != nil {
					return err
				}
				for _, a := range tt.assignments {
					if err := tx.CreateRoleAssignment(a); err != nil {
						return err
					}
				}
				return nil
			})
			az := &CachingAuthorizer{Store: s, Generations: watch(t, s)}
			for _, pass := range []string{"load", "cached"} {
				got, err := az.Decide(t.Context(), tt.req)
				if err != nil {
					t.Fatalf("%s: Decide: %v", pass, err)
				}
				if got.Allowed != tt.allowed || got.RoleName != tt.role {
					t.Errorf("%s: Decide(%+v) = allowed %v by %q, want allowed %v by %q", pass, tt.req, got.Allowed, got.RoleName, tt.allowed, tt.role)
				}
			}
		})
	}
}

// A removed assignment denies the next decision at once when removed
// through this process's store, and within the poll interval when removed
// through another store on the same database (another replica); so does a
// narrowed custom role.
func TestCachingDecideSeesChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "signet.db")
	synctest.Test(t, func(t *testing.T) {
		open := func() store.Store {
			s, err := sqlstore.Open(context.Background(), "sqlite:"+path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}
		here, there := open(), open()
		write(t, here, func(tx store.Tx) error {
			if err := SeedBuiltIns(tx); err != nil {
				return err
			}
			if err := seedCustomRoles(tx); err != nil {
				return err
			}
			for _, a := range []store.RoleAssignment{
				assign("a1", alice, ContributorRoleID, groupA),
				assign("a2", alice, ContributorRoleID, vm1),
				assign("a3", alice, customSecretsNoDeleteID, vault),
			} {
				if err := tx.CreateRoleAssignment(a); err != nil {
					return err
				}
			}
			return nil
		})
		w := watch(t, here)
		az := &CachingAuthorizer{Store: here, Generations: w}
		vmWrite := Request{PrincipalID: alice, Action: "Microsoft.Compute/virtualMachines/write", Scope: vm1}
		secretGet := Request{PrincipalID: alice, Action: getSecret, DataAction: true, Scope: secret1}
		decide := func(what string, req Request, want bool) {
			t.Helper()
			got, err := az.Decide(context.Background(), req)
			if err != nil || got.Allowed != want {
				t.Errorf("%s: Decide = allowed %v, %v; want allowed %v", what, got.Allowed, err, want)
			}
		}
		decide("before any change", vmWrite, true)
		decide("before any change", secretGet, true)

		write(t, here, func(tx store.Tx) error { return tx.DeleteRoleAssignment("a1") })
		decide("a1 removed here, a2 left", vmWrite, true)
		write(t, here, func(tx store.Tx) error { return tx.DeleteRoleAssignment("a2") })
		decide("right after the last assignment was removed here", vmWrite, false)

		write(t, there, func(tx store.Tx) error {
			r := testRoles()[customSecretsNoDeleteID]
			r.Permissions[0].NotDataActions = append(r.Permissions[0].NotDataActions, getSecret)
			return tx.PutRoleDefinition(r)
		})
		decide("role narrowed by another replica, before a poll (Azure's propagation delay)", secretGet, true)
		time.Sleep(w.Interval)
		synctest.Wait()
		decide("one poll interval after another replica narrowed the role", secretGet, false)

		write(t, there, func(tx store.Tx) error {
			return tx.CreateRoleAssignment(assign("a4", alice, ContributorRoleID, groupA))
		})
		time.Sleep(w.Interval)
		synctest.Wait()
		decide("one poll interval after another replica granted", vmWrite, true)
	})
}

// A watcher that cannot vouch for the generation (no recent poll) makes
// every decision read the store.
func TestCachingDecideWithoutGeneration(t *testing.T) {
	s := openStore(t)
	write(t, s, func(tx store.Tx) error {
		return tx.CreateRoleAssignment(assign("a1", alice, ContributorRoleID, groupA))
	})
	az := &CachingAuthorizer{Store: s, Generations: &store.GenerationWatcher{Store: s}} // never polled
	req := Request{PrincipalID: alice, Action: "Microsoft.Compute/virtualMachines/write", Scope: vm1}
	if got, err := az.Decide(t.Context(), req); err != nil || !got.Allowed {
		t.Fatalf("Decide = %+v, %v; want allowed", got, err)
	}
	// The watcher never polled, so the cache is bypassed and the removal
	// is seen without any poll or notification.
	write(t, s, func(tx store.Tx) error { return tx.DeleteRoleAssignment("a1") })
	if got, err := az.Decide(t.Context(), req); err != nil || got.Allowed {
		t.Fatalf("Decide after removal = %+v, %v; want denied", got, err)
	}
}

// fixedGeneration is a generation source the test moves by hand.
type fixedGeneration struct{ gen atomic.Int64 }

func (f *fixedGeneration) Current(store.Generation) (int64, bool) { return f.gen.Load(), true }

// A repeated decision is served from the decision cache (a change the
// generation does not announce is not seen), the served decision is the
// one computed, and once the generation moves the next decision is made
// afresh: a removed assignment denies, a granted one allows.
func TestCachingDecisionCache(t *testing.T) {
	s := openStore(t)
	write(t, s, func(tx store.Tx) error {
		if err := SeedBuiltIns(tx); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(assign("a1", alice, KeyVaultSecretsUserRoleID, vault))
	})
	gens := &fixedGeneration{}
	az := &CachingAuthorizer{Store: s, Generations: gens}
	req := Request{PrincipalID: alice, Action: getSecret, DataAction: true, Scope: secret1}
	decide := func(what string, req Request) Decision {
		t.Helper()
		d, err := az.Decide(t.Context(), req)
		if err != nil {
			t.Fatalf("%s: Decide: %v", what, err)
		}
		return d
	}

	first := decide("first", req)
	if !first.Allowed || first.AssignmentID != "a1" {
		t.Fatalf("first decision = %+v, want allowed by a1", first)
	}
	// Removed behind the generation's back: only a cache answers "allowed".
	write(t, s, func(tx store.Tx) error { return tx.DeleteRoleAssignment("a1") })
	if diff := cmp.Diff(first, decide("cached", req)); diff != "" {
		t.Errorf("cached decision differs from the computed one (-computed +cached):\n%s", diff)
	}
	// The same question spelled differently is its own entry and echoes its
	// own spelling; its grants are the (cached) principal's.
	upper := req
	upper.PrincipalID = strings.ToUpper(alice)
	if got := decide("other spelling", upper); !got.Allowed || got.Request != upper {
		t.Errorf("decision for %+v = %+v, want allowed, echoing the request", upper, got)
	}

	gens.gen.Add(1)
	// Another question first, so that the grants are reloaded under the
	// new generation before req is asked again.
	other := req
	other.Scope = secret2
	if got := decide("another secret after the generation moved", other); got.Allowed {
		t.Errorf("decision at %s after the assignment was removed and the generation moved = %+v, want denied", other.Scope, got)
	}
	if got := decide("after the generation moved", req); got.Allowed {
		t.Errorf("decision after the assignment was removed and the generation moved = %+v, want denied", got)
	}
	write(t, s, func(tx store.Tx) error {
		return tx.CreateRoleAssignment(assign("a2", alice, KeyVaultSecretsUserRoleID, vault))
	})
	if got := decide("denial cached", req); got.Allowed {
		t.Errorf("cached denial = %+v, want denied until the generation moves", got)
	}
	gens.gen.Add(1)
	if got := decide("granted, generation moved", req); !got.Allowed || got.AssignmentID != "a2" {
		t.Errorf("decision after a grant and a generation move = %+v, want allowed by a2", got)
	}
}

// The decision cache stays within MaxDecisions, and a decision dropped
// from it is computed again, correctly.
func TestCachingDecisionCacheIsBounded(t *testing.T) {
	s := openStore(t)
	write(t, s, func(tx store.Tx) error {
		if err := SeedBuiltIns(tx); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(assign("a1", alice, KeyVaultSecretsUserRoleID, vault))
	})
	const limit = 3
	az := &CachingAuthorizer{Store: s, Generations: &fixedGeneration{}, MaxDecisions: limit}
	for i := range 4 * limit {
		for _, tt := range []struct {
			scope string
			want  bool
		}{{fmt.Sprintf("%s/secrets/s%d", vault, i), true}, {fmt.Sprintf("%s/secrets/s%d", account, i), false}} {
			d, err := az.Decide(t.Context(), Request{PrincipalID: alice, Action: getSecret, DataAction: true, Scope: tt.scope})
			if err != nil || d.Allowed != tt.want {
				t.Fatalf("Decide at %s = %+v, %v; want allowed %v", tt.scope, d, err, tt.want)
			}
			az.mu.RLock()
			n := len(az.decisions)
			az.mu.RUnlock()
			if n > limit {
				t.Fatalf("decision cache holds %d, limit %d", n, limit)
			}
		}
	}
}
