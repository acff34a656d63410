package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/signet-platform/signet/internal/cli"
)

// runCLI runs the signet CLI against this Signet with only its env file,
// as a user who sourced it would.
func (s *signet) runCLI(t testing.TB, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"SIGNET_ENV_FILE": s.EnvFile, "HOME": t.TempDir()}
	code := cli.Main(context.Background(), append([]string{"--output", "json"}, args...), strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
	return out.String(), errb.String(), code
}

func (s *signet) mustCLI(t testing.TB, out any, args ...string) {
	t.Helper()
	stdout, stderr, code := s.runCLI(t, args...)
	if code != 0 {
		t.Fatalf("signet %s: exit %d: %s", strings.Join(args, " "), code, stderr)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(stdout), out); err != nil {
			t.Fatalf("signet %s: %v in %q", strings.Join(args, " "), err, stdout)
		}
	}
}

func TestCLIAgainstARealServer(t *testing.T) {
	s := startSignet(t, "")
	rg := s.Dev.ResourceGroup

	var uami struct {
		ID         string `json:"id"`
		Properties struct {
			PrincipalID string `json:"principalId"`
		} `json:"properties"`
	}
	s.mustCLI(t, &uami, "identity", "create", "--group", rg, "--name", "app-identity")
	var vm armResource
	s.mustCLI(t, &vm, "vm", "create", "--group", rg, "--name", "vm1", "--assign-identity", "[system]", "app-identity")
	if vm.Identity == nil || vm.Identity.PrincipalID == "" || len(vm.Identity.UserAssignedIdentities) != 1 {
		t.Fatalf("vm create --assign-identity: %+v", vm.Identity)
	}
	scope := "/subscriptions/" + s.Dev.SubscriptionID + "/resourceGroups/" + rg
	var ra struct {
		Name string `json:"name"`
	}
	s.mustCLI(t, &ra, "role", "assignment", "create", "--assignee", vm.Identity.PrincipalID, "--role", "Reader", "--scope", scope)
	var list []struct {
		Name string `json:"name"`
	}
	s.mustCLI(t, &list, "role", "assignment", "list", "--scope", scope, "--assignee", vm.Identity.PrincipalID)
	if len(list) != 1 || list[0].Name != ra.Name {
		t.Errorf("role assignment list = %+v, want [%s]", list, ra.Name)
	}

	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	s.mustCLI(t, &tok, "token", "get", "--resource", "https://management.azure.com/")
	if c := s.verifyWithDiscovery(t, tok.AccessToken); c.Audience != "https://management.azure.com/" || c.OID != s.Dev.ObjectID {
		t.Errorf("token get: aud %q oid %q", c.Audience, c.OID)
	}

	var signins []map[string]any
	s.mustCLI(t, &signins, "logs", "signins", "--since", "10m")
	if len(signins) == 0 {
		t.Error("no sign-ins logged")
	}
	var activity []map[string]any
	s.mustCLI(t, &activity, "logs", "activity", "--since", "10m")
	if len(activity) < 3 {
		t.Errorf("activity log has %d records after 3 writes", len(activity))
	}

	var key struct {
		Kid string `json:"kid"`
	}
	s.mustCLI(t, &key, "keys", "rotate")
	if key.Kid == "" || key.Kid == s.Keys.ActiveKID() {
		t.Errorf("keys rotate gave kid %q (active %q): want a new, pending key", key.Kid, s.Keys.ActiveKID())
	}

	// A join token for the VM, an app placed on it, and the node list.
	var jt struct {
		Token      string `json:"token"`
		ResourceID string `json:"resourceId"`
	}
	s.mustCLI(t, &jt, "node", "join-token", "--group", rg, "--vm", "vm1", "--ttl", "10m")
	if jt.Token == "" || !strings.EqualFold(jt.ResourceID, vm.ID) {
		t.Errorf("node join-token: %+v", jt)
	}
	var app armResource
	s.mustCLI(t, &app, "app", "create", "--group", rg, "--name", "web1", "--vm", "vm1", "--assign-identity")
	if app.Identity == nil || app.Identity.PrincipalID == "" {
		t.Errorf("app create --assign-identity: %+v", app.Identity)
	}
	var nodes []map[string]any
	s.mustCLI(t, &nodes, "node", "list")

	// Errors: on stderr with the server's code, exit 1, nothing on stdout.
	stdout, stderr, code := s.runCLI(t, "vm", "show", "--group", rg, "--name", "no-such-vm")
	if code != 1 || stdout != "" || !strings.Contains(stderr, "ResourceNotFound") {
		t.Errorf("vm show of a missing VM: exit %d stdout %q stderr %q", code, stdout, stderr)
	}
	s.mustCLI(t, nil, "vm", "delete", "--group", rg, "--name", "vm1")
	if s.principalExists(t, vm.Identity.PrincipalID) {
		t.Error("vm delete left the system-assigned principal")
	}
}
