package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUsageErrors(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStderr string // prefix
	}{
		{"no command", nil, exitUsage, "usage: signet <command> [flags]\n"},
		{"unknown command", []string{"frobnicate"}, exitUsage, "signet: unknown command \"frobnicate\"\n"},
		{"unknown verb", []string{"vm", "explode"}, exitUsage, "signet: unknown command \"vm explode\"\n"},
		{"missing required flag", []string{"group", "create"}, exitUsage, "signet: --name is required\nusage: signet group create --name N [--location L]\n"},
		{"unknown flag", []string{"group", "list", "--bogus"}, exitUsage, "signet: flag provided but not defined: -bogus\nusage: signet group list"},
		{"positional argument", []string{"group", "show", "--name", "a", "extra"}, exitUsage, "signet: unexpected argument \"extra\"\n"},
		{"bad output", []string{"--output", "yaml", "group", "list"}, exitUsage, "signet: invalid --output \"yaml\" (want json or table)\n"},
		{"global flag without value", []string{"group", "list", "--subscription"}, exitUsage, "signet: flag needs an argument: --subscription\n"},
		{"bad --since", []string{"logs", "signins", "--since", "yesterday"}, exitUsage, "signet: invalid --since \"yesterday\""},
		{"bad --result", []string{"logs", "signins", "--result", "maybe"}, exitUsage, "signet: invalid --result \"maybe\""},
		{"role delete with both forms", []string{"role", "assignment", "delete", "--ids", "/x", "--role", "Reader"}, exitUsage, "signet: --ids cannot be combined"},
		{"role create without assignee", []string{"role", "assignment", "create", "--role", "Reader", "--scope", "/"}, exitUsage, "signet: --assignee or --assignee-object-id is required\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := run(t, env, tt.args...)
			if res.code != tt.wantCode || !strings.HasPrefix(res.stderr, tt.wantStderr) {
				t.Errorf("exit %d stderr %q, want exit %d stderr starting %q", res.code, res.stderr, tt.wantCode, tt.wantStderr)
			}
			if res.stdout != "" {
				t.Errorf("stdout = %q, want nothing on a usage error", res.stdout)
			}
		})
	}
	if n := len(f.armRequests()); n != 0 {
		t.Errorf("usage errors sent %d requests, want none", n)
	}
}

func TestHelpAndVersion(t *testing.T) {
	env := map[string]string{}
	out := mustRun(t, env, "help")
	for _, want := range []string{"vm identity assign", "role assignment create", "--env-file", "token get"} {
		if !strings.Contains(out, want) {
			t.Errorf("help does not mention %q:\n%s", want, out)
		}
	}
	out = mustRun(t, env, "help", "vm", "identity")
	if !strings.HasPrefix(out, "usage: signet vm identity assign") || strings.Contains(out, "vm create") {
		t.Errorf("help vm identity = %q", out)
	}
	out = mustRun(t, env, "vm", "create", "-h")
	if !strings.HasPrefix(out, "usage: signet vm create --group G --name N") {
		t.Errorf("vm create -h = %q", out)
	}
	if out := mustRun(t, env, "version"); !strings.HasPrefix(out, "signet ") {
		t.Errorf("version = %q", out)
	}
}

func TestServerErrorsGoToStderr(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	f.fail["GET /subscriptions/sub-1/resourceGroups/nope"] = armError{404, "ResourceGroupNotFound", "Resource group 'nope' could not be found."}
	res := run(t, env, "group", "show", "--name", "nope")
	want := result{stderr: "signet: ResourceGroupNotFound: Resource group 'nope' could not be found.\n", code: exitError}
	if diff := cmp.Diff(want, res, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("group show (-want +got):\n%s", diff)
	}

	env["SIGNET_CLIENT_SECRET"] = "wrong"
	res = run(t, env, "group", "list")
	want = result{stderr: "signet: invalid_client: AADSTS7000215: Invalid client secret provided.\n", code: exitError}
	if diff := cmp.Diff(want, res, cmp.AllowUnexported(result{})); diff != "" {
		t.Errorf("group list with a bad secret (-want +got):\n%s", diff)
	}
}

func TestEnvFile(t *testing.T) {
	f := newARMFake(t)
	full := f.env()
	writeEnv := func(path string, vars map[string]string) {
		t.Helper()
		var b strings.Builder
		b.WriteString("# signet dev\n")
		for k, v := range vars {
			b.WriteString("export " + k + "='" + strings.ReplaceAll(v, "'", `'\''`) + "'\n")
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	fileVars := map[string]string{}
	for k, v := range full {
		if k != "HOME" {
			fileVars[k] = v
		}
	}
	fileVars["SIGNET_SUBSCRIPTION_ID"] = "sub-from-file"
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	writeEnv(envFile, fileVars)
	home := t.TempDir()
	writeEnv(filepath.Join(home, ".signet", "dev", "env"), fileVars)

	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		wantSub string // subscription the request went to; "" when it must fail
		wantErr string
	}{
		{"--env-file", map[string]string{"HOME": dir}, []string{"--env-file", envFile}, "sub-from-file", ""},
		{"SIGNET_ENV_FILE", map[string]string{"HOME": dir, "SIGNET_ENV_FILE": envFile}, nil, "sub-from-file", ""},
		{"default under HOME", map[string]string{"HOME": home}, nil, "sub-from-file", ""},
		{"environment wins over file", map[string]string{"HOME": home, "SIGNET_SUBSCRIPTION_ID": "sub-from-env"}, nil, "sub-from-env", ""},
		{"--subscription wins over both", map[string]string{"HOME": home, "SIGNET_SUBSCRIPTION_ID": "sub-from-env"}, []string{"--subscription", "sub-flag"}, "sub-flag", ""},
		{"explicit file missing", map[string]string{"HOME": home}, []string{"--env-file", filepath.Join(dir, "missing")}, "", "signet: env file: open "},
		{"no file, no env", map[string]string{"HOME": dir}, nil, "", "signet: missing configuration: SIGNET_URL, AZURE_AUTHORITY_HOST, AZURE_TENANT_ID, SIGNET_CLIENT_ID, SIGNET_CLIENT_SECRET not set"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.armRequests())
			res := run(t, tt.env, append(tt.args, "group", "list")...)
			if tt.wantErr != "" {
				if res.code != exitError || !strings.HasPrefix(res.stderr, tt.wantErr) {
					t.Errorf("exit %d stderr %q, want exit 1 and %q", res.code, res.stderr, tt.wantErr)
				}
				return
			}
			if res.code != 0 {
				t.Fatalf("exit %d stderr %q", res.code, res.stderr)
			}
			reqs := f.armRequests()[before:]
			if len(reqs) != 1 || reqs[0].Path != "/subscriptions/"+tt.wantSub+"/resourceGroups" {
				t.Errorf("requests %+v, want one list in %s", reqs, tt.wantSub)
			}
		})
	}

	noSub := f.env()
	delete(noSub, "SIGNET_SUBSCRIPTION_ID")
	res := run(t, noSub, "group", "list")
	if res.code != exitError || res.stderr != "signet: no subscription: set SIGNET_SUBSCRIPTION_ID or pass --subscription\n" {
		t.Errorf("without a subscription: exit %d stderr %q", res.code, res.stderr)
	}
}

func TestGroupCommands(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	mustRun(t, env, "group", "create", "--name", "rg1", "--location", "westeurope")
	mustRun(t, env, "group", "create", "--name", "rg2")
	if diff := cmp.Diff(map[string]any{"location": "local"}, f.lastBody("PUT")); diff != "" {
		t.Errorf("group create without --location (-want +got):\n%s", diff)
	}
	// Global flags work before or after the command, in both spellings.
	for _, args := range [][]string{
		{"--output", "table", "group", "list"},
		{"group", "list", "--output=table"},
		{"group", "-o", "table", "list"},
	} {
		got := mustRun(t, env, args...)
		want := "NAME  LOCATION    STATE\nrg1   westeurope  -\nrg2   local       -\n"
		if got != want {
			t.Errorf("%v:\n%s\nwant:\n%s", args, got, want)
		}
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "group", "show", "--name", "rg1")), &shown); err != nil || shown["location"] != "westeurope" {
		t.Errorf("group show = %v (%v)", shown, err)
	}
	mustRun(t, env, "group", "delete", "--name", "rg1")
	if got := mustRun(t, env, "group", "list"); !strings.Contains(got, "rg2") || strings.Contains(got, "rg1") {
		t.Errorf("group list after delete = %s", got)
	}
	// An empty list is an empty JSON array, not null.
	mustRun(t, env, "group", "delete", "--name", "rg2")
	if got := mustRun(t, env, "group", "list"); got != "[]\n" {
		t.Errorf("empty group list = %q, want []", got)
	}
}

func TestIdentityCommands(t *testing.T) {
	f := newARMFake(t)
	seed(t, f)
	env := f.env()
	mustRun(t, env, "identity", "create", "--group", "rg", "--name", "app")
	if got := f.lastBody("PUT")["location"]; got != "westeurope" {
		t.Errorf("identity create location = %v, want the group's", got)
	}
	got := mustRun(t, env, "identity", "list", "--group", "rg", "--output", "table")
	want := "" +
		"NAME   GROUP  LOCATION    CLIENT ID     PRINCIPAL ID\n" +
		"app    rg     westeurope  client-app    principal-app\n" +
		"uami1  rg     westeurope  client-uami1  principal-uami1\n"
	if got != want {
		t.Errorf("identity list table:\n%s\nwant:\n%s", got, want)
	}
	var id map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "identity", "show", "--group", "rg", "--name", "app")), &id); err != nil {
		t.Fatal(err)
	}
	if got := id["properties"].(map[string]any)["clientId"]; got != "client-app" {
		t.Errorf("identity show clientId = %v", got)
	}
	mustRun(t, env, "identity", "delete", "--group", "rg", "--name", "app")
	var all []any
	if err := json.Unmarshal([]byte(mustRun(t, env, "identity", "list")), &all); err != nil || len(all) != 2 {
		t.Errorf("identity list (subscription) = %v (%v), want uami1 and uami2", all, err)
	}
}

func TestTakeMulti(t *testing.T) {
	tests := []struct {
		args        []string
		wantValues  []string
		wantPresent bool
		wantRest    []string
	}{
		{[]string{"--name", "x"}, nil, false, []string{"--name", "x"}},
		{[]string{"--ids"}, nil, true, nil},
		{[]string{"--ids", "a", "b", "--name", "x"}, []string{"a", "b"}, true, []string{"--name", "x"}},
		{[]string{"--ids=a", "-ids", "b"}, []string{"a", "b"}, true, nil},
		{[]string{"--", "--ids", "a"}, nil, false, []string{"--", "--ids", "a"}},
	}
	for _, tt := range tests {
		values, present, rest := takeMulti(tt.args, "ids")
		if diff := cmp.Diff([]any{tt.wantValues, tt.wantPresent, tt.wantRest}, []any{values, present, rest}); diff != "" {
			t.Errorf("takeMulti(%q) (-want +got):\n%s", tt.args, diff)
		}
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{"", time.Time{}, false},
		{"1h", now.Add(-time.Hour), false},
		{"90m", now.Add(-90 * time.Minute), false},
		{"2025-05-31T00:00:00Z", time.Date(2025, 5, 31, 0, 0, 0, 0, time.UTC), false},
		{"-1h", time.Time{}, true},
		{"yesterday", time.Time{}, true},
	}
	for _, tt := range tests {
		got, err := parseSince(tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("parseSince(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
