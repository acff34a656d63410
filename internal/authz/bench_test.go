package authz

import (
	"fmt"
	"testing"

	"github.com/signet-platform/signet/internal/store"
)

// BenchmarkCachingDecideHit is the Key Vault GET's decision as the data
// plane asks it, served from a warm cache: the caller holds Owner at the
// root and the subscription and Key Vault Secrets Officer at the vault (the
// dev admin of bench/keyvault), and ten other principals hold roles around
// the vault.
func BenchmarkCachingDecideHit(b *testing.B) {
	s := openStore(b)
	write(b, s, func(tx store.Tx) error {
		if err := SeedBuiltIns(tx); err != nil {
			return err
		}
		for i, a := range []store.RoleAssignment{
			assign("a1", alice, OwnerRoleID, "/"),
			assign("a2", alice, OwnerRoleID, sub1),
			assign("a3", alice, KeyVaultSecretsOfficerRoleID, vault),
		} {
			if err := tx.CreateRoleAssignment(a); err != nil {
				return fmt.Errorf("assignment %d: %w", i, err)
			}
		}
		for i := range 10 {
			other := fmt.Sprintf("22222222-2222-2222-2222-%012d", i)
			if err := tx.CreateRoleAssignment(assign(fmt.Sprint("o", i), other, KeyVaultSecretsUserRoleID, vault)); err != nil {
				return err
			}
		}
		return nil
	})
	az := &CachingAuthorizer{Store: s, Generations: watch(b, s)}
	req := Request{PrincipalID: alice, Action: getSecret, DataAction: true, Scope: secret1}
	if d, err := az.Decide(b.Context(), req); err != nil || !d.Allowed {
		b.Fatalf("Decide = %+v, %v; want allowed", d, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := az.Decide(b.Context(), req); err != nil || !d.Allowed {
			b.Fatalf("Decide = %+v, %v; want allowed", d, err)
		}
	}
}

// BenchmarkCachingDecideManyScopes asks about more distinct secrets than
// the decision cache holds, in turn, so every decision is computed from
// the principal's cached grants.
func BenchmarkCachingDecideManyScopes(b *testing.B) {
	s := openStore(b)
	write(b, s, func(tx store.Tx) error {
		if err := SeedBuiltIns(tx); err != nil {
			return err
		}
		for _, a := range []store.RoleAssignment{
			assign("a1", alice, OwnerRoleID, "/"),
			assign("a2", alice, OwnerRoleID, sub1),
			assign("a3", alice, KeyVaultSecretsOfficerRoleID, vault),
		} {
			if err := tx.CreateRoleAssignment(a); err != nil {
				return err
			}
		}
		return nil
	})
	az := &CachingAuthorizer{Store: s, Generations: watch(b, s)}
	scopes := make([]string, 50000)
	for i := range scopes {
		scopes[i] = fmt.Sprintf("%s/secrets/s%d", vault, i)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		req := Request{PrincipalID: alice, Action: getSecret, DataAction: true, Scope: scopes[i%len(scopes)]}
		i++
		if d, err := az.Decide(b.Context(), req); err != nil || !d.Allowed {
			b.Fatalf("Decide = %+v, %v; want allowed", d, err)
		}
	}
}

func BenchmarkMatchAction(b *testing.B) {
	for _, bm := range []struct{ name, pattern, action string }{
		{"literal", "Microsoft.KeyVault/vaults/secrets/getSecret/action", getSecret},
		{"trailing star", "Microsoft.KeyVault/vaults/secrets/*", getSecret},
		{"leading star", "*/read", "Microsoft.Compute/virtualMachines/read"},
		{"inner star", "Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write"},
		{"two stars", "Microsoft.KeyVault/*/secrets/*", getSecret},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !MatchAction(bm.pattern, bm.action) {
					b.Fatal("no match")
				}
			}
		})
	}
}
