package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/signet-platform/signet/internal/cli"
)

// The keyvault and secret nouns of the CLI against a real Signet: as the
// operator, with every value kept off every output but `secret show`, and
// with --identity as a VM's managed identity through its agent.
func TestKeyVaultCLI(t *testing.T) {
	s := startSignet(t, "")
	rg := s.Dev.ResourceGroup
	const value = "hunter2-e2e-value"

	var kv1, kv2 struct {
		ID         string `json:"id"`
		Properties struct {
			VaultURI                  string `json:"vaultUri"`
			SoftDeleteRetentionInDays int    `json:"softDeleteRetentionInDays"`
		} `json:"properties"`
	}
	s.mustCLI(t, &kv1, "keyvault", "create", "--group", rg, "--name", "clikv1", "--retention-days", "7")
	if kv1.Properties.VaultURI != s.VaultURL("clikv1") || kv1.Properties.SoftDeleteRetentionInDays != 7 {
		t.Fatalf("keyvault create: %+v, want vaultUri %s and 7 days", kv1, s.VaultURL("clikv1"))
	}
	s.mustCLI(t, &kv2, "keyvault", "create", "--group", rg, "--name", "clikv2")
	var vaults []map[string]any
	s.mustCLI(t, &vaults, "keyvault", "list", "--group", rg)
	if len(vaults) != 2 {
		t.Errorf("keyvault list: %d vaults, want 2", len(vaults))
	}
	// The admin owns the subscription, which grants no data actions.
	s.mustCLI(t, nil, "role", "assignment", "create", "--assignee", s.Dev.ObjectID, "--role", "Key Vault Secrets Officer",
		"--scope", "/subscriptions/"+s.Dev.SubscriptionID+"/resourceGroups/"+rg)

	// Every output but show's is collected to check no value is in it.
	var printed strings.Builder
	secret := func(out any, args ...string) {
		t.Helper()
		stdout, stderr, code := s.runCLI(t, append([]string{"secret"}, args...)...)
		if code != 0 {
			t.Fatalf("signet secret %s: exit %d: %s", strings.Join(args, " "), code, stderr)
		}
		if args[0] != "show" {
			printed.WriteString(stdout + stderr)
		}
		if out != nil {
			s.decodeCLI(t, stdout, out)
		}
	}
	type shown struct {
		Name       string  `json:"name"`
		Value      *string `json:"value"`
		RecoveryID string  `json:"recoveryId"`
	}
	in1 := []string{"--vault-name", "clikv1"} // looked up through the control plane
	dir := t.TempDir()
	valueFile := filepath.Join(dir, "value")
	os.WriteFile(valueFile, []byte(value), 0o600)

	secret(nil, append([]string{"set", "--name", "db-password", "--file", valueFile, "--tags", "env=e2e"}, in1...)...)
	var got shown
	secret(&got, append([]string{"show", "--name", "db-password"}, in1...)...)
	if got.Value == nil || *got.Value != value || got.Name != "db-password" {
		t.Errorf("secret show: %+v", got)
	}
	var list []shown
	secret(&list, append([]string{"list"}, in1...)...)
	if len(list) != 1 || list[0].Name != "db-password" {
		t.Errorf("secret list: %+v", list)
	}
	backup := filepath.Join(dir, "db-password.bin")
	secret(nil, append([]string{"backup", "--name", "db-password", "--file", backup}, in1...)...)
	var deleted shown
	secret(&deleted, append([]string{"delete", "--name", "db-password"}, in1...)...)
	if deleted.RecoveryID == "" {
		t.Errorf("secret delete: %+v", deleted)
	}
	secret(&list, append([]string{"list-deleted"}, in1...)...)
	if len(list) != 1 || list[0].Name != "db-password" {
		t.Errorf("secret list-deleted: %+v", list)
	}
	secret(nil, append([]string{"recover", "--name", "db-password"}, in1...)...)
	secret(&got, append([]string{"show", "--name", "db-password"}, in1...)...)
	if got.Value == nil || *got.Value != value {
		t.Errorf("secret show after recover: %+v", got)
	}
	secret(nil, append([]string{"delete", "--name", "db-password"}, in1...)...)
	secret(nil, append([]string{"purge", "--name", "db-password"}, in1...)...)
	secret(&list, append([]string{"list-deleted"}, in1...)...)
	if len(list) != 0 {
		t.Errorf("secret list-deleted after purge: %+v", list)
	}

	// The backup restores into the other vault, addressed by its URL.
	in2 := []string{"--vault-url", kv2.Properties.VaultURI}
	secret(nil, append([]string{"restore", "--file", backup}, in2...)...)
	secret(&got, append([]string{"show", "--name", "db-password"}, in2...)...)
	if got.Value == nil || *got.Value != value {
		t.Errorf("secret show in the vault restored into: %+v", got)
	}
	if strings.Contains(printed.String(), value) {
		t.Errorf("a command other than secret show printed the value:\n%s", printed.String())
	}

	// The access log names each operation, and no value.
	type access struct {
		CallerID string `json:"callerId"`
		Action   string `json:"action"`
		Item     string `json:"item"`
		Result   string `json:"result"`
	}
	logs := func() []access {
		t.Helper()
		stdout, stderr, code := s.runCLI(t, "logs", "access", "--since", "10m")
		if code != 0 {
			t.Fatalf("logs access: exit %d: %s", code, stderr)
		}
		if strings.Contains(stdout, value) {
			t.Error("the access log holds the value")
		}
		var out []access
		s.decodeCLI(t, stdout, &out)
		return out
	}
	const kvActions = "Microsoft.KeyVault/vaults/secrets/"
	var actions []string
	for _, e := range logs() {
		if e.CallerID == s.Dev.ObjectID && e.Result == "success" && !slices.Contains(actions, e.Action) {
			actions = append(actions, e.Action)
		}
	}
	for _, a := range []string{"setSecret/action", "getSecret/action", "readMetadata/action", "backup/action", "delete",
		"recover/action", "purge/action", "restore/action"} {
		if !slices.Contains(actions, kvActions+a) {
			t.Errorf("logs access: no successful %s by the admin; actions logged: %v", a, actions)
		}
	}

	// A VM's system-assigned identity, allowed to read secrets of the second
	// vault, reads one through its agent's IMDS endpoint and may not write.
	h := newTestHost(t, s)
	s.mustCLI(t, nil, "role", "assignment", "create", "--assignee", h.sysOID, "--role", "Key Vault Secrets User", "--scope", kv2.ID)
	imds, err := url.Parse(h.agent.IMDSURL())
	if err != nil {
		t.Fatal(err)
	}
	asVM := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		env := map[string]string{"SIGNET_ENV_FILE": s.EnvFile, "HOME": t.TempDir(), "SIGNET_IMDS_ADDR": imds.Host}
		code := cli.Main(context.Background(), append([]string{"--output", "json", "secret"}, args...), strings.NewReader(""), &out, &errb, func(k string) string { return env[k] })
		return out.String(), errb.String(), code
	}
	stdout, stderr, code := asVM("show", "--vault-name", "clikv2", "--name", "db-password", "--identity")
	if code != 0 {
		t.Fatalf("secret show --identity: exit %d: %s", code, stderr)
	}
	s.decodeCLI(t, stdout, &got)
	if got.Value == nil || *got.Value != value {
		t.Errorf("secret show --identity: %+v", got)
	}
	_, stderr, code = asVM("set", "--vault-name", "clikv2", "--name", "db-password", "--value", "from-the-vm", "--identity")
	if code != 1 || !strings.Contains(stderr, "ForbiddenByRbac") {
		t.Errorf("secret set as a Secrets User: exit %d stderr %q, want ForbiddenByRbac", code, stderr)
	}
	var vmRead bool
	for _, e := range logs() {
		vmRead = vmRead || e.CallerID == h.sysOID && e.Action == kvActions+"getSecret/action" && e.Result == "success" &&
			strings.HasPrefix(e.Item, "secrets/db-password/") // the version read
	}
	if !vmRead {
		t.Error("logs access: no successful read of secrets/db-password by the VM's identity")
	}

	s.mustCLI(t, nil, "keyvault", "delete", "--group", rg, "--name", "clikv1")
	if _, stderr, code := s.runCLI(t, "secret", "list", "--vault-url", kv1.Properties.VaultURI); code != 1 || !strings.Contains(stderr, "VaultNotFound") {
		t.Errorf("secret list in a deleted vault: exit %d stderr %q, want VaultNotFound", code, stderr)
	}
}

func (s *signet) decodeCLI(t testing.TB, stdout string, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(stdout), out); err != nil {
		t.Fatalf("%v in %q", err, stdout)
	}
}
