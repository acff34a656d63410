package storetest

import (
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

const (
	readerRole      = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	contributorRole = "b24988ac-6180-42a0-ab88-20f7382dd24c"
)

func testRoleDefinitions(t *testing.T, s store.Store) {
	reader := store.RoleDefinition{
		ID: readerRole, RoleName: "Reader", Description: "View all resources", RoleType: "BuiltInRole",
		AssignableScopes: []string{"/"},
		Permissions:      []store.Permission{{Actions: []string{"*/read"}, NotActions: []string{}}},
		CreatedAt:        base, UpdatedAt: base,
	}
	custom := store.RoleDefinition{
		ID: "11111111-0000-4000-8000-000000000001", RoleName: "Key rotator", RoleType: "CustomRole",
		AssignableScopes: []string{"/subscriptions/" + subA1, "/subscriptions/" + subA2},
		Permissions: []store.Permission{
			{Actions: []string{"Signet.Keys/rotate/action"}, DataActions: []string{"Microsoft.KeyVault/vaults/secrets/getSecret/action"}},
			{NotDataActions: []string{"x/y"}},
		},
		CreatedAt: base, UpdatedAt: at(time.Hour),
	}
	createAll(t, s, func(tx store.Tx, d store.RoleDefinition) error { return tx.PutRoleDefinition(d) }, reader, custom)

	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRoleDefinition(upper(custom.ID))
		wantErr(t, "GetRoleDefinition", err, nil)
		diff(t, "GetRoleDefinition", got, custom)
		_, err = tx.GetRoleDefinition("11111111-0000-4000-8000-0000000000ff")
		wantErr(t, "GetRoleDefinition(missing)", err, store.ErrNotFound)
		list, err := tx.ListRoleDefinitions()
		wantErr(t, "ListRoleDefinitions", err, nil)
		diff(t, "ListRoleDefinitions", list, []store.RoleDefinition{custom, reader})
		return nil
	})

	custom2 := custom
	custom2.Description, custom2.AssignableScopes, custom2.UpdatedAt = "changed", []string{"/"}, at(2*time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.PutRoleDefinition(custom2) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRoleDefinition(custom.ID)
		wantErr(t, "GetRoleDefinition after replace", err, nil)
		diff(t, "GetRoleDefinition after replace", got, custom2)
		return nil
	})

	write(t, s, func(tx store.Tx) error { return tx.DeleteRoleDefinition(custom.ID) })
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteRoleDefinition(custom.ID) })
	wantErr(t, "DeleteRoleDefinition(already deleted)", err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListRoleDefinitions()
		wantErr(t, "ListRoleDefinitions after delete", err, nil)
		diff(t, "ListRoleDefinitions after delete", list, []store.RoleDefinition{reader})
		return nil
	})
}

func assignment(id, scope, role, principal string) store.RoleAssignment {
	return store.RoleAssignment{ID: id, Scope: scope, RoleDefinitionID: role, PrincipalID: principal,
		PrincipalType: "ServicePrincipal", Description: "d-" + id, CreatedAt: base, CreatedBy: "admin"}
}

func createAssignment(tx store.Tx, a store.RoleAssignment) error { return tx.CreateRoleAssignment(a) }

func testRoleAssignments(t *testing.T, s store.Store) {
	a := assignment("a0000000-0000-4000-8000-000000000001", "/subscriptions/"+subA1+"/resourceGroups/RG1", readerRole, spObject)
	createAll(t, s, createAssignment, a)
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetRoleAssignment(upper(a.ID))
		wantErr(t, "GetRoleAssignment", err, nil)
		diff(t, "GetRoleAssignment", got, a)
		_, err = tx.GetRoleAssignment("a0000000-0000-4000-8000-0000000000ff")
		wantErr(t, "GetRoleAssignment(missing)", err, store.ErrNotFound)
		return nil
	})

	for _, c := range []struct {
		name string
		a    store.RoleAssignment
		want error
	}{
		{"same id", assignment(upper(a.ID), "/", contributorRole, userObject), store.ErrConflict},
		{"same triple, other case", assignment("a0000000-0000-4000-8000-000000000002",
			"/SUBSCRIPTIONS/"+upper(subA1)+"/resourcegroups/rg1", upper(readerRole), upper(spObject)), store.ErrConflict},
		{"same triple, trailing slash", assignment("a0000000-0000-4000-8000-000000000003",
			"/subscriptions/"+subA1+"/resourceGroups/RG1/", readerRole, spObject), store.ErrConflict},
		{"other role", assignment("a0000000-0000-4000-8000-000000000004", a.Scope, contributorRole, spObject), nil},
		{"other principal", assignment("a0000000-0000-4000-8000-000000000005", a.Scope, readerRole, userObject), nil},
		{"scope below", assignment("a0000000-0000-4000-8000-000000000006", vm1ID, readerRole, spObject), nil},
	} {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateRoleAssignment(c.a) })
		wantErr(t, "CreateRoleAssignment("+c.name+")", err, c.want)
	}

	write(t, s, func(tx store.Tx) error { return tx.DeleteRoleAssignment(upper(a.ID)) })
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteRoleAssignment(a.ID) })
	wantErr(t, "DeleteRoleAssignment(already deleted)", err, store.ErrNotFound)
	// The triple is free again once deleted.
	createAll(t, s, createAssignment, assignment("a0000000-0000-4000-8000-000000000007", a.Scope, readerRole, spObject))
}

// The filter fixture: a tree of scopes with traps for prefix matching (rg1
// vs rg10, s_1 vs sX1 for LIKE wildcards) and for case.
const (
	sub1  = "/subscriptions/S1"
	rg1   = "/subscriptions/s1/resourceGroups/RG1"
	vm1   = "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
	rg10  = "/subscriptions/s1/resourceGroups/rg10"
	sub2  = "/subscriptions/s2"
	subU  = "/subscriptions/s_1"
	subX  = "/subscriptions/sX1"
	p1    = "0b000000-0000-4000-8000-000000000101"
	p2    = "0b000000-0000-4000-8000-000000000102"
	idRt  = "f0000000-0000-4000-8000-000000000001"
	idS1  = "f0000000-0000-4000-8000-000000000002"
	idRG1 = "f0000000-0000-4000-8000-000000000003"
	idVM1 = "f0000000-0000-4000-8000-000000000004"
	idR10 = "f0000000-0000-4000-8000-000000000005"
	idS2  = "f0000000-0000-4000-8000-000000000006"
	idSU  = "f0000000-0000-4000-8000-000000000007"
	idSX  = "f0000000-0000-4000-8000-000000000008"
)

func filterFixture() []store.RoleAssignment {
	return []store.RoleAssignment{
		assignment(idRt, "/", readerRole, p1),
		assignment(idS1, sub1, readerRole, p1),
		assignment(idRG1, rg1, contributorRole, p2),
		assignment(idVM1, vm1, contributorRole, p1),
		assignment(idR10, rg10, readerRole, p2),
		assignment(idS2, sub2, readerRole, p2),
		assignment(idSU, subU, readerRole, p1),
		assignment(idSX, subX, readerRole, p1),
	}
}

func testRoleAssignmentFilters(t *testing.T, s store.Store) {
	fixture := filterFixture()
	// Created in reverse so that ordering by ID is the backend's doing.
	write(t, s, func(tx store.Tx) error {
		for i := len(fixture) - 1; i >= 0; i-- {
			if err := tx.CreateRoleAssignment(fixture[i]); err != nil {
				return err
			}
		}
		return nil
	})
	all := []string{idRt, idS1, idRG1, idVM1, idR10, idS2, idSU, idSX}
	cases := []struct {
		name string
		f    store.RoleAssignmentFilter
		want []string
	}{
		{"no filter", store.RoleAssignmentFilter{}, all},
		{"principal", store.RoleAssignmentFilter{PrincipalID: upper(p1)}, []string{idRt, idS1, idVM1, idSU, idSX}},
		{"principal without assignments", store.RoleAssignmentFilter{PrincipalID: spObject}, nil},
		{"at scope, other case", store.RoleAssignmentFilter{AtScope: "/SUBSCRIPTIONS/s1/resourcegroups/rg1"}, []string{idRG1}},
		{"at scope, trailing slash", store.RoleAssignmentFilter{AtScope: "/subscriptions/s1/"}, []string{idS1}},
		{"at root", store.RoleAssignmentFilter{AtScope: "/"}, []string{idRt}},
		{"under root is everything", store.RoleAssignmentFilter{UnderScope: "/"}, all},
		{"under subscription", store.RoleAssignmentFilter{UnderScope: "/subscriptions/s1"}, []string{idS1, idRG1, idVM1, idR10}},
		{"under group: rg10 is not below rg1", store.RoleAssignmentFilter{UnderScope: rg1}, []string{idRG1, idVM1}},
		{"under a name prefix that is no scope", store.RoleAssignmentFilter{UnderScope: "/subscriptions/s1/resourceGroups/rg"}, nil},
		{"under s_1: no LIKE wildcards", store.RoleAssignmentFilter{UnderScope: subU}, []string{idSU}},
		{"under a resource", store.RoleAssignmentFilter{UnderScope: upper(vm1)}, []string{idVM1}},
		{"above a resource", store.RoleAssignmentFilter{AboveScope: vm1}, []string{idRt, idS1, idRG1, idVM1}},
		{"above a child scope of a resource", store.RoleAssignmentFilter{AboveScope: vm1 + "/extensions/x"}, []string{idRt, idS1, idRG1, idVM1}},
		{"above rg10", store.RoleAssignmentFilter{AboveScope: "/subscriptions/S1/resourcegroups/RG10"}, []string{idRt, idS1, idR10}},
		{"above root", store.RoleAssignmentFilter{AboveScope: "/"}, []string{idRt}},
		{"above an unknown subscription", store.RoleAssignmentFilter{AboveScope: "/subscriptions/s3/resourceGroups/x"}, []string{idRt}},
		{"above sX1", store.RoleAssignmentFilter{AboveScope: subX}, []string{idRt, idSX}},
		{"above and principal", store.RoleAssignmentFilter{AboveScope: vm1, PrincipalID: p2}, []string{idRG1}},
		{"under and principal", store.RoleAssignmentFilter{UnderScope: sub1, PrincipalID: p2}, []string{idRG1, idR10}},
		{"at and above", store.RoleAssignmentFilter{AtScope: sub1, AboveScope: vm1}, []string{idS1}},
		{"under and above", store.RoleAssignmentFilter{UnderScope: sub1, AboveScope: vm1}, []string{idS1, idRG1, idVM1}},
	}
	read(t, s, func(tx store.Tx) error {
		for _, c := range cases {
			got, err := tx.ListRoleAssignments(c.f)
			wantErr(t, "ListRoleAssignments("+c.name+")", err, nil)
			var gotIDs []string
			for _, a := range got {
				gotIDs = append(gotIDs, a.ID)
			}
			diff(t, "ListRoleAssignments("+c.name+")", gotIDs, c.want)
		}
		// Records come back whole.
		got, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{AtScope: vm1})
		wantErr(t, "ListRoleAssignments(records)", err, nil)
		diff(t, "ListRoleAssignments(records)", got, []store.RoleAssignment{fixture[3]})
		return nil
	})
}

func testRoleAssignmentDeletes(t *testing.T, s store.Store) {
	createAll(t, s, createAssignment, filterFixture()...)
	cases := []struct {
		name      string
		del       func(store.Tx) (int, error)
		wantCount int
		wantLeft  []string
	}{
		{"for principal", func(tx store.Tx) (int, error) { return tx.DeleteRoleAssignmentsForPrincipal(upper(p2)) },
			3, []string{idRt, idS1, idVM1, idSU, idSX}},
		{"under group", func(tx store.Tx) (int, error) { return tx.DeleteRoleAssignmentsUnderScope(rg1) },
			2, []string{idRt, idS1, idR10, idS2, idSU, idSX}},
		{"under subscription", func(tx store.Tx) (int, error) { return tx.DeleteRoleAssignmentsUnderScope("/SUBSCRIPTIONS/s1/") },
			4, []string{idRt, idS2, idSU, idSX}},
		{"under s_1", func(tx store.Tx) (int, error) { return tx.DeleteRoleAssignmentsUnderScope(subU) },
			1, []string{idRt, idS1, idRG1, idVM1, idR10, idS2, idSX}},
		{"under root", func(tx store.Tx) (int, error) { return tx.DeleteRoleAssignmentsUnderScope("/") },
			8, nil},
		{"nothing", func(tx store.Tx) (int, error) { return tx.DeleteRoleAssignmentsForPrincipal(spObject) },
			0, []string{idRt, idS1, idRG1, idVM1, idR10, idS2, idSU, idSX}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// Each case runs in a Write that is rolled back, on the same fixture.
			err := s.Write(t.Context(), func(tx store.Tx) error {
				n, err := c.del(tx)
				wantErr(t, "delete", err, nil)
				if n != c.wantCount {
					t.Errorf("deleted %d assignments, want %d", n, c.wantCount)
				}
				left, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{})
				wantErr(t, "ListRoleAssignments", err, nil)
				var ids []string
				for _, a := range left {
					ids = append(ids, a.ID)
				}
				diff(t, "left after delete", ids, c.wantLeft)
				return errRollback
			})
			wantErr(t, "Write", err, errRollback)
		})
	}
	read(t, s, func(tx store.Tx) error {
		left, err := tx.ListRoleAssignments(store.RoleAssignmentFilter{})
		wantErr(t, "ListRoleAssignments after rollbacks", err, nil)
		if len(left) != len(filterFixture()) {
			t.Errorf("after rolled-back deletes: %d assignments, want %d", len(left), len(filterFixture()))
		}
		return nil
	})
}
