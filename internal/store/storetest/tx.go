package storetest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"github.com/signet-platform/signet/internal/store"
)

func testWriteAtomicity(t *testing.T, s store.Store) {
	sp, _, _, _ := principals()
	secret, _, _ := credentials()
	// An error from fn after several writes keeps none of them, and reaches
	// the caller unchanged.
	err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateTenant(store.Tenant{ID: tenantA, DisplayName: "a"}); err != nil {
			return err
		}
		if err := tx.CreatePrincipal(sp); err != nil {
			return err
		}
		if err := tx.CreateCredential(secret); err != nil {
			return err
		}
		if err := tx.CreateRoleAssignment(assignment(idRt, "/", readerRole, spObject)); err != nil {
			return err
		}
		if err := tx.AppendSignIns([]store.SignIn{signIn(1, 0, tenantA, spObject, "success")}); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errRollback)
	})
	wantErr(t, "Write returning an error", err, errRollback)

	// A store error returned by fn rolls back the same way.
	err = s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.CreateTenant(store.Tenant{ID: tenantB, DisplayName: "b"}); err != nil {
			return err
		}
		return tx.DeleteRoleAssignment("a0000000-0000-4000-8000-0000000000ff")
	})
	wantErr(t, "Write returning ErrNotFound", err, store.ErrNotFound)

	read(t, s, func(tx store.Tx) error {
		tenants, err := tx.ListTenants()
		wantErr(t, "ListTenants", err, nil)
		diff(t, "tenants after rolled-back Writes", tenants, []store.Tenant(nil))
		_, err = tx.GetPrincipal(spObject)
		wantErr(t, "GetPrincipal after rollback", err, store.ErrNotFound)
		creds, err := tx.ListCredentials(spObject)
		wantErr(t, "ListCredentials after rollback", err, nil)
		diff(t, "credentials after rollback", creds, []store.Credential(nil))
		ras, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{})
		wantErr(t, "ListRoleAssignments after rollback", err, nil)
		diff(t, "role assignments after rollback", ras, []store.RoleAssignment(nil))
		ins, err := tx.ListSignIns(store.AuditFilter{})
		wantErr(t, "ListSignIns after rollback", err, nil)
		diff(t, "sign-ins after rollback", ins, []store.SignIn(nil))
		return nil
	})

	// And a Write that succeeds keeps everything.
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateTenant(store.Tenant{ID: tenantA, DisplayName: "a"}); err != nil {
			return err
		}
		return tx.CreatePrincipal(sp)
	})
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetTenant(tenantA)
		wantErr(t, "GetTenant after commit", err, nil)
		_, err = tx.GetPrincipal(spObject)
		wantErr(t, "GetPrincipal after commit", err, nil)
		return nil
	})
}

// testUsableAfterConflict: a caller may handle ErrConflict or ErrNotFound and
// go on in the same transaction ("create, or else update"). PostgreSQL
// aborts a transaction on any statement error, so a backend must keep
// these errors from poisoning it.
func testUsableAfterConflict(t *testing.T, s store.Store) {
	sp, sys, _, _ := principals()
	createAll(t, s, createPrincipal, sp, sys)
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateTenant(store.Tenant{ID: tenantA}); err != nil {
			return err
		}
		if err := tx.CreateTenant(store.Tenant{ID: tenantA}); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("CreateTenant(duplicate) = %v, want ErrConflict", err)
		}
		clash := sp
		clash.ClientID = sysClient
		if err := tx.UpdatePrincipal(clash); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("UpdatePrincipal(clashing client id) = %v, want ErrConflict", err)
		}
		orphan, _, _ := credentials()
		orphan.PrincipalID = "0b000000-0000-4000-8000-0000000000ff"
		if err := tx.CreateCredential(orphan); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("CreateCredential(unknown principal) = %v, want ErrNotFound", err)
		}
		if err := tx.MarkAssertionUsed("i", "j", base.AddDate(100, 0, 0)); err != nil {
			return err
		}
		if err := tx.MarkAssertionUsed("i", "j", base.AddDate(100, 0, 0)); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("MarkAssertionUsed(replay) = %v, want ErrConflict", err)
		}
		if _, err := tx.GetTenant(tenantB); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("GetTenant(missing) = %v, want ErrNotFound", err)
		}
		return tx.CreateTenant(store.Tenant{ID: tenantB})
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListTenants()
		wantErr(t, "ListTenants", err, nil)
		if len(got) != 2 {
			t.Errorf("after a transaction that went on past conflicts: %d tenants, want 2", len(got))
		}
		p, err := tx.GetPrincipal(spObject)
		wantErr(t, "GetPrincipal", err, nil)
		diff(t, "principal after a failed update", p, sp)
		return nil
	})
}

func testReadIsReadOnly(t *testing.T, s store.Store) {
	err := s.Read(t.Context(), func(tx store.Tx) error {
		return tx.CreateTenant(store.Tenant{ID: tenantA})
	})
	if err == nil {
		t.Errorf("CreateTenant inside Read: no error, want one")
	}
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetTenant(tenantA)
		wantErr(t, "GetTenant after a write attempted in Read", err, store.ErrNotFound)
		return nil
	})
	// An error from a Read callback reaches the caller unchanged.
	err = s.Read(t.Context(), func(tx store.Tx) error { return errRollback })
	wantErr(t, "Read returning an error", err, errRollback)
}

// testReadSnapshot commits a Write while a Read is open: the Read keeps
// seeing the state of its first statement.
func testReadSnapshot(t *testing.T, s store.Store) {
	createAll(t, s, func(tx store.Tx, v store.Tenant) error { return tx.CreateTenant(v) }, store.Tenant{ID: tenantA})
	read(t, s, func(tx store.Tx) error {
		before, err := tx.ListTenants()
		wantErr(t, "ListTenants", err, nil)
		write(t, s, func(wtx store.Tx) error {
			if err := wtx.CreateTenant(store.Tenant{ID: tenantB}); err != nil {
				return err
			}
			return wtx.CreatePrincipal(store.Principal{ObjectID: spObject, ClientID: spClient, TenantID: tenantB})
		})
		after, err := tx.ListTenants()
		wantErr(t, "ListTenants", err, nil)
		diff(t, "tenants seen by a Read across a concurrent commit", after, before)
		_, err = tx.GetPrincipal(spObject)
		wantErr(t, "GetPrincipal committed after the Read began", err, store.ErrNotFound)
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListTenants()
		wantErr(t, "ListTenants in a new Read", err, nil)
		if len(got) != 2 {
			t.Errorf("a new Read sees %d tenants, want 2", len(got))
		}
		return nil
	})
}

func testCanceledContext(t *testing.T, s store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Write(ctx, func(tx store.Tx) error { return tx.CreateTenant(store.Tenant{ID: tenantA}) })
	if err == nil {
		t.Errorf("Write with a canceled context: no error")
	}
	if err := s.Read(ctx, func(tx store.Tx) error { _, err := tx.ListTenants(); return err }); err == nil {
		t.Errorf("Read with a canceled context: no error")
	}
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetTenant(tenantA)
		wantErr(t, "GetTenant after a canceled Write", err, store.ErrNotFound)
		return nil
	})
}

// testConcurrentWrites: Writes from several goroutines all land.
func testConcurrentWrites(t *testing.T, s store.Store) {
	const workers, each = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("7e000000-0000-4000-8000-%06d%06d", w, i)
				errs <- s.Write(t.Context(), func(tx store.Tx) error {
					return tx.CreateTenant(store.Tenant{ID: id, DisplayName: id, CreatedAt: base})
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, "concurrent CreateTenant", err, nil)
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListTenants()
		wantErr(t, "ListTenants", err, nil)
		if len(got) != workers*each {
			t.Errorf("after concurrent Writes: %d tenants, want %d", len(got), workers*each)
		}
		return nil
	})
}

// testConcurrentReadModifyWrite increments one counter from several
// goroutines, each increment a read-modify-write in one Write: any lost
// update shows as a short count. Backends that retry on serialization
// failures rerun fn, which is why fn recomputes from what it reads.
func testConcurrentReadModifyWrite(t *testing.T, s store.Store) {
	const workers, each = 4, 10
	write(t, s, func(tx store.Tx) error {
		return tx.PutResourceGroup(store.ResourceGroup{SubscriptionID: subA1, Name: "counter",
			Tags: map[string]string{"n": "0"}})
	})
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				errs <- s.Write(t.Context(), func(tx store.Tx) error {
					rg, err := tx.GetResourceGroup(subA1, "counter")
					if err != nil {
						return err
					}
					n, err := strconv.Atoi(rg.Tags["n"])
					if err != nil {
						return err
					}
					rg.Tags = map[string]string{"n": strconv.Itoa(n + 1)}
					return tx.PutResourceGroup(rg)
				})
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		wantErr(t, "increment", err, nil)
	}
	read(t, s, func(tx store.Tx) error {
		rg, err := tx.GetResourceGroup(subA1, "counter")
		wantErr(t, "GetResourceGroup", err, nil)
		if got, want := rg.Tags["n"], strconv.Itoa(workers*each); got != want {
			t.Errorf("counter after concurrent increments = %s, want %s", got, want)
		}
		return nil
	})
}

// testPanicInWrite: a callback that panics propagates the panic, keeps
// nothing, and leaves the store usable (no leaked lock or connection: on a
// single-writer backend a leak would hang every later Write).
func testPanicInWrite(t *testing.T, s store.Store) {
	for i := range 3 {
		func() {
			defer func() {
				if r := recover(); r != "storetest: boom" {
					t.Errorf("recovered %v, want the callback's panic", r)
				}
			}()
			_ = s.Write(t.Context(), func(tx store.Tx) error {
				if err := tx.CreateTenant(store.Tenant{ID: fmt.Sprint("panicked-", i)}); err != nil {
					return err
				}
				panic("storetest: boom")
			})
		}()
	}
	write(t, s, func(tx store.Tx) error { return tx.CreateTenant(store.Tenant{ID: tenantA}) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListTenants()
		wantErr(t, "ListTenants", err, nil)
		diff(t, "tenants after panicking Writes", got, []store.Tenant{{ID: tenantA}})
		return nil
	})
}
