package storetest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/signet-platform/signet/internal/store"
)

// Run runs the conformance suite. open returns a new, empty store for one
// subtest and arranges (with t.Cleanup) for it to be closed.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Tenants", testTenants},
		{"Subscriptions", testSubscriptions},
		{"ResourceGroups", testResourceGroups},
		{"Resources", testResources},
		{"ResourceIdentities", testResourceIdentities},
		{"Principals", testPrincipals},
		{"Credentials", testCredentials},
		{"DeletePrincipalRemovesCredentials", testDeletePrincipalRemovesCredentials},
		{"RoleDefinitions", testRoleDefinitions},
		{"RoleAssignments", testRoleAssignments},
		{"RoleAssignmentFilters", testRoleAssignmentFilters},
		{"RoleAssignmentDeletes", testRoleAssignmentDeletes},
		{"SigningKeys", testSigningKeys},
		{"AssertionReplay", testAssertionReplay},
		{"AssertionReplayConcurrent", testAssertionReplayConcurrent},
		{"SignIns", testSignIns},
		{"Activity", testActivity},
		{"Access", testAccess},
		{"AuditDefaultLimit", testAuditDefaultLimit},
		{"WriteAtomicity", testWriteAtomicity},
		{"UsableAfterConflict", testUsableAfterConflict},
		{"ReadIsReadOnly", testReadIsReadOnly},
		{"ReadSnapshot", testReadSnapshot},
		{"CanceledContext", testCanceledContext},
		{"PanicInWrite", testPanicInWrite},
		{"ConcurrentWrites", testConcurrentWrites},
		{"ConcurrentReadModifyWrite", testConcurrentReadModifyWrite},
		{"Ping", testPing},
	}
	tests = append(tests, mirpTests...)
	tests = append(tests, auditTests...)
	tests = append(tests, blobTests...)
	tests = append(tests, secretTests...)
	tests = append(tests, generationTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

// base is a fixed instant at microsecond precision, so values read back can
// be compared exactly.
var base = time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC)

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// opts compares records: empty and nil slices and maps are the same thing to
// callers (a backend may return either for "none").
var opts = cmp.Options{cmpopts.EquateEmpty()}

func write(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Write(t.Context(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func read(t *testing.T, s store.Store, fn func(store.Tx) error) {
	t.Helper()
	if err := s.Read(t.Context(), fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// wantErr fails unless errors.Is(err, want); want nil means success.
func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: unexpected error: %v", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: got error %v, want %v", what, err, want)
	}
}

// diff reports a difference between got and want.
func diff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got, opts); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// errRollback is returned from Write callbacks to force a rollback.
var errRollback = errors.New("storetest: deliberate rollback")

func testPing(t *testing.T, s store.Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

// upper changes an identifier's case, to check case-insensitive matching.
func upper(s string) string { return strings.ToUpper(s) }

// nth returns xs's elements at the 1-based positions idx, in that order.
func nth[T any](xs []T, idx ...int) []T {
	out := make([]T, 0, len(idx))
	for _, i := range idx {
		out = append(out, xs[i-1])
	}
	return out
}
