package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	groupID = "/subscriptions/sub-1/resourceGroups/rg"
	vmID    = groupID + "/providers/Microsoft.Compute/virtualMachines/vm1"
	uami1ID = groupID + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami1"
	uami2ID = "/subscriptions/sub-1/resourceGroups/other/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami2"
)

// seed creates the group and two user-assigned identities in the fake.
func seed(t *testing.T, f *armFake) {
	t.Helper()
	f.put(groupID, map[string]any{"location": "westeurope", "properties": map[string]any{"provisioningState": "Succeeded"}})
	f.put(uami1ID, map[string]any{"location": "westeurope"})
	f.put(uami2ID, map[string]any{"location": "westeurope"})
}

func TestVMCreateAssignIdentity(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want any // the identity block sent in the PUT; nil: none
	}{
		{"no identity", nil, nil},
		{"bare flag is system", []string{"--assign-identity"}, map[string]any{"type": "SystemAssigned"}},
		{"bare flag before other flags", []string{"--assign-identity", "--location", "westeurope"}, map[string]any{"type": "SystemAssigned"}},
		{"[system]", []string{"--assign-identity", "[system]"}, map[string]any{"type": "SystemAssigned"}},
		{"bare name resolves in the group", []string{"--assign-identity", "uami1"}, map[string]any{
			"type": "UserAssigned", "userAssignedIdentities": map[string]any{uami1ID: map[string]any{}},
		}},
		{"system and user, name and id", []string{"--assign-identity", "[system]", "uami1", uami2ID}, map[string]any{
			"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{uami1ID: map[string]any{}, uami2ID: map[string]any{}},
		}},
		{"repeated flag and = form", []string{"--assign-identity=uami1", "-assign-identity", uami2ID}, map[string]any{
			"type": "UserAssigned", "userAssignedIdentities": map[string]any{uami1ID: map[string]any{}, uami2ID: map[string]any{}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newARMFake(t)
			seed(t, f)
			args := append([]string{"vm", "create", "--group", "rg", "--name", "vm1"}, tt.args...)
			out := mustRun(t, f.env(), args...)

			put := f.lastBody("PUT")
			if diff := cmp.Diff(tt.want, put["identity"]); diff != "" {
				t.Errorf("PUT identity (-want +got):\n%s", diff)
			}
			if got, want := put["location"], "westeurope"; got != want {
				t.Errorf("PUT location = %v, want the group's %q", got, want)
			}
			// JSON output (stdout is not a terminal) is the server's object.
			var vm map[string]any
			if err := json.Unmarshal([]byte(out), &vm); err != nil || vm["id"] != vmID {
				t.Errorf("stdout = %s (%v), want the VM %s", out, err, vmID)
			}
		})
	}
}

func TestVMCreateRejectsNonIdentityID(t *testing.T) {
	f := newARMFake(t)
	seed(t, f)
	res := run(t, f.env(), "vm", "create", "--group", "rg", "--name", "vm1", "--assign-identity", vmID)
	if res.code != exitUsage || !strings.Contains(res.stderr, "is not a user-assigned identity id") {
		t.Errorf("exit %d stderr %q, want usage error", res.code, res.stderr)
	}
	if n := len(f.armRequests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestVMIdentityAssignRemove(t *testing.T) {
	f := newARMFake(t)
	seed(t, f)
	env := f.env()
	mustRun(t, env, "vm", "create", "--group", "rg", "--name", "vm1", "--assign-identity")

	steps := []struct {
		args      []string
		wantPatch any    // identity block sent
		wantType  string // identity type the VM then has
	}{
		{[]string{"assign", "--identities", "uami1", uami2ID}, map[string]any{
			"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{uami1ID: map[string]any{}, uami2ID: map[string]any{}},
		}, "SystemAssigned, UserAssigned"},
		// No --identities means [system], as in az.
		{[]string{"remove"}, map[string]any{
			"type": "UserAssigned", "userAssignedIdentities": map[string]any{uami1ID: map[string]any{}, uami2ID: map[string]any{}},
		}, "UserAssigned"},
		// Removing one of two: the other stays, the removed one is nulled.
		{[]string{"remove", "--identities", strings.ToUpper(uami2ID)}, map[string]any{
			"type": "UserAssigned", "userAssignedIdentities": map[string]any{uami1ID: map[string]any{}, uami2ID: nil},
		}, "UserAssigned"},
		// Removing the last leaves None.
		{[]string{"remove", "--identities", "uami1"}, map[string]any{"type": "None"}, "None"},
		{[]string{"assign"}, map[string]any{"type": "SystemAssigned"}, "SystemAssigned"},
	}
	for _, s := range steps {
		args := append([]string{"vm", "identity", s.args[0], "--group", "rg", "--name", "vm1"}, s.args[1:]...)
		out := mustRun(t, env, args...)
		if diff := cmp.Diff(s.wantPatch, f.lastBody("PATCH")["identity"]); diff != "" {
			t.Errorf("%v: PATCH identity (-want +got):\n%s", s.args, diff)
		}
		var ib map[string]any
		if err := json.Unmarshal([]byte(out), &ib); err != nil || ib["type"] != s.wantType {
			t.Errorf("%v: printed identity block %s (%v), want type %q", s.args, out, err, s.wantType)
		}
	}

	res := run(t, env, "vm", "identity", "remove", "--group", "rg", "--name", "vm1", "--identities", "uami1")
	if res.code != exitError || res.stderr != "signet: identity "+uami1ID+" is not assigned to the VM\n" {
		t.Errorf("removing an unassigned identity: exit %d stderr %q", res.code, res.stderr)
	}
}

func TestVMTable(t *testing.T) {
	f := newARMFake(t)
	seed(t, f)
	env := f.env()
	mustRun(t, env, "vm", "create", "--group", "rg", "--name", "vm1", "--assign-identity", "[system]", "uami1")
	mustRun(t, env, "vm", "create", "--group", "rg", "--name", "vm2", "--location", "northeurope")

	got := mustRun(t, env, "vm", "list", "--output", "table")
	want := "" +
		"NAME  GROUP  LOCATION     IDENTITY                      PRINCIPAL ID          USER-ASSIGNED\n" +
		"vm1   rg     westeurope   SystemAssigned, UserAssigned  principal-system-vm1  uami1\n" +
		"vm2   rg     northeurope  None                          -                     -\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vm list table (-want +got):\n%s", diff)
	}

	got = mustRun(t, env, "--output=table", "vm", "identity", "show", "--group", "rg", "--name", "vm1")
	want = "" +
		"KIND            PRINCIPAL ID          CLIENT ID     RESOURCE ID\n" +
		"SystemAssigned  principal-system-vm1  -             -\n" +
		"UserAssigned    principal-uami1       client-uami1  " + uami1ID + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("vm identity show table (-want +got):\n%s", diff)
	}

	mustRun(t, env, "vm", "delete", "--group", "rg", "--name", "vm2")
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "vm", "list", "--group", "rg")), &list); err != nil || len(list) != 1 {
		t.Errorf("vm list after delete = %v (%v), want one VM", list, err)
	}
}
