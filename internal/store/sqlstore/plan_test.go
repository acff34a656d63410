package sqlstore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/signet-platform/signet/internal/store"
)

// TestRoleAssignmentQueriesUseIndexes checks SQLite's plan for each filtered
// ListRoleAssignments: a full scan of role_assignments would make every RBAC
// check linear in the number of assignments.
func TestRoleAssignmentQueriesUseIndexes(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const scope = "/subscriptions/s1/resourceGroups/rg1"
	filters := map[string]store.RoleAssignmentFilter{
		"principal":           {PrincipalID: "p"},
		"at":                  {AtScope: scope},
		"under":               {UnderScope: scope},
		"above":               {AboveScope: scope + "/providers/Microsoft.Compute/virtualMachines/vm1"},
		"above and principal": {AboveScope: scope, PrincipalID: "p"},
	}
	for name, f := range filters {
		q, args := roleAssignmentQuery(f)
		joined := queryPlan(t, s, q, args...)
		t.Logf("%s: %s", name, joined)
		// SCAN (even USING INDEX) reads every row; SEARCH seeks.
		if strings.Contains(joined, "SCAN role_assignments") || !strings.Contains(joined, "SEARCH role_assignments") {
			t.Errorf("%s: plan does not seek an index: %s", name, joined)
		}
	}
}

// queryPlan is SQLite's plan for query q with args, its steps joined by
// "; ".
func queryPlan(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("explain %.60s: %v", q, err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "; ")
}

func TestScopeAncestors(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"/", []string{"/"}},
		{"/subscriptions/s", []string{"/", "/subscriptions", "/subscriptions/s"}},
		{scopeKey("/Subscriptions/S/resourceGroups/RG/"), []string{"/", "/subscriptions", "/subscriptions/s",
			"/subscriptions/s/resourcegroups", "/subscriptions/s/resourcegroups/rg"}},
	}
	for _, c := range cases {
		got := scopeAncestors(c.in)
		if strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("scopeAncestors(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestRebind(t *testing.T) {
	q := "SELECT a FROM t WHERE b = ? AND c IN (?, ?)"
	if got, want := postgresDialect.rebind(q), "SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)"; got != want {
		t.Errorf("postgres rebind = %q, want %q", got, want)
	}
	if got := sqliteDialect.rebind(q); got != q {
		t.Errorf("sqlite rebind = %q, want the query unchanged", got)
	}
}
