package storetest

import (
	"fmt"
	"testing"

	"github.com/signet-platform/signet/internal/store"
)

var generationTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"GenerationsStart", testGenerationsStart},
	{"GenerationsMoveWithEveryChange", testGenerationsMoveWithEveryChange},
	{"GenerationBumpIsTransactional", testGenerationBumpIsTransactional},
	{"GenerationBumpInRead", testGenerationBumpInRead},
}

func generations(t *testing.T, s store.Store) map[store.Generation]int64 {
	t.Helper()
	var out map[store.Generation]int64
	read(t, s, func(tx store.Tx) error {
		var err error
		out, err = tx.Generations()
		return err
	})
	return out
}

func testGenerationsStart(t *testing.T, s store.Store) {
	got := generations(t, s)
	for _, g := range store.AllGenerations {
		if v, ok := got[g]; !ok || v < 0 {
			t.Errorf("Generations()[%s] = %d, %v; want a counter", g, v, ok)
		}
	}
}

// genPrincipal and genCredential are a principal and credential of their
// own, so the generation tests do not depend on what other tests created.
var (
	genPrincipal = store.Principal{ObjectID: "0b000000-0000-4000-8000-0000000000f1", ClientID: "0c000000-0000-4000-8000-0000000000f1",
		TenantID: tenantA, Kind: store.KindServicePrincipal, DisplayName: "gen", Enabled: true, CreatedAt: base}
	genCredential = store.Credential{ID: "c1000000-0000-4000-8000-0000000000f1", PrincipalID: genPrincipal.ObjectID,
		Kind: store.CredentialSecret, SecretHash: []byte("hash"), Hint: "gen", CreatedAt: base}
)

// Every write method of a domain moves its generation, and only its own,
// by exactly one per transaction however many changes it holds; reads and
// writes that change nothing move nothing.
func testGenerationsMoveWithEveryChange(t *testing.T, s store.Store) {
	role := store.RoleDefinition{ID: "c0000000-0000-4000-8000-000000000001", RoleName: "custom", RoleType: "CustomRole",
		AssignableScopes: []string{"/"}, CreatedAt: base, UpdatedAt: base}
	assignment := func(id, scope string) store.RoleAssignment {
		return store.RoleAssignment{ID: id, Scope: scope, RoleDefinitionID: role.ID, PrincipalID: "p1", PrincipalType: "User", CreatedAt: base}
	}
	ver := func(v string) store.SecretVersion {
		return store.SecretVersion{Vault: "kv1", Name: "s", Version: v, ValueSealed: []byte("x"), Enabled: true, CreatedAt: base, UpdatedAt: base}
	}
	tests := []struct {
		name   string
		domain store.Generation // "" when nothing may move
		fn     func(tx store.Tx) error
	}{
		{"PutRoleDefinition", store.GenRBAC, func(tx store.Tx) error { return tx.PutRoleDefinition(role) }},
		{"CreateRoleAssignment x3", store.GenRBAC, func(tx store.Tx) error {
			for i, scope := range []string{"/subscriptions/s1", "/subscriptions/s1/resourceGroups/rg", "/subscriptions/s2"} {
				if err := tx.CreateRoleAssignment(assignment(fmt.Sprintf("a0000000-0000-4000-8000-00000000000%d", i), scope)); err != nil {
					return err
				}
			}
			return nil
		}},
		{"DeleteRoleAssignment", store.GenRBAC, func(tx store.Tx) error {
			return tx.DeleteRoleAssignment("a0000000-0000-4000-8000-000000000000")
		}},
		{"DeleteRoleAssignmentsUnderScope", store.GenRBAC, func(tx store.Tx) error {
			_, err := tx.DeleteRoleAssignmentsUnderScope("/subscriptions/s1")
			return err
		}},
		{"DeleteRoleAssignmentsUnderScope (none)", "", func(tx store.Tx) error {
			_, err := tx.DeleteRoleAssignmentsUnderScope("/subscriptions/s9")
			return err
		}},
		{"DeleteRoleAssignmentsForPrincipal", store.GenRBAC, func(tx store.Tx) error {
			_, err := tx.DeleteRoleAssignmentsForPrincipal("P1")
			return err
		}},
		{"DeleteRoleDefinition", store.GenRBAC, func(tx store.Tx) error { return tx.DeleteRoleDefinition(role.ID) }},
		{"CreateVault", store.GenSecrets, func(tx store.Tx) error { return tx.CreateVault(testVault("kv1")) }},
		{"UpdateVault", store.GenSecrets, func(tx store.Tx) error {
			v := testVault("kv1")
			v.RetentionDays = 7
			return tx.UpdateVault(v)
		}},
		{"PutSecret and CreateSecretVersion", store.GenSecrets, func(tx store.Tx) error {
			if err := tx.PutSecret(store.Secret{Vault: "kv1", Name: "s", CurrentVersion: "v1"}); err != nil {
				return err
			}
			return tx.CreateSecretVersion(ver("v1"))
		}},
		{"UpdateSecretVersion", store.GenSecrets, func(tx store.Tx) error {
			v := ver("v1")
			v.Enabled = false
			return tx.UpdateSecretVersion(v)
		}},
		{"PurgeSecret", store.GenSecrets, func(tx store.Tx) error { return tx.PurgeSecret("kv1", "s") }},
		{"DeleteVault", store.GenSecrets, func(tx store.Tx) error { return tx.DeleteVault("kv1") }},
		{"CreatePrincipal", store.GenPrincipals, func(tx store.Tx) error { return tx.CreatePrincipal(genPrincipal) }},
		{"UpdatePrincipal (disable)", store.GenPrincipals, func(tx store.Tx) error {
			p := genPrincipal
			p.Enabled = false
			return tx.UpdatePrincipal(p)
		}},
		{"CreateCredential", store.GenPrincipals, func(tx store.Tx) error { return tx.CreateCredential(genCredential) }},
		{"DeleteCredential", store.GenPrincipals, func(tx store.Tx) error { return tx.DeleteCredential(genCredential.ID) }},
		{"CreateCredential and DeletePrincipal", store.GenPrincipals, func(tx store.Tx) error {
			if err := tx.CreateCredential(genCredential); err != nil {
				return err
			}
			return tx.DeletePrincipal(genPrincipal.ObjectID)
		}},
		{"other records", "", func(tx store.Tx) error { return tx.CreateTenant(store.Tenant{ID: tenantA}) }},
		{"BumpGeneration twice", store.GenSecrets, func(tx store.Tx) error {
			if err := tx.BumpGeneration(store.GenSecrets); err != nil {
				return err
			}
			return tx.BumpGeneration(store.GenSecrets)
		}},
	}
	for _, tt := range tests {
		before := generations(t, s)
		write(t, s, tt.fn)
		after := generations(t, s)
		for _, g := range store.AllGenerations {
			want := before[g]
			if g == tt.domain {
				want++
			}
			if got := after[g]; got != want {
				t.Errorf("%s: generation %s went from %d to %d, want %d", tt.name, g, before[g], got, want)
			}
		}
	}
}

// A bump is part of its transaction: rolled back with it, and visible to
// the transaction itself.
func testGenerationBumpIsTransactional(t *testing.T, s store.Store) {
	before := generations(t, s)
	err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.BumpGeneration(store.GenRBAC); err != nil {
			return err
		}
		inside, err := tx.Generations()
		if err != nil {
			return err
		}
		if got, want := inside[store.GenRBAC], before[store.GenRBAC]+1; got != want {
			t.Errorf("inside the bumping transaction: %d, want %d", got, want)
		}
		return errRollback
	})
	wantErr(t, "Write", err, errRollback)
	if got, want := generations(t, s)[store.GenRBAC], before[store.GenRBAC]; got != want {
		t.Errorf("after a rolled-back bump: %d, want %d", got, want)
	}
}

func testGenerationBumpInRead(t *testing.T, s store.Store) {
	err := s.Read(t.Context(), func(tx store.Tx) error { return tx.BumpGeneration(store.GenSecrets) })
	if err == nil {
		t.Error("BumpGeneration inside Read: no error, want one")
	}
}
