package authz

import (
	"strings"
	"testing"
)

func TestMatchAction(t *testing.T) {
	tests := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.Compute/virtualMachines/write", true},
		{"*", "", true},
		{"*/read", "Microsoft.Compute/virtualMachines/read", true},
		{"*/read", "Microsoft.Compute/virtualMachines/write", false},
		{"*/read", "Microsoft.KeyVault/vaults/secrets/readMetadata/action", false},
		{"*/READ", "microsoft.compute/virtualmachines/read", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleDefinitions/write", true},
		{"Microsoft.Authorization/*/Write", "Microsoft.Compute/virtualMachines/write", false},
		{"Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/read", false},
		{"Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaults/secrets/getSecret/action", true},
		{"Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vaultsX/secrets/getSecret/action", false},
		{"Microsoft.KeyVault/vaults/*", "Microsoft.KeyVault/vault", false},
		{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/read", true},
		{"Microsoft.KeyVault/vaults/*/read", "Microsoft.KeyVault/vaults/secrets/getSecret/action", false},
		{"Microsoft.Compute/virtualMachines/read", "microsoft.compute/VirtualMachines/Read", true},
		{"Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/reads", false},
		{"Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/rea", false},
		{"Microsoft.Compute/*", "Microsoft.ComputeX/foo", false},
		// A whole-segment "*" may stand for no segment, as in Azure.
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/action", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/x/y/assign/action", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentitiesassign/action", false},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/assign/action", "Microsoft.ManagedIdentity/userAssignedIdentities/assign/actions", false},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/read", true},
		{"Microsoft.ManagedIdentity/userAssignedIdentities/*/read", "Microsoft.ManagedIdentity/userAssignedIdentities/write", false},
		{"a/*/*/b", "a/b", true},
		{"a/*/*/b", "a/x/b", true},
		{"a/*b", "a/b", true},
		{"a*/b", "a/b", true},
		{"a/**", "a/", true},
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
	}
	for _, tt := range tests {
		if got := MatchAction(tt.pattern, tt.action); got != tt.want {
			t.Errorf("MatchAction(%q, %q) = %v, want %v", tt.pattern, tt.action, got, tt.want)
		}
	}
}

// Matching time must stay polynomial whatever a custom role's pattern is.
func TestMatchActionHostilePattern(t *testing.T) {
	pattern := strings.Repeat("*a", 500) + "b"
	action := strings.Repeat("a", 2000)
	if MatchAction(pattern, action) {
		t.Errorf("MatchAction(hostile) = true, want false")
	}
}

func FuzzMatchAction(f *testing.F) {
	f.Add("Microsoft.Authorization/*/Write", "Microsoft.Authorization/roleAssignments/write")
	f.Add("a/*/b", "a/b")
	f.Fuzz(func(t *testing.T, pattern, action string) {
		got := MatchAction(pattern, action)
		// A pattern without wildcards is an equality test.
		if !strings.Contains(pattern, "*") && got != (strings.ToLower(pattern) == strings.ToLower(action)) {
			t.Fatalf("MatchAction(%q, %q) = %v without wildcards", pattern, action, got)
		}
		// Every string matches itself once its stars are taken literally.
		if !MatchAction(action, action) {
			t.Fatalf("MatchAction(%q, itself) = false", action)
		}
		if !MatchAction("*", action) {
			t.Fatalf("MatchAction(*, %q) = false", action)
		}
	})
}
