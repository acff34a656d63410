package cli

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// seed stores a live secret with one version.
func (f *vaultFake) seed(name, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[name] = &kvSecret{versions: []kvVersion{{version: strings.Repeat("ab", 16), value: value, attrs: map[string]any{"enabled": true}}}}
}

// shownSecret is what `secret show` and the other commands print.
type shownSecret struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Value       *string           `json:"value"`
	ContentType string            `json:"contentType"`
	Tags        map[string]string `json:"tags"`
	Attributes  map[string]any    `json:"attributes"`
	RecoveryID  string            `json:"recoveryId"`
}

func decode[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	return v
}

func names(ss []shownSecret) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.Name)
	}
	return out
}

// The whole life of a secret, host-style (the vault's URL looked up through
// the control plane), with values never printed but by `secret show`.
func TestSecretLifecycle(t *testing.T) {
	arm := newARMFake(t)
	vf := newVaultFake(t, fakeToken)
	vf.seedVaultResource(arm, vf.hostURL())
	env := vf.env(arm)
	dir := t.TempDir()
	valueFile := filepath.Join(dir, "value.txt")
	os.WriteFile(valueFile, []byte("first-value\n"), 0o600)

	var printed strings.Builder // every output but show's
	kv := func(args ...string) string {
		t.Helper()
		out := mustRun(t, env, append(append([]string{"secret"}, args...), "--vault-name", "kv1", "--group", "rg", "--output", "json")...)
		if args[0] != "show" {
			printed.WriteString(out)
		}
		return out
	}

	set := decode[shownSecret](t, kv("set", "--name", "db-password", "--file", valueFile, "--content-type", "text/plain",
		"--tags", "env=dev", "team=core", "--expires", "2030-01-02T15:04:05Z"))
	want := shownSecret{ID: set.ID, Name: "db-password", ContentType: "text/plain", Tags: map[string]string{"env": "dev", "team": "core"},
		Attributes: map[string]any{"enabled": true, "created": float64(1700000000), "updated": float64(1700000000), "exp": float64(1893596645)}}
	if diff := cmp.Diff(want, set); diff != "" {
		t.Errorf("secret set (-want +got):\n%s", diff)
	}
	first := set.ID[strings.LastIndex(set.ID, "/")+1:]
	kv("set", "--name", "db-password", "--value", "second-value", "--disabled")
	kv("set", "--name", "api-key", "--value", "third-value")
	kv("set", "--name", "cert", "--value", "fourth-value")

	if got := decode[shownSecret](t, kv("show", "--name", "db-password")); got.Value == nil || *got.Value != "second-value" {
		t.Errorf("secret show: %+v", got)
	}
	if got := decode[shownSecret](t, kv("show", "--name", "db-password", "--version", first)); got.Value == nil || *got.Value != "first-value\n" {
		t.Errorf("secret show --version: %+v", got)
	}
	// Table output is the value alone, for scripts and shells.
	if got := mustRun(t, env, "secret", "show", "--vault-name", "kv1", "--group", "rg", "--name", "api-key", "--output", "table"); got != "third-value\n" {
		t.Errorf("secret show --output table = %q", got)
	}

	// Three secrets come on two pages.
	if diff := cmp.Diff([]string{"api-key", "cert", "db-password"}, names(decode[[]shownSecret](t, kv("list")))); diff != "" {
		t.Errorf("secret list (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"api-key", "cert", "db-password", "db-password"}, names(decode[[]shownSecret](t, kv("list", "--include-versions")))); diff != "" {
		t.Errorf("secret list --include-versions (-want +got):\n%s", diff)
	}

	if del := decode[shownSecret](t, kv("delete", "--name", "db-password")); !strings.HasSuffix(del.RecoveryID, "/deletedsecrets/db-password") {
		t.Errorf("secret delete: %+v", del)
	}
	if diff := cmp.Diff([]string{"db-password"}, names(decode[[]shownSecret](t, kv("list-deleted")))); diff != "" {
		t.Errorf("secret list-deleted (-want +got):\n%s", diff)
	}
	kv("show-deleted", "--name", "db-password")
	if rec := decode[shownSecret](t, kv("recover", "--name", "db-password")); rec.Name != "db-password" {
		t.Errorf("secret recover: %+v", rec)
	}
	kv("delete", "--name", "cert")
	if out := kv("purge", "--name", "cert"); out != "" {
		t.Errorf("secret purge printed %q", out)
	}
	if got := names(decode[[]shownSecret](t, kv("list-deleted"))); len(got) != 0 {
		t.Errorf("list-deleted after purge: %v", got)
	}

	backup := filepath.Join(dir, "api-key.bin")
	if out := kv("backup", "--name", "api-key", "--file", backup); out != "" {
		t.Errorf("secret backup printed %q", out)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
		t.Fatalf("backup file: %v, %v", fi, err)
	}
	kv("delete", "--name", "api-key")
	kv("purge", "--name", "api-key")
	if got := decode[shownSecret](t, kv("restore", "--file", backup)); got.Name != "api-key" {
		t.Errorf("secret restore: %+v", got)
	}
	if got := decode[shownSecret](t, kv("show", "--name", "api-key")); got.Value == nil || *got.Value != "third-value" {
		t.Errorf("show after restore: %+v", got)
	}

	for _, v := range []string{"first-value", "second-value", "third-value", "fourth-value"} {
		if strings.Contains(printed.String(), v) {
			t.Errorf("a command other than show printed the value %q", v)
		}
	}
	// The token was asked for the resource the challenge named, since the
	// host is in its domain.
	var scopes []string
	for _, r := range arm.requests {
		if strings.HasSuffix(r.Path, "/oauth2/v2.0/token") {
			form, _ := url.ParseQuery(r.Body)
			scopes = append(scopes, form.Get("scope"))
		}
	}
	if wantScope := "https://vault.localhost:" + vf.port + "/.default"; !slices.Contains(scopes, wantScope) {
		t.Errorf("token scopes %v, want %s", scopes, wantScope)
	}
}

func TestSecretVaultURLResolution(t *testing.T) {
	arm := newARMFake(t)
	vf := newVaultFake(t, fakeToken)
	vf.seed("s1", "v1")
	vf.seedVaultResource(arm, vf.hostURL())
	base := vf.env(arm)
	tests := []struct {
		name     string
		env      map[string]string
		args     []string
		wantARM  []string // control-plane requests made
		wantCode int
		wantErr  string
	}{
		{name: "--vault-url", args: []string{"--vault-url", vf.pathURL()}},
		{name: "--vault-url naming --vault-name", args: []string{"--vault-url", vf.hostURL(), "--vault-name", "KV1"}},
		{name: "$SIGNET_VAULT_URL for the same vault", env: map[string]string{vaultURLVar: vf.pathURL()}, args: []string{"--vault-name", "kv1"}},
		{name: "$SIGNET_VAULT_URL for another vault", env: map[string]string{vaultURLVar: "https://127.0.0.1:" + vf.port + "/other"},
			args: []string{"--vault-name", "kv1"}, wantARM: []string{"GET /subscriptions/sub-1/providers/Microsoft.KeyVault/vaults"}},
		{name: "looked up in the group", args: []string{"--vault-name", "kv1", "--group", "rg"},
			wantARM: []string{"GET " + vaultPath}},
		{name: "no such vault", args: []string{"--vault-name", "kv2"}, wantCode: exitError,
			wantARM: []string{"GET /subscriptions/sub-1/providers/Microsoft.KeyVault/vaults"}, wantErr: "no vault named kv2 in subscription sub-1"},
		{name: "--vault-url for another vault", args: []string{"--vault-url", vf.pathURL(), "--vault-name", "kv2"}, wantCode: exitUsage,
			wantErr: "is not the vault kv2"},
		{name: "no vault", args: nil, wantCode: exitUsage, wantErr: "--vault-name (or --vault-url) is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := maps(base, tt.env)
			before := len(arm.armRequests())
			res := run(t, env, append([]string{"secret", "show", "--name", "s1", "--output", "table"}, tt.args...)...)
			if res.code != tt.wantCode || !strings.Contains(res.stderr, tt.wantErr) || tt.wantErr == "" && res.stderr != "" {
				t.Fatalf("exit %d stderr %q, want exit %d and %q", res.code, res.stderr, tt.wantCode, tt.wantErr)
			}
			if tt.wantCode == 0 && res.stdout != "v1\n" {
				t.Errorf("stdout %q, want the value", res.stdout)
			}
			var got []string
			for _, r := range arm.armRequests()[before:] {
				got = append(got, r.Method+" "+r.Path)
			}
			if diff := cmp.Diff(tt.wantARM, got); diff != "" {
				t.Errorf("control-plane requests (-want +got):\n%s", diff)
			}
		})
	}
}

func maps(base, over map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}

// With --identity the vault gets the local agent's token for the resource
// its challenge names, and the configured credential is not used.
func TestSecretShowIdentity(t *testing.T) {
	exp := time.Now().Add(time.Hour).Unix()
	agent := newAgentFake(t, agentAnswer{status: 200, body: tokenBody(exp)})
	arm := newARMFake(t)
	vf := newVaultFake(t, miJWT)
	vf.seed("s1", "from-the-vault")
	env := vf.env(arm)
	env[imdsAddrVar] = strings.TrimPrefix(agent.srv.URL, "http://")
	out := mustRun(t, env, "secret", "show", "--vault-url", vf.hostURL(), "--name", "s1", "--identity", "--client-id", "c1", "--output", "table")
	if out != "from-the-vault\n" {
		t.Errorf("stdout %q", out)
	}
	want := []agentRequest{{Path: imdsTokenPath, Metadata: "true",
		Query: map[string]string{"api-version": "2018-02-01", "resource": "https://vault.localhost:" + vf.port, "client_id": "c1"}}}
	if diff := cmp.Diff(want, agent.requests()); diff != "" {
		t.Errorf("requests to the agent (-want +got):\n%s", diff)
	}
	if n := len(arm.requests); n != 0 {
		t.Errorf("%d requests to the STS or control plane, want none", n)
	}
}

func TestSecretErrors(t *testing.T) {
	arm := newARMFake(t)
	vf := newVaultFake(t, fakeToken)
	vf.seed("locked", "hidden-value")
	vf.forbid["locked"] = true
	env := vf.env(arm)
	dir := t.TempDir()
	existing := filepath.Join(dir, "exists.bin")
	os.WriteFile(existing, []byte("keep"), 0o600)
	binary := filepath.Join(dir, "binary")
	os.WriteFile(binary, []byte{0xff, 0xfe, 0x00}, 0o600)
	big := filepath.Join(dir, "big")
	os.WriteFile(big, []byte(strings.Repeat("x", maxSecretValue+1)), 0o600)
	where := []string{"--vault-url", vf.pathURL()}
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{[]string{"show", "--name", "locked"}, exitError, "signet: Forbidden (ForbiddenByRbac): Caller is not authorized"},
		{[]string{"show", "--name", "missing"}, exitError, "signet: SecretNotFound: "},
		{[]string{"recover", "--name", "missing"}, exitError, "signet: SecretNotFound: Deleted Secret not found: missing"},
		{[]string{"set", "--name", "x"}, exitUsage, "--value or --file is required"},
		{[]string{"set", "--name", "x", "--value", "v", "--file", binary}, exitUsage, "give --value or --file, not both"},
		{[]string{"set", "--name", "x", "--file", binary}, exitError, "is not UTF-8 text"},
		{[]string{"set", "--name", "x", "--file", big}, exitError, "larger than Key Vault's limit"},
		{[]string{"set", "--name", "x", "--value", "v", "--expires", "tomorrow"}, exitUsage, "invalid --expires"},
		{[]string{"set", "--name", "x", "--value", "v", "--tags", "=v"}, exitUsage, "invalid tag"},
		{[]string{"show", "--name", "x", "--client-id", "c"}, exitUsage, "need --identity"},
		{[]string{"backup", "--name", "locked", "--file", existing}, exitError, "already exists"},
		{[]string{"restore", "--file", filepath.Join(dir, "none")}, exitError, "no such file"},
	}
	for _, tt := range tests {
		before := len(vf.recorded())
		res := run(t, env, append(append([]string{"secret"}, tt.args...), where...)...)
		if res.code != tt.wantCode || !strings.Contains(res.stderr, tt.wantErr) || res.stdout != "" {
			t.Errorf("secret %s: exit %d stdout %q stderr %q, want exit %d and %q", strings.Join(tt.args, " "), res.code, res.stdout, res.stderr, tt.wantCode, tt.wantErr)
		}
		if strings.Contains(res.stderr, "hidden-value") {
			t.Errorf("secret %s: the value is in the error", strings.Join(tt.args, " "))
		}
		if tt.wantCode == exitUsage || strings.Contains(tt.wantErr, "already exists") || strings.Contains(tt.wantErr, "UTF-8") {
			if n := len(vf.recorded()) - before; n != 0 {
				t.Errorf("secret %s: %d requests reached the vault, want none", strings.Join(tt.args, " "), n)
			}
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep" {
		t.Errorf("backup overwrote an existing file: %q", b)
	}
}

func TestSecretSetFromStdin(t *testing.T) {
	arm := newARMFake(t)
	vf := newVaultFake(t, fakeToken)
	env := vf.env(arm)
	var stdout, stderr strings.Builder
	code := Main(t.Context(), []string{"secret", "set", "--vault-url", vf.pathURL(), "--name", "piped", "--file", "-"},
		strings.NewReader("piped-value"), &stdout, &stderr, func(k string) string { return env[k] })
	if code != 0 || strings.Contains(stdout.String(), "piped-value") {
		t.Fatalf("secret set --file -: exit %d stdout %q stderr %q", code, stdout.String(), stderr.String())
	}
	if got := mustRun(t, env, "secret", "show", "--vault-url", vf.pathURL(), "--name", "piped", "--output", "table"); got != "piped-value\n" {
		t.Errorf("secret show = %q, want the value read from stdin", got)
	}
}
