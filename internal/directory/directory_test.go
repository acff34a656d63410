package directory

import (
	"bytes"
	"regexp"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/signet-platform/signet/internal/store"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewID(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := NewID()
		if !guidRE.MatchString(id) {
			t.Fatalf("NewID() = %q, want a lower-case version 4 GUID", id)
		}
		if seen[id] {
			t.Fatalf("NewID() returned %q twice", id)
		}
		seen[id] = true
	}
}

var secretRE = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)

func TestGenerateSecret(t *testing.T) {
	seen := make(map[string]bool)
	for range 200 {
		secret, hint, err := GenerateSecret()
		if err != nil {
			t.Fatalf("GenerateSecret: %v", err)
		}
		if !secretRE.MatchString(secret) {
			t.Fatalf("secret %q is not 43 base64url characters", secret)
		}
		if got, want := hint, secret[:3]; got != want {
			t.Errorf("hint = %q, want %q", got, want)
		}
		if seen[secret] {
			t.Fatalf("GenerateSecret returned the same secret twice")
		}
		seen[secret] = true
	}
}

func TestHashAndVerifySecret(t *testing.T) {
	secret, _, err := GenerateSecret()
	if err != nil {
		t.Fatal(err)
	}
	h1, h2 := HashSecret(secret), HashSecret(secret)
	if bytes.Equal(h1, h2) {
		t.Error("two hashes of one secret are equal; want a fresh salt each time")
	}
	if bytes.Contains(h1, []byte(secret)) {
		t.Error("hash contains the secret")
	}
	tampered := bytes.Clone(h1)
	tampered[len(tampered)-1] ^= 1
	wrongVersion := bytes.Clone(h1)
	wrongVersion[0] = 0x02

	tests := []struct {
		name   string
		hash   []byte
		secret string
		want   bool
	}{
		{"right secret", h1, secret, true},
		{"right secret, second hash", h2, secret, true},
		{"wrong secret", h1, secret + "x", false},
		{"prefix of the secret", h1, secret[:42], false},
		{"empty secret", h1, "", false},
		{"tampered hash", tampered, secret, false},
		{"unknown version", wrongVersion, secret, false},
		{"truncated hash", h1[:len(h1)-1], secret, false},
		{"nil hash", nil, secret, false},
		{"nil hash, empty secret", nil, "", false},
	}
	for _, tt := range tests {
		if got := VerifySecret(tt.hash, tt.secret); got != tt.want {
			t.Errorf("%s: VerifySecret = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNewServicePrincipal(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.FixedZone("X", 3600))
	got := NewServicePrincipal("tenant-1", "ci deployer", now)
	want := store.Principal{
		TenantID: "tenant-1", Kind: store.KindServicePrincipal, DisplayName: "ci deployer",
		Enabled: true, CreatedAt: now.UTC(),
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Principal{}, "ObjectID", "ClientID")); diff != "" {
		t.Errorf("NewServicePrincipal mismatch (-want +got):\n%s", diff)
	}
	if !guidRE.MatchString(got.ObjectID) || !guidRE.MatchString(got.ClientID) || got.ObjectID == got.ClientID {
		t.Errorf("object id %q, client id %q: want two different GUIDs", got.ObjectID, got.ClientID)
	}
	if again := NewServicePrincipal("tenant-1", "ci deployer", now); again.ObjectID == got.ObjectID || again.ClientID == got.ClientID {
		t.Error("two service principals share an id")
	}
}

func TestNewManagedIdentity(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	const vm = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"
	const uami = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	for _, tt := range []struct {
		kind       store.PrincipalKind
		resourceID string
	}{
		{store.KindSystemAssigned, vm},
		{store.KindUserAssigned, uami},
	} {
		got := NewManagedIdentity("tenant-1", tt.kind, tt.resourceID, "name", now)
		want := store.Principal{
			TenantID: "tenant-1", Kind: tt.kind, ResourceID: tt.resourceID, DisplayName: "name",
			Enabled: true, CreatedAt: now,
		}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(store.Principal{}, "ObjectID", "ClientID")); diff != "" {
			t.Errorf("NewManagedIdentity(%s) mismatch (-want +got):\n%s", tt.kind, diff)
		}
		if !guidRE.MatchString(got.ObjectID) || !guidRE.MatchString(got.ClientID) || got.ObjectID == got.ClientID {
			t.Errorf("object id %q, client id %q: want two different GUIDs", got.ObjectID, got.ClientID)
		}
	}
}

func TestNewManagedIdentityRejectsOtherKinds(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewManagedIdentity(KindServicePrincipal) did not panic")
		}
	}()
	NewManagedIdentity("t", store.KindServicePrincipal, "", "x", time.Now())
}
