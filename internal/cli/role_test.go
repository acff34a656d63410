package cli

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	readerGUID  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	secretsGUID = "4633458b-17de-408a-b874-0445c86b69e6"
)

func TestRoleAssignmentCreate(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantRoleDef string
		wantLookup  bool // whether a role definition list was needed
	}{
		{"by name", []string{"--assignee", "p-1", "--role", "Key Vault Secrets User"}, "/providers/Microsoft.Authorization/roleDefinitions/" + secretsGUID, true},
		{"by name, any case", []string{"--assignee", "p-1", "--role", "reader"}, "/providers/Microsoft.Authorization/roleDefinitions/" + readerGUID, true},
		{"by GUID", []string{"--assignee-object-id", "p-1", "--role", strings.ToUpper(readerGUID)}, "/subscriptions/sub-1/providers/Microsoft.Authorization/roleDefinitions/" + readerGUID, false},
		{"by full id", []string{"--assignee", "P-1", "--assignee-object-id", "p-1", "--role", "/providers/Microsoft.Authorization/roleDefinitions/" + readerGUID}, "/providers/Microsoft.Authorization/roleDefinitions/" + readerGUID, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newARMFake(t)
			out := mustRun(t, f.env(), append([]string{"role", "assignment", "create", "--scope", groupID}, tt.args...)...)

			reqs := f.armRequests()
			put := reqs[len(reqs)-1]
			if !regexp.MustCompile(`^` + groupID + `/providers/Microsoft.Authorization/roleAssignments/[0-9a-f-]{36}$`).MatchString(put.Path) {
				t.Errorf("PUT path = %q", put.Path)
			}
			want := map[string]any{"properties": map[string]any{"roleDefinitionId": tt.wantRoleDef, "principalId": "p-1", "principalType": "ServicePrincipal"}}
			if diff := cmp.Diff(want, f.lastBody("PUT")); diff != "" {
				t.Errorf("PUT body (-want +got):\n%s", diff)
			}
			if gotLookup := len(reqs) > 1 && strings.HasSuffix(reqs[0].Path, "/roleDefinitions"); gotLookup != tt.wantLookup {
				t.Errorf("role definition lookup = %v, want %v (requests %+v)", gotLookup, tt.wantLookup, reqs)
			}
			var ra map[string]any
			if err := json.Unmarshal([]byte(out), &ra); err != nil || ra["id"] != put.Path {
				t.Errorf("stdout = %s, want the created assignment", out)
			}
		})
	}
}

func TestRoleAssignmentCreateUnknownRole(t *testing.T) {
	f := newARMFake(t)
	res := run(t, f.env(), "role", "assignment", "create", "--assignee", "p-1", "--role", "Nope", "--scope", groupID)
	if res.code != exitError || res.stderr != "signet: role \"Nope\" not found\n" {
		t.Errorf("exit %d stderr %q", res.code, res.stderr)
	}
	for _, r := range f.armRequests() {
		if r.Method == http.MethodPut {
			t.Errorf("assignment created despite unknown role: %+v", r)
		}
	}
}

func TestRoleAssignmentListAndDelete(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	mustRun(t, env, "role", "assignment", "create", "--assignee", "p-1", "--role", "Reader", "--scope", groupID)
	mustRun(t, env, "role", "assignment", "create", "--assignee", "p-1", "--role", "Contributor", "--scope", groupID)
	mustRun(t, env, "role", "assignment", "create", "--assignee", "p-2", "--role", "Reader", "--scope", "/subscriptions/sub-1")

	var all []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "role", "assignment", "list")), &all); err != nil || len(all) != 3 {
		t.Fatalf("role assignment list = %v (%v), want 3", all, err)
	}
	table := mustRun(t, env, "role", "assignment", "list", "--assignee", "p-1", "--scope", groupID, "--output", "table")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "PRINCIPAL ID  ROLE") {
		t.Fatalf("table:\n%s", table)
	}
	var roles []string
	for _, l := range lines[1:] {
		fields := strings.Fields(l)
		roles = append(roles, fields[1])
		if fields[0] != "p-1" || fields[2] != groupID {
			t.Errorf("row %q, want p-1 at %s", l, groupID)
		}
	}
	if diff := cmp.Diff([]string{"Contributor", "Reader"}, sortedStrings(roles)); diff != "" {
		t.Errorf("roles shown by name (-want +got):\n%s", diff)
	}

	// Delete by match: only p-1's Reader at the group.
	mustRun(t, env, "role", "assignment", "delete", "--assignee", "p-1", "--role", "Reader", "--scope", groupID)
	// Delete by id.
	var left []map[string]any
	json.Unmarshal([]byte(mustRun(t, env, "role", "assignment", "list", "--assignee", "p-2")), &left)
	if len(left) != 1 {
		t.Fatalf("p-2 assignments = %v", left)
	}
	mustRun(t, env, "role", "assignment", "delete", "--ids", left[0]["id"].(string))

	json.Unmarshal([]byte(mustRun(t, env, "role", "assignment", "list")), &left)
	if len(left) != 1 || !strings.HasSuffix(left[0]["properties"].(map[string]any)["roleDefinitionId"].(string), "b24988ac-6180-42a0-ab88-20f7382dd24c") {
		t.Errorf("remaining = %v, want only p-1's Contributor", left)
	}

	res := run(t, env, "role", "assignment", "delete", "--assignee", "p-1", "--role", "Reader", "--scope", groupID)
	if res.code != exitError || !strings.HasPrefix(res.stderr, "signet: no assignment of role \"Reader\" to p-1") {
		t.Errorf("deleting a missing assignment: exit %d stderr %q", res.code, res.stderr)
	}
	res = run(t, env, "role", "assignment", "delete", "--ids", groupID)
	if res.code != exitError || !strings.Contains(res.stderr, "is not a role assignment id") {
		t.Errorf("deleting a non-assignment id: exit %d stderr %q", res.code, res.stderr)
	}
}

func TestRoleDefinitionList(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	got := mustRun(t, env, "role", "definition", "list", "--name", "Reader", "--output", "table")
	want := "NAME    GUID                                  TYPE         DESCRIPTION\n" +
		"Reader  " + readerGUID + "  BuiltInRole  Reader role\n"
	if got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
	reqs := f.armRequests()
	if got, want := reqs[len(reqs)-1].Query, "%24filter=roleName+eq+%27Reader%27&api-version=2022-04-01"; got != want {
		t.Errorf("query = %q, want %q", got, want)
	}
	var all []any
	if err := json.Unmarshal([]byte(mustRun(t, env, "role", "definition", "list")), &all); err != nil || len(all) != len(builtinRoles) {
		t.Errorf("role definition list = %d roles (%v), want %d", len(all), err, len(builtinRoles))
	}
}
