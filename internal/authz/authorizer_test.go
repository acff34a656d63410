package authz

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

func openStore(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "signet.db"))
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func write(t testing.TB, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Write(t.Context(), fn); err != nil {
		t.Fatalf("store write: %v", err)
	}
}

// seedCustomRoles stores the custom roles of testRoles (built-ins come from SeedBuiltIns).
func seedCustomRoles(tx store.Tx) error {
	for _, r := range testRoles() {
		if r.RoleType == "CustomRole" {
			if err := tx.PutRoleDefinition(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestDecide runs every Evaluate case through a real SQLite store: the
// store's AboveScope filter and the Authorizer's role loading must reach the
// same answers as Evaluate over the full lists.
func TestDecide(t *testing.T) {
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
			az := &Authorizer{Store: s}
			got, err := az.Decide(t.Context(), tt.req)
			if err != nil {
				t.Fatalf("Decide: %v", err)
			}
			if got.Allowed != tt.allowed || got.RoleName != tt.role {
				t.Errorf("Decide(%+v) = allowed %v by %q, want allowed %v by %q", tt.req, got.Allowed, got.RoleName, tt.allowed, tt.role)
			}
		})
	}
}

func TestDecideRemovedAssignmentTakesEffectAtOnce(t *testing.T) {
	s := openStore(t)
	write(t, s, func(tx store.Tx) error {
		if err := SeedBuiltIns(tx); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(assign("a1", alice, ContributorRoleID, groupA))
	})
	az := &Authorizer{Store: s}
	req := Request{PrincipalID: alice, Action: "Microsoft.Compute/virtualMachines/write", Scope: vm1}

	got, err := az.Decide(t.Context(), req)
	if err != nil || !got.Allowed || got.AssignmentID != "a1" {
		t.Fatalf("Decide before removal = %+v, %v; want allowed by a1", got, err)
	}
	write(t, s, func(tx store.Tx) error { return tx.DeleteRoleAssignment("a1") })
	got, err = az.Decide(t.Context(), req)
	if err != nil || got.Allowed {
		t.Fatalf("Decide after removal = %+v, %v; want denied", got, err)
	}
}

func TestDecideCustomRoleChangeTakesEffectAtOnce(t *testing.T) {
	s := openStore(t)
	write(t, s, func(tx store.Tx) error {
		if err := seedCustomRoles(tx); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(assign("a1", alice, customSecretsNoDeleteID, vault))
	})
	az := &Authorizer{Store: s}
	req := Request{PrincipalID: alice, Action: getSecret, DataAction: true, Scope: secret1}
	if got, err := az.Decide(t.Context(), req); err != nil || !got.Allowed {
		t.Fatalf("Decide before narrowing = %+v, %v; want allowed", got, err)
	}
	// Another replica narrows the role; this Authorizer is not told.
	write(t, s, func(tx store.Tx) error {
		r := testRoles()[customSecretsNoDeleteID]
		r.Permissions[0].NotDataActions = append(r.Permissions[0].NotDataActions, getSecret)
		return tx.PutRoleDefinition(r)
	})
	if got, err := az.Decide(t.Context(), req); err != nil || got.Allowed {
		t.Fatalf("Decide after narrowing = %+v, %v; want denied", got, err)
	}
}

func TestDecideStoreErrorIsAnError(t *testing.T) {
	s := openStore(t)
	az := &Authorizer{Store: s}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	got, err := az.Decide(ctx, Request{PrincipalID: alice, Action: "x/read", Scope: sub1})
	if err == nil {
		t.Fatal("Decide with a cancelled context: err = nil, want an error")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Decide error = %v, want it to wrap context.Canceled", err)
	}
	if got.Allowed {
		t.Error("Decide with an error allowed the request")
	}
}

func TestSeedBuiltInsIdempotent(t *testing.T) {
	s := openStore(t)
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	write(t, s, func(tx store.Tx) error {
		// An older copy with a creation time and stale permissions.
		old := BuiltInRoles[2]
		old.CreatedAt, old.Permissions = created, nil
		return tx.PutRoleDefinition(old)
	})
	for range 2 {
		write(t, s, func(tx store.Tx) error { return SeedBuiltIns(tx) })
	}
	var got []store.RoleDefinition
	if err := s.Read(t.Context(), func(tx store.Tx) error {
		var err error
		got, err = tx.ListRoleDefinitions()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(BuiltInRoles) {
		t.Fatalf("after seeding twice: %d role definitions, want %d", len(got), len(BuiltInRoles))
	}
	byID := make(map[string]store.RoleDefinition)
	for _, r := range got {
		byID[r.ID] = r
	}
	for _, want := range BuiltInRoles {
		r, ok := byID[want.ID]
		if !ok {
			t.Errorf("role %s (%s) not stored", want.ID, want.RoleName)
			continue
		}
		if diff := cmp.Diff(want.Permissions, r.Permissions); diff != "" {
			t.Errorf("role %s permissions mismatch (-want +got):\n%s", want.RoleName, diff)
		}
	}
	if got := byID[BuiltInRoles[2].ID].CreatedAt; !got.Equal(created) {
		t.Errorf("seeding changed CreatedAt of an existing row to %v, want %v", got, created)
	}
}
