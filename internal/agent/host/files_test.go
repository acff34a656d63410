package host

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/agent"
)

const app1 = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/App1"

// stateWith writes agent.json and app1's secret as a running agent would.
func stateWith(t *testing.T, ep Endpoints) string {
	t.Helper()
	dir := t.TempDir()
	if err := ensurePrivateDir(filepath.Join(dir, appsDir)); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(filepath.Join(dir, endpointsFile), ep); err != nil {
		t.Fatal(err)
	}
	if err := writeJSON(secretPath(dir, app1), appSecret{App: app1, Secret: "s3cret"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunEnv(t *testing.T) {
	const endpoint = "http://127.0.0.1:41999/msi/token"
	dir := stateWith(t, Endpoints{AppService: endpoint})
	tests := []struct {
		name    string
		dir     string
		app     string
		environ []string
		want    []string
		wantErr string
	}{
		{
			name: "sets the endpoint and the app's secret, drops other sources",
			dir:  dir, app: app1,
			environ: []string{"PATH=/usr/bin", "IDENTITY_ENDPOINT=http://old", "IDENTITY_HEADER=old",
				"MSI_ENDPOINT=http://ml", "MSI_SECRET=x", "IDENTITY_SERVER_THUMBPRINT=ab", "IMDS_ENDPOINT=http://arc",
				"msi_endpoint=http://lower", "HOME=/root", "AZURE_CLIENT_ID=kept"},
			want: []string{"PATH=/usr/bin", "HOME=/root", "AZURE_CLIENT_ID=kept",
				"IDENTITY_ENDPOINT=" + endpoint, "IDENTITY_HEADER=s3cret"},
		},
		{
			name: "app ids are case-insensitive, as ARM's are",
			dir:  dir, app: strings.ToLower(app1),
			want: []string{"IDENTITY_ENDPOINT=" + endpoint, "IDENTITY_HEADER=s3cret"},
		},
		{
			name: "unknown app", dir: dir, app: app1 + "x",
			wantErr: "app " + app1 + "x is not placed on this host (or the agent has not synced it yet)",
		},
		{
			name: "no agent state", dir: filepath.Join(dir, "nope"), app: app1,
			wantErr: "cannot read the agent's state in",
		},
		{
			name: "App Service endpoint disabled", dir: stateWith(t, Endpoints{IMDS: "http://169.254.169.254"}), app: app1,
			wantErr: "serves no App Service endpoint",
		},
		{name: "no app", dir: dir, app: "", wantErr: "no app resource id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RunEnv(tt.dir, tt.app, tt.environ)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("RunEnv error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("RunEnv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppSecretsFollowTheAppsAndSurviveRestarts(t *testing.T) {
	dir := t.TempDir()
	const app2 = "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Web/sites/app2"
	first := &appSecrets{stateDir: dir, table: agent.NewAppSecretTable(), logger: discard()}
	if err := first.load(); err != nil {
		t.Fatal(err)
	}
	if err := first.reconcile([]string{app1, app2}); err != nil {
		t.Fatal(err)
	}
	hostSecret, s1, s2 := first.secret(""), first.secret(app1), first.secret(app2)
	if hostSecret == "" || s1 == "" || s2 == "" || s1 == s2 || s1 == hostSecret {
		t.Fatalf("secrets host %q app1 %q app2 %q: want three distinct", hostSecret, s1, s2)
	}

	// A restarted agent restores the same secrets from disk.
	second := &appSecrets{stateDir: dir, table: agent.NewAppSecretTable(), logger: discard()}
	if err := second.load(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ secret, app string }{{hostSecret, ""}, {s1, strings.ToLower(app1)}, {s2, strings.ToLower(app2)}} {
		if got, ok := second.table.AppForSecret(c.secret); !ok || got != c.app {
			t.Errorf("after restart AppForSecret = %q, %v; want %q", got, ok, c.app)
		}
	}

	// app2 leaves the host: its secret stops working and its file goes.
	if err := second.reconcile([]string{app1}); err != nil {
		t.Fatal(err)
	}
	if _, ok := second.table.AppForSecret(s2); ok {
		t.Error("a removed app's secret is still accepted")
	}
	if _, err := os.Stat(secretPath(dir, app2)); !os.IsNotExist(err) {
		t.Errorf("a removed app's secret file: %v, want it gone", err)
	}
	if got, ok := second.table.AppForSecret(s1); !ok || got != strings.ToLower(app1) || second.secret("") != hostSecret {
		t.Errorf("the remaining app or the host lost its secret")
	}
	if _, ok := second.table.AppForSecret("guess"); ok {
		t.Error("an unknown secret was accepted")
	}
}

func TestLoadDiscardsAForeignSecretFile(t *testing.T) {
	dir := t.TempDir()
	if err := ensurePrivateDir(filepath.Join(dir, appsDir)); err != nil {
		t.Fatal(err)
	}
	// A file named for app1 that claims to be another app's: trusting its
	// "app" would hand app1's secret holder another app's identities.
	if err := writeJSON(secretPath(dir, app1), appSecret{App: "/other", Secret: "x"}); err != nil {
		t.Fatal(err)
	}
	s := &appSecrets{stateDir: dir, table: agent.NewAppSecretTable(), logger: discard()}
	if err := s.load(); err != nil {
		t.Fatal(err)
	}
	if app, ok := s.table.AppForSecret("x"); ok {
		t.Errorf("a mismatched secret file was loaded for %q", app)
	}
}

func TestBaseURL(t *testing.T) {
	for _, tt := range []struct{ addr, want string }{
		{"127.0.0.1:41999", "http://127.0.0.1:41999"},
		{"169.254.169.254:80", "http://169.254.169.254"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"[::]:8080", "http://127.0.0.1:8080"},
		{"[::1]:8080", "http://[::1]:8080"},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := baseURL(addr); got != tt.want {
			t.Errorf("baseURL(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestSourcesFor(t *testing.T) {
	bridge := netip.MustParsePrefix("172.17.0.0/16")
	for _, tt := range []struct {
		bound string
		want  []netip.Prefix
	}{
		{"127.0.0.1:41999", []netip.Prefix{bridge}},
		{"0.0.0.0:80", []netip.Prefix{bridge}},
		{"169.254.169.254:80", []netip.Prefix{bridge, netip.MustParsePrefix("169.254.169.254/32")}},
	} {
		addr, err := net.ResolveTCPAddr("tcp", tt.bound)
		if err != nil {
			t.Fatal(err)
		}
		got := sourcesFor(addr, []netip.Prefix{bridge}).Allowed
		if diff := cmp.Diff(tt.want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
			t.Errorf("sourcesFor(%s) (-want +got):\n%s", tt.bound, diff)
		}
	}
}
