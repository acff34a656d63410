package sqlstore_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// The second time a transaction runs the same statements, they run
// prepared, with the same results as unprepared, including the conflict
// and not-found answers and (on PostgreSQL) a transaction that goes on past
// a constraint violation inside a savepoint.
func TestPreparedStatementsBehaveAlike(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, _, _ := b.new(t)
			s := open(t, dsn)
			pass := func(round int) []string {
				tenant := fmt.Sprintf("7e000000-0000-4000-8000-%012d", round)
				scope := "/subscriptions/" + tenant + "/resourceGroups/rg"
				var got []string
				err := s.Write(t.Context(), func(tx store.Tx) error {
					if err := tx.CreateTenant(store.Tenant{ID: tenant, DisplayName: "t", CreatedAt: time.Now()}); err != nil {
						return err
					}
					got = append(got, fmt.Sprint("duplicate tenant: ", errors.Is(tx.CreateTenant(store.Tenant{ID: tenant}), store.ErrConflict)))
					p := store.Principal{ObjectID: tenant, TenantID: tenant, ClientID: "c-" + tenant, Kind: store.KindServicePrincipal, DisplayName: "p"}
					if err := tx.CreatePrincipal(p); err != nil {
						return err
					}
					p2 := p
					p2.ObjectID = fmt.Sprintf("7e000000-0000-4000-8001-%012d", round)
					got = append(got, fmt.Sprint("clashing client id: ", errors.Is(tx.CreatePrincipal(p2), store.ErrConflict)))
					for i := range 3 {
						err := tx.CreateRoleAssignment(store.RoleAssignment{ID: fmt.Sprintf("7e000000-0000-4000-8002-%011d%d", round, i),
							Scope: scope, RoleDefinitionID: fmt.Sprintf("role-%d", i), PrincipalID: tenant, CreatedAt: time.Now()})
						if err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatalf("round %d: Write: %v", round, err)
				}
				err = s.Read(t.Context(), func(tx store.Tx) error {
					as, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{PrincipalID: tenant, AboveScope: scope + "/providers/x/y/z"})
					if err != nil {
						return err
					}
					got = append(got, fmt.Sprint("assignments above: ", len(as)))
					_, err = tx.GetTenant("7effffff-0000-4000-8000-000000000000")
					got = append(got, fmt.Sprint("missing tenant: ", errors.Is(err, store.ErrNotFound)))
					tn, err := tx.GetTenant(tenant)
					got = append(got, "tenant: "+tn.ID[len(tn.ID)-3:])
					return err
				})
				if err != nil {
					t.Fatalf("round %d: Read: %v", round, err)
				}
				return got
			}
			want := func(round int) []string {
				return []string{"duplicate tenant: true", "clashing client id: true", "assignments above: 3", "missing tenant: true",
					fmt.Sprintf("tenant: %03d", round)}
			}
			if diff := cmp.Diff(want(1), pass(1)); diff != "" {
				t.Errorf("unprepared round (-want +got):\n%s", diff)
			}
			prepared := sqlstore.PreparedStatements(s)
			if prepared == 0 {
				t.Fatal("no statement was prepared after the first round")
			}
			for round := 2; round <= 3; round++ {
				if diff := cmp.Diff(want(round), pass(round)); diff != "" {
					t.Errorf("prepared round %d (-want +got):\n%s", round, diff)
				}
			}
			if got := sqlstore.PreparedStatements(s); got != prepared {
				t.Errorf("prepared statements after repeating the same work: %d, want still %d", got, prepared)
			}
		})
	}
}

// A Write callback that panics after running a statement for the first
// time leaves the store usable (the preparation it claimed is not attempted
// while the panicking transaction still holds SQLite's one writer
// connection).
func TestPanicAfterFirstUseOfStatement(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			dsn, _, _ := b.new(t)
			s := open(t, dsn)
			func() {
				defer func() { _ = recover() }()
				_ = s.Write(t.Context(), func(tx store.Tx) error {
					_, _ = tx.ListTenants()
					panic("boom")
				})
			}()
			var n int
			err := s.Write(t.Context(), func(tx store.Tx) error {
				ts, err := tx.ListTenants()
				n = len(ts)
				return err
			})
			if err != nil || n != 0 {
				t.Fatalf("Write after a panic: %d tenants, %v; want 0, nil", n, err)
			}
		})
	}
}
