package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const appID = groupID + "/providers/Microsoft.Web/sites/app1"

func TestAppCreate(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		wantProps any
		wantIdent any
	}{
		{"not placed", nil, map[string]any{}, nil},
		{"on a VM by name", []string{"--vm", "vm1"}, map[string]any{"signetHostResourceId": vmID}, nil},
		{"on a host by id, with identities", []string{"--node", machineID, "--assign-identity", "[system]", "uami1"},
			map[string]any{"signetHostResourceId": machineID},
			map[string]any{"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{uami1ID: map[string]any{}}}},
		{"bare --assign-identity", []string{"--assign-identity", "--vm", "vm1"}, map[string]any{"signetHostResourceId": vmID}, map[string]any{"type": "SystemAssigned"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newARMFake(t)
			seed(t, f)
			out := mustRun(t, f.env(), append([]string{"app", "create", "--group", "rg", "--name", "app1"}, tt.args...)...)
			put := f.lastBody("PUT")
			if diff := cmp.Diff(tt.wantProps, put["properties"]); diff != "" {
				t.Errorf("PUT properties (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantIdent, put["identity"]); diff != "" {
				t.Errorf("PUT identity (-want +got):\n%s", diff)
			}
			if put["location"] != "westeurope" {
				t.Errorf("PUT location = %v, want the group's", put["location"])
			}
			reqs := f.armRequests()
			if last := reqs[len(reqs)-1]; last.Method != "PUT" || last.Path != appID {
				t.Errorf("last request %s %s, want PUT %s", last.Method, last.Path, appID)
			}
			var site map[string]any
			if err := json.Unmarshal([]byte(out), &site); err != nil || site["id"] != appID {
				t.Errorf("stdout = %s (%v), want the app %s", out, err, appID)
			}
		})
	}
}

func TestAppCreateUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"both hosts", []string{"--node", vmID, "--vm", "vm1"}, "either --node or --vm"},
		{"node by name", []string{"--node", "vm1"}, "is not a resource id"},
		{"no name", []string{"--name", ""}, "--name is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newARMFake(t)
			seed(t, f)
			res := run(t, f.env(), append([]string{"app", "create", "--group", "rg", "--name", "app1"}, tt.args...)...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d stderr %q, want usage error with %q", res.code, res.stderr, tt.want)
			}
			if n := len(f.armRequests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

func TestAppListShowDelete(t *testing.T) {
	f := newARMFake(t)
	seed(t, f)
	env := f.env()
	mustRun(t, env, "app", "create", "--group", "rg", "--name", "app1", "--vm", "vm1", "--assign-identity", "[system]", "uami1")
	mustRun(t, env, "app", "create", "--group", "rg", "--name", "app2", "--location", "northeurope")

	got := mustRun(t, env, "app", "list", "--output", "table")
	want := "" +
		"NAME  GROUP  LOCATION     HOST  IDENTITY                      PRINCIPAL ID           USER-ASSIGNED\n" +
		"app1  rg     westeurope   vm1   SystemAssigned, UserAssigned  principal-system-app1  uami1\n" +
		"app2  rg     northeurope  -     None                          -                      -\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("app list table (-want +got):\n%s", diff)
	}
	var site map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "app", "show", "--group", "rg", "--name", "app1")), &site); err != nil || site["id"] != appID {
		t.Errorf("app show = %v (%v), want %s", site, err, appID)
	}
	mustRun(t, env, "app", "delete", "--group", "rg", "--name", "app2")
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "app", "list", "--group", "rg")), &list); err != nil || len(list) != 1 || list[0]["id"] != appID {
		t.Errorf("app list after delete = %v (%v), want only app1", list, err)
	}
}
