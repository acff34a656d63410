package resourceid

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		in        string
		level     Level
		canonical string
		resType   string // Resource.ResourceType() at LevelResource
		child     []string
	}{
		{"/", LevelRoot, "/", "", nil},
		{"/subscriptions/s", LevelSubscription, "/subscriptions/s", "", nil},
		{"/subscriptions/s/", LevelSubscription, "/subscriptions/s", "", nil},
		{"/Subscriptions/s/ResourceGroups/RG", LevelResourceGroup, "/subscriptions/s/resourceGroups/RG", "", nil},
		{vm, LevelResource, vm, "Microsoft.Compute/virtualMachines", nil},
		{"/providers/Microsoft.Management/managementGroups/mg1", LevelResource, "/providers/Microsoft.Management/managementGroups/mg1", "Microsoft.Management/managementGroups", nil},
		{rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets/s1", LevelResource, rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets/s1", "Microsoft.KeyVault/vaults/secrets", nil},
		{rg + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c", LevelResource,
			rg + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c", "Microsoft.Storage/storageAccounts/blobServices/containers", nil},
		{rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets", LevelResource, rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets", "Microsoft.KeyVault/vaults", []string{"secrets"}},
		{vm + "/PROVIDERS/Microsoft.Authorization/roleAssignments/x", LevelResource, vm + "/PROVIDERS/Microsoft.Authorization/roleAssignments/x",
			"Microsoft.Compute/virtualMachines", []string{"PROVIDERS", "Microsoft.Authorization", "roleAssignments", "x"}},
		{rg + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c/blobs/dir/file name.txt", LevelResource,
			rg + "/providers/Microsoft.Storage/storageAccounts/a/blobServices/default/containers/c/blobs/dir/file name.txt",
			"Microsoft.Storage/storageAccounts/blobServices/containers/blobs", []string{"file name.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if err != nil {
				t.Fatalf("ParseScope(%q) error: %v", tt.in, err)
			}
			if got.Level != tt.level {
				t.Errorf("Level = %v, want %v", got.Level, tt.level)
			}
			if got, want := got.String(), tt.canonical; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if tt.level == LevelResource {
				if got, want := got.Resource.ResourceType(), tt.resType; got != want {
					t.Errorf("Resource.ResourceType() = %q, want %q", got, want)
				}
			}
			if diff := cmp.Diff(tt.child, got.Child, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Child mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseScopeInvalid(t *testing.T) {
	for _, in := range []string{
		"", "subscriptions/s", "//", "/subscriptions", "/subscriptions/s//", "/subscriptions/s/resourceGroups",
		"/subscriptions/s/providers", "/subscriptions/s/providers/Microsoft.Compute", "/providers/Microsoft.Compute/virtualMachines",
		"/subscriptions/s/locations/westus", "/foo", "/subscriptions/s/resourceGroups/rg/..", "/subscriptions/s\t",
	} {
		if got, err := ParseScope(in); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseScope(%q) = %+v, %v; want ErrInvalid", in, got, err)
		}
	}
}

func TestContains(t *testing.T) {
	tests := []struct {
		scope, target string
		want          bool
	}{
		{"/", "/", true},
		{"/", vm, true},
		{sub, sub, true},
		{sub, vm, true},
		{rg, vm, true},
		{vm, vm, true},
		{vm, rg, false},
		{sub, "/", false},
		{"/subscriptions/a", "/subscriptions/ab", false},
		{"/subscriptions/ab", "/subscriptions/a", false},
		{"/subscriptions/a", "/subscriptions/a/resourceGroups/g", true},
		{"/subscriptions/A/RESOURCEGROUPS/rg1", "/subscriptions/a/resourceGroups/RG1/providers/microsoft.compute/VIRTUALMACHINES/VM1", true},
		{rg + "/providers/Microsoft.Compute/virtualMachines/vm", vm, false},
		{rg + "/providers/Microsoft.Compute/virtualMachines/vm1", rg + "/providers/Microsoft.Compute/virtualMachines/vm10", false},
		{rg + "/providers/Microsoft.KeyVault/vaults/v1", rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets/s1", true},
		{rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets/s1", rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets/s2", false},
		{rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets/s1", rg + "/providers/Microsoft.KeyVault/vaults/v1", false},
		{vm + "/", vm, true},
		{sub, "/subscriptions/s2", false},
		{"/subscriptions/other", vm, false},
		{"not a scope", vm, false},
		{"/", "not a scope", false},
		{sub, sub + "//x", false},
		{sub + "/resourceGroups/rg1/..", vm, false},
	}
	for _, tt := range tests {
		if got := Contains(tt.scope, tt.target); got != tt.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", tt.scope, tt.target, got, tt.want)
		}
	}
}

func TestAncestors(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"/", []string{"/"}},
		{"/subscriptions/s/", []string{"/subscriptions/s", "/"}},
		{"/subscriptions/s/resourcegroups/rg", []string{"/subscriptions/s/resourceGroups/rg", "/subscriptions/s", "/"}},
		{"/subscriptions/s/resourceGroups/rg/providers/P.Q/vaults/v/secrets/x", []string{
			"/subscriptions/s/resourceGroups/rg/providers/P.Q/vaults/v/secrets/x",
			"/subscriptions/s/resourceGroups/rg/providers/P.Q/vaults/v/secrets",
			"/subscriptions/s/resourceGroups/rg/providers/P.Q/vaults/v",
			"/subscriptions/s/resourceGroups/rg",
			"/subscriptions/s",
			"/",
		}},
		{"/subscriptions/s/providers/P.Q/t/n", []string{"/subscriptions/s/providers/P.Q/t/n", "/subscriptions/s", "/"}},
		{"/providers/Microsoft.Management/managementGroups/mg", []string{"/providers/Microsoft.Management/managementGroups/mg", "/"}},
		{"bogus", nil},
	}
	for _, tt := range tests {
		got := Ancestors(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Ancestors(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestSplitExtension(t *testing.T) {
	const p, typ = "Microsoft.Authorization", "roleAssignments"
	tests := []struct {
		path, scope, name string
		ok                bool
	}{
		{"/providers/Microsoft.Authorization/roleAssignments/g1", "/", "g1", true},
		{"/subscriptions/s/providers/microsoft.authorization/ROLEASSIGNMENTS/g1", "/subscriptions/s", "g1", true},
		{"/subscriptions/s/resourcegroups/rg/providers/Microsoft.Authorization/roleAssignments/g1/", "/subscriptions/s/resourceGroups/rg", "g1", true},
		{vm + "/providers/Microsoft.Authorization/roleAssignments/g1", vm, "g1", true},
		{rg + "/providers/Microsoft.KeyVault/vaults/v/secrets/s/providers/Microsoft.Authorization/roleAssignments/g1",
			rg + "/providers/Microsoft.KeyVault/vaults/v/secrets/s", "g1", true},
		{"/subscriptions/s/providers/Microsoft.Authorization/roleAssignments", "", "", false},
		{"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/g1", "", "", false},
		{"/subscriptions/s/providers/Microsoft.Authorizationx/roleAssignments/g1", "", "", false},
		{"/bogus/providers/Microsoft.Authorization/roleAssignments/g1", "", "", false},
		{"/subscriptions//providers/Microsoft.Authorization/roleAssignments/g1", "", "", false},
		{"/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/..", "", "", false},
		{"/", "", "", false},
	}
	for _, tt := range tests {
		scope, name, ok := SplitExtension(tt.path, p, typ)
		if scope != tt.scope || name != tt.name || ok != tt.ok {
			t.Errorf("SplitExtension(%q) = %q, %q, %v; want %q, %q, %v", tt.path, scope, name, ok, tt.scope, tt.name, tt.ok)
		}
	}

	if scope, ok := SplitExtensionCollection("/subscriptions/s/providers/Microsoft.Authorization/roleAssignments", p, typ); !ok || scope != "/subscriptions/s" {
		t.Errorf("SplitExtensionCollection(subscription list) = %q, %v; want /subscriptions/s, true", scope, ok)
	}
	if scope, ok := SplitExtensionCollection("/providers/Microsoft.Authorization/roleAssignments", p, typ); !ok || scope != "/" {
		t.Errorf("SplitExtensionCollection(root list) = %q, %v; want /, true", scope, ok)
	}
	if _, ok := SplitExtensionCollection("/providers/Microsoft.Authorization", p, typ); ok {
		t.Error("SplitExtensionCollection(too short) ok = true")
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{
		"/", "/subscriptions/s", "/subscriptions/s/resourceGroups/rg/", vm, vm + "/x", vm + "/providers/A.B/c/d",
		"/providers/A/b/c", "//", "/subscriptions/a", "/x\x00", "/subscriptions/s/resourceGroups/rg/providers/P/t/n/c/n2/blobs/a b",
	} {
		f.Add(s, vm)
	}
	f.Fuzz(func(t *testing.T, s, other string) {
		sc, err := ParseScope(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseScope(%q) error %v does not match ErrInvalid", s, err)
			}
			if Contains(s, other) || Contains(other, s) || Ancestors(s) != nil {
				t.Fatalf("invalid scope %q takes part in containment", s)
			}
			return
		}
		again, err := ParseScope(sc.String())
		if err != nil {
			t.Fatalf("ParseScope(%q) ok but ParseScope(String() = %q) failed: %v", s, sc.String(), err)
		}
		if diff := cmp.Diff(sc, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip of %q mismatch (-first +second):\n%s", s, diff)
		}
		anc := Ancestors(s)
		if len(anc) == 0 || anc[0] != sc.String() || anc[len(anc)-1] != "/" {
			t.Fatalf("Ancestors(%q) = %q, want it to run from the scope to /", s, anc)
		}
		for _, a := range anc {
			if !Contains(a, s) {
				t.Fatalf("Contains(ancestor %q, %q) = false", a, s)
			}
		}
		// Contains(other, s) must hold exactly when other is one of the ancestors.
		if o, err := ParseScope(other); err == nil {
			inAnc := false
			for _, a := range anc {
				if strings.EqualFold(a, o.String()) {
					inAnc = true
				}
			}
			if got := Contains(other, s); got != inAnc {
				t.Fatalf("Contains(%q, %q) = %v but ancestor membership = %v (ancestors %q)", other, s, got, inAnc, anc)
			}
		}
	})
}

func TestSegments(t *testing.T) {
	tests := []struct {
		scope string
		want  []string
	}{
		{"/", nil},
		{"/SUBSCRIPTIONS/s1", []string{"subscriptions", "s1"}},
		{"/subscriptions/s1/RESOURCEGROUPS/rg", []string{"subscriptions", "s1", "resourceGroups", "rg"}},
		{"/subscriptions/s1/resourceGroups/rg/PROVIDERS/P.N/t/n/blob/x",
			[]string{"subscriptions", "s1", "resourceGroups", "rg", "providers", "P.N", "t", "n", "blob", "x"}},
	}
	for _, tt := range tests {
		sc, err := ParseScope(tt.scope)
		if err != nil {
			t.Fatalf("ParseScope(%q): %v", tt.scope, err)
		}
		if diff := cmp.Diff(tt.want, sc.Segments()); diff != "" {
			t.Errorf("ParseScope(%q).Segments() (-want +got):\n%s", tt.scope, diff)
		}
	}
}
