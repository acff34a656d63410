package resourceid

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const (
	sub = "/subscriptions/0b1f6471-1bf0-4dda-aec3-111122223333"
	rg  = sub + "/resourceGroups/rg1"
	vm  = rg + "/providers/Microsoft.Compute/virtualMachines/vm1"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      ID
		canonical string
		typ       string
	}{
		{
			name: "vm",
			in:   vm,
			want: ID{SubscriptionID: "0b1f6471-1bf0-4dda-aec3-111122223333", ResourceGroup: "rg1", Provider: "Microsoft.Compute",
				Types: []string{"virtualMachines"}, Names: []string{"vm1"}},
			canonical: vm,
			typ:       "Microsoft.Compute/virtualMachines",
		},
		{
			name: "nested secret",
			in:   "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1/secrets/s1",
			want: ID{SubscriptionID: "s", ResourceGroup: "rg", Provider: "Microsoft.KeyVault",
				Types: []string{"vaults", "secrets"}, Names: []string{"v1", "s1"}},
			canonical: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/v1/secrets/s1",
			typ:       "Microsoft.KeyVault/vaults/secrets",
		},
		{
			name: "key segments in any case, trailing slash",
			in:   "/SUBSCRIPTIONS/s/resourcegroups/RG/PROVIDERS/Microsoft.ManagedIdentity/userAssignedIdentities/Id-1/",
			want: ID{SubscriptionID: "s", ResourceGroup: "RG", Provider: "Microsoft.ManagedIdentity",
				Types: []string{"userAssignedIdentities"}, Names: []string{"Id-1"}},
			canonical: "/subscriptions/s/resourceGroups/RG/providers/Microsoft.ManagedIdentity/userAssignedIdentities/Id-1",
			typ:       "Microsoft.ManagedIdentity/userAssignedIdentities",
		},
		{
			name: "subscription-level role definition",
			in:   "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
			want: ID{SubscriptionID: "s", Provider: "Microsoft.Authorization",
				Types: []string{"roleDefinitions"}, Names: []string{"8e3af657-a8ff-443c-a75c-2fe8c4bcb635"}},
			canonical: "/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
			typ:       "Microsoft.Authorization/roleDefinitions",
		},
		{
			name: "tenant-level role definition",
			in:   "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
			want: ID{Provider: "Microsoft.Authorization",
				Types: []string{"roleDefinitions"}, Names: []string{"acdd72a7-3385-48ef-bd42-f606fba81ae7"}},
			canonical: "/providers/Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f606fba81ae7",
			typ:       "Microsoft.Authorization/roleDefinitions",
		},
		{
			name: "names that look like key segments",
			in:   "/subscriptions/providers/resourceGroups/subscriptions/providers/Microsoft.Web/sites/providers",
			want: ID{SubscriptionID: "providers", ResourceGroup: "subscriptions", Provider: "Microsoft.Web",
				Types: []string{"sites"}, Names: []string{"providers"}},
			canonical: "/subscriptions/providers/resourceGroups/subscriptions/providers/Microsoft.Web/sites/providers",
			typ:       "Microsoft.Web/sites",
		},
		{
			name: "unicode name",
			in:   "/subscriptions/s/resourceGroups/grüppe/providers/Microsoft.Web/sites/app (1)",
			want: ID{SubscriptionID: "s", ResourceGroup: "grüppe", Provider: "Microsoft.Web",
				Types: []string{"sites"}, Names: []string{"app (1)"}},
			canonical: "/subscriptions/s/resourceGroups/grüppe/providers/Microsoft.Web/sites/app (1)",
			typ:       "Microsoft.Web/sites",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error: %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Parse(%q) mismatch (-want +got):\n%s", tt.in, diff)
			}
			if got, want := got.String(), tt.canonical; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if got, want := got.ResourceType(), tt.typ; got != want {
				t.Errorf("ResourceType() = %q, want %q", got, want)
			}
			if got, want := got.Name(), tt.want.Names[len(tt.want.Names)-1]; got != want {
				t.Errorf("Name() = %q, want %q", got, want)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, in, reason string
	}{
		{"empty", "", "must start with '/'"},
		{"no leading slash", "subscriptions/s", "must start with '/'"},
		{"root is not a resource", "/", "does not name a resource"},
		{"subscription is not a resource", "/subscriptions/s", "does not name a resource"},
		{"resource group is not a resource", rg, "does not name a resource"},
		{"double slash", "/subscriptions//resourceGroups/rg", "empty segment"},
		{"two trailing slashes", vm + "//", "empty segment"},
		{"only slashes", "//", "empty segment"},
		{"dot dot", rg + "/../providers/Microsoft.Compute/virtualMachines/vm1", "'.' or '..'"},
		{"dot name", rg + "/providers/Microsoft.Compute/virtualMachines/.", "'.' or '..'"},
		{"control character", vm + "\x00", "control character"},
		{"newline", rg + "/providers/Microsoft.Compute/virtualMachines/a\nb", "control character"},
		{"invalid utf8", vm + "\xff", "UTF-8"},
		{"too long", vm + strings.Repeat("x", MaxLength), "longer than 4096"},
		{"missing subscription id", "/subscriptions", "no subscription id"},
		{"missing group name", sub + "/resourceGroups", "no resource group name"},
		{"unknown root", "/tenants/t/providers/Microsoft.Compute/virtualMachines/vm1", "must start with"},
		{"unknown key after group", rg + "/things/x", "expected 'providers'"},
		{"provider without namespace", rg + "/providers", "namespace"},
		{"provider without type", rg + "/providers/Microsoft.Compute", "must be followed by a resource type and name"},
		{"type without name", rg + "/providers/Microsoft.Compute/virtualMachines", "must be followed by a resource type and name"},
		{"nested type without name", vm + "/extensions", "has no name"},
		{"bad namespace", rg + "/providers/Micro soft/virtualMachines/vm1", "namespace"},
		{"bad type", rg + "/providers/Microsoft.Compute/virtual machines/vm1", "must be followed by a resource type and name"},
		{"extension resource", vm + "/providers/Microsoft.Authorization/roleAssignments/x", "extension resource"},
		{"bad nested type", vm + "/ext ensions/e1", "not a valid resource type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want error", tt.in, got)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid) = false", err)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code() != "InvalidResourceId" {
				t.Errorf("error %v is not an *Error with code InvalidResourceId", err)
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("Parse(%q) error %q does not mention %q", tt.in, err, tt.reason)
			}
		})
	}
}

func TestErrorMessageIsClientSafe(t *testing.T) {
	_, err := Parse("/x\x1b[31m" + strings.Repeat("a", 5000))
	if err == nil {
		t.Fatal("Parse succeeded, want error")
	}
	msg := err.Error()
	if strings.ContainsRune(msg, '\x1b') {
		t.Errorf("message echoes a control character: %q", msg)
	}
	if len(msg) > 1200 {
		t.Errorf("message is %d bytes, want the input truncated", len(msg))
	}
	if !strings.HasPrefix(msg, "The resource id '/x") {
		t.Errorf("message = %q, want it to start with the quoted input", msg[:40])
	}
}

func TestParent(t *testing.T) {
	secret, err := Parse(rg + "/providers/Microsoft.KeyVault/vaults/v1/secrets/s1")
	if err != nil {
		t.Fatal(err)
	}
	parent, ok := secret.Parent()
	if !ok {
		t.Fatal("Parent of a nested resource: ok = false")
	}
	if got, want := parent.String(), rg+"/providers/Microsoft.KeyVault/vaults/v1"; got != want {
		t.Errorf("Parent() = %q, want %q", got, want)
	}
	if _, ok := parent.Parent(); ok {
		t.Error("Parent of a top-level resource: ok = true, want false")
	}
	// Parent must not share backing arrays the caller could clobber.
	parent.Types = append(parent.Types, "keys")
	if got, want := secret.Types[1], "secrets"; got != want {
		t.Errorf("after appending to parent.Types, secret.Types[1] = %q, want %q", got, want)
	}
}

func TestEqual(t *testing.T) {
	a, _ := Parse(vm)
	b, _ := Parse(strings.ToUpper(vm))
	c, _ := Parse(rg + "/providers/Microsoft.Compute/virtualMachines/vm2")
	if !a.Equal(b) {
		t.Errorf("%v.Equal(%v) = false, want true", a, b)
	}
	if a.Equal(c) {
		t.Errorf("%v.Equal(%v) = true, want false", a, c)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		vm, rg, sub, "/", "", "//", vm + "/", vm + "/extensions/e", vm + "/providers/Microsoft.Authorization/roleAssignments/x",
		"/providers/Microsoft.Authorization/roleDefinitions/g", "/subscriptions/s/providers/A.B/c/d/e/f",
		"/subscriptions/s/resourcegroups/r/providers/a/b/c/.", "/subscriptions/s/resourceGroups/r/providers/a/b/c\x00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not match ErrInvalid", s, err)
			}
			return
		}
		again, err := Parse(id.String())
		if err != nil {
			t.Fatalf("Parse(%q) ok but Parse(String() = %q) failed: %v", s, id.String(), err)
		}
		if diff := cmp.Diff(id, again, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip of %q mismatch (-first +second):\n%s", s, diff)
		}
		if !Contains(s, s) {
			t.Fatalf("Contains(%q, itself) = false", s)
		}
	})
}
