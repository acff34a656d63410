package sqlstore

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// TestAuditQueriesUseIndexes checks SQLite's plan for the audit queries the
// control plane sends (always with the tenant): each must seek the index of
// its most selective filter and read rows in index order, never scan the
// log or sort it. A log holds millions of rows; a scan makes every query
// linear in them.
func TestAuditQueriesUseIndexes(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "plan.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	hour := store.AuditFilter{TenantID: "t", Since: now.Add(-time.Hour), Until: now, Limit: 100}
	with := func(f store.AuditFilter, edit func(*store.AuditFilter)) store.AuditFilter {
		edit(&f)
		return f
	}
	after := store.AuditCursor{Time: now.Add(-time.Minute), ID: "x"}
	cases := []struct {
		name, table, index string
		tab                auditTable
		f                  store.AuditFilter
	}{
		{"sign-ins by principal in an hour", "sign_ins", "sign_ins_principal", signInTable,
			with(hour, func(f *store.AuditFilter) { f.PrincipalID = "p" })},
		{"sign-ins by principal, next page", "sign_ins", "sign_ins_principal", signInTable,
			with(hour, func(f *store.AuditFilter) { f.PrincipalID, f.After = "p", after })},
		{"sign-ins by principal and result", "sign_ins", "sign_ins_principal", signInTable,
			with(hour, func(f *store.AuditFilter) { f.PrincipalID, f.Result = "p", "failure" })},
		{"sign-ins of a tenant", "sign_ins", "sign_ins_tenant", signInTable, hour},
		{"sign-ins of a tenant, next page", "sign_ins", "sign_ins_tenant", signInTable,
			with(hour, func(f *store.AuditFilter) { f.After = after })},
		{"sign-in of a token", "sign_ins", "sign_ins_token", signInTable,
			store.AuditFilter{TenantID: "t", TokenID: "uti"}},
		// A scope is a key range, which cannot also give time order: in an
		// hour's window the time index serves, otherwise the scope's.
		{"activity under a scope in an hour", "activity", "activity_time", activityTable,
			with(hour, func(f *store.AuditFilter) { f.ResourceID = "/subscriptions/s/resourceGroups/g" })},
		{"activity under a scope", "activity", "activity_resource", activityTable,
			store.AuditFilter{TenantID: "t", ResourceID: "/subscriptions/s/resourceGroups/g"}},
		{"activity by caller", "activity", "activity_caller", activityTable,
			with(hour, func(f *store.AuditFilter) { f.PrincipalID = "p" })},
		// The activity log keeps no tenant index (0009): the control
		// plane always narrows it to a scope. A tenant's hour is read off
		// the time index, in listing order. (The access log is paged; see
		// TestAccessLookupsUseIndexes.)
		{"activity of a tenant in an hour", "activity", "activity_time", activityTable, hour},
	}
	for _, c := range cases {
		where, args := auditWhere(c.f, c.tab)
		joined := queryPlan(t, s, "SELECT * FROM "+c.table+where, args...)
		t.Logf("%s: %s", c.name, joined)
		if !strings.Contains(joined, "SEARCH "+c.table+" USING INDEX "+c.index+" ") || strings.Contains(joined, "SCAN "+c.table) {
			t.Errorf("%s: plan does not seek %s: %s", c.name, c.index, joined)
		}
		// The principal, tenant and scope indexes end in (time, id), the
		// listing order: a sort would read every matching row first.
		if !strings.HasSuffix(c.index, "_token") && !strings.HasSuffix(c.index, "_resource") &&
			strings.Contains(joined, "TEMP B-TREE") {
			t.Errorf("%s: plan sorts: %s", c.name, joined)
		}
	}
}
