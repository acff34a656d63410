package host_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/client"
	"github.com/signet-platform/signet/internal/agent"
	"github.com/signet-platform/signet/internal/agent/host"
	"github.com/signet-platform/signet/internal/server"
)

// These tests run the agent against a real Signet (STS, control plane and
// MIRP on loopback ports) and ask it for tokens with the official SDK.

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// world is a running Signet with a VM that has a system-assigned identity
// and a web app, also with one, placed on the VM.
type world struct {
	*server.Running
	api    *client.Client
	vmID   string
	siteID string
}

func newWorld(t *testing.T) *world {
	t.Helper()
	cfg := server.Config{Dev: true, DataDir: t.TempDir(), Logger: discard()}
	cfg.FreePorts()
	r, err := server.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("starting signet: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	api, err := client.New(client.Config{ManagementURL: r.ARMURL, AuthorityHost: r.STSURL, TenantID: r.Dev.TenantID,
		SubscriptionID: r.Dev.SubscriptionID, ClientID: r.Dev.ClientID, ClientSecret: r.Dev.ClientSecret, CAFile: r.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	w := &world{Running: r, api: api}
	if w.vmID, err = api.ResourceID(r.Dev.ResourceGroup, "Microsoft.Compute/virtualMachines", "vm1"); err != nil {
		t.Fatal(err)
	}
	if w.siteID, err = api.ResourceID(r.Dev.ResourceGroup, "Microsoft.Web/sites", "app1"); err != nil {
		t.Fatal(err)
	}
	sys := &client.Identity{Type: "SystemAssigned"}
	if _, err := api.PutResource(t.Context(), w.vmID, client.Resource{Location: "local", Identity: sys}); err != nil {
		t.Fatalf("PUT vm: %v", err)
	}
	placed, _ := json.Marshal(map[string]string{"signetHostResourceId": w.vmID})
	if _, err := api.PutResource(t.Context(), w.siteID, client.Resource{Location: "local", Identity: sys, Properties: placed}); err != nil {
		t.Fatalf("PUT site: %v", err)
	}
	return w
}

func (w *world) config(t *testing.T, stateDir, joinToken string) host.Config {
	return host.Config{
		StateDir: stateDir, MIRPURL: w.MIRPURL, STSURLs: []string{w.STSURL}, CAFile: w.CAFile, JoinToken: joinToken,
		IMDSAddr: "127.0.0.1:0", AppServiceAddr: "127.0.0.1:0", ArcAddr: "127.0.0.1:0",
		ArcKeyDir: filepath.Join(t.TempDir(), "tokens"), SyncInterval: 100 * time.Millisecond, Logger: discard(),
	}
}

func start(t *testing.T, cfg host.Config) *host.Agent {
	t.Helper()
	a, err := host.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// clearMIEnv leaves only what a test sets to choose the SDK's source.
func clearMIEnv(t *testing.T) {
	for _, k := range append(host.RunEnvDropped, "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_TOKEN_CREDENTIALS") {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
}

// sdkMIRID gets a token through the App Service endpoint with
// azidentity, as an app whose environment is env, and returns its
// xms_mirid. Each call asks for a new resource: MSAL Go caches managed
// identity tokens process-wide, and the request must reach the agent.
func sdkMIRID(t *testing.T, env []string, resource string) string {
	t.Helper()
	clearMIEnv(t)
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == "IDENTITY_ENDPOINT" || k == "IDENTITY_HEADER" {
			t.Setenv(k, v)
		}
	}
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{resource + "/.default"}})
	if err != nil {
		t.Fatalf("GetToken(%s): %v", resource, err)
	}
	return claims(t, tok.Token)["xms_mirid"]
}

// claims decodes a JWT's payload. The signature is the STS's business and
// tested there; here the token's subject is what matters.
func claims(t *testing.T, jwt string) map[string]string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range raw {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func hostEnv(a *host.Agent) []string {
	return []string{"IDENTITY_ENDPOINT=" + a.AppServiceURL(), "IDENTITY_HEADER=" + a.HostSecret()}
}

func TestAgentEnrollsServesAndRestarts(t *testing.T) {
	w := newWorld(t)
	join, _, err := w.MIRP.CreateJoinToken(t.Context(), w.vmID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	stateDir := filepath.Join(t.TempDir(), "agent")
	cfg := w.config(t, stateDir, join)
	a := start(t, cfg)

	t.Run("agent.json", func(t *testing.T) {
		var got host.Endpoints
		if err := host.ReadJSON(filepath.Join(stateDir, host.EndpointsFile), &got); err != nil {
			t.Fatal(err)
		}
		want := host.Endpoints{IMDS: a.IMDSURL(), AppService: a.AppServiceURL(), Arc: a.ArcURL()}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("agent.json (-want +got):\n%s", diff)
		}
		if !strings.HasSuffix(got.AppService, "/msi/token") || !strings.HasSuffix(got.Arc, agent.ArcTokenPath) ||
			!strings.HasPrefix(got.IMDS, "http://127.0.0.1:") {
			t.Errorf("endpoints %+v", got)
		}
		for _, name := range []string{host.EndpointsFile, filepath.Join(host.AppsDir, filepath.Base(host.SecretPath(stateDir, w.siteID)))} {
			if fi, err := os.Stat(filepath.Join(stateDir, name)); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v, mode %v; want 0600", name, err, fi.Mode().Perm())
			}
		}
	})

	t.Run("host identity through App Service", func(t *testing.T) {
		if got := sdkMIRID(t, hostEnv(a), "api://host-test/first"); !strings.EqualFold(got, w.vmID) {
			t.Errorf("xms_mirid = %q, want the VM %q", got, w.vmID)
		}
	})

	t.Run("app identity through signet run's environment", func(t *testing.T) {
		env, err := host.RunEnv(stateDir, w.siteID, []string{"PATH=/bin", "MSI_ENDPOINT=http://elsewhere"})
		if err != nil {
			t.Fatal(err)
		}
		if got := sdkMIRID(t, env, "api://host-test/app"); !strings.EqualFold(got, w.siteID) {
			t.Errorf("xms_mirid = %q, want the app %q", got, w.siteID)
		}
	})

	t.Run("IMDS", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet,
			a.IMDSURL()+agent.IMDSTokenPath+"?api-version=2018-02-01&resource=api://host-test/imds", nil)
		req.Header.Set("Metadata", "true")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("IMDS: %d %v %v", resp.StatusCode, body, err)
		}
		if got := claims(t, body["access_token"])["xms_mirid"]; !strings.EqualFold(got, w.vmID) {
			t.Errorf("xms_mirid = %q, want the VM %q", got, w.vmID)
		}
	})

	t.Run("Arc challenges with a key file in its directory", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet,
			a.ArcURL()+"?api-version=2020-06-01&resource=api://host-test/arc", nil)
		req.Header.Set("Metadata", "true")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		realm, _ := strings.CutPrefix(resp.Header.Get("WWW-Authenticate"), "Basic realm=")
		if resp.StatusCode != http.StatusUnauthorized || filepath.Dir(realm) != cfg.ArcKeyDir {
			t.Errorf("Arc answered %d %q; want 401 naming a file in %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), cfg.ArcKeyDir)
		}
	})

	if s := a.Stats(); s.NodeID == "" || s.HostIdentities != 1 || s.Apps != 1 || s.LastSync.IsZero() {
		t.Errorf("Stats = %+v; want a node, 1 host identity, 1 app, a sync", s)
	}
	hostSecret := a.HostSecret()
	appEnv, err := host.RunEnv(stateDir, w.siteID, nil)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()

	t.Run("restart without a join token, MIRP unreachable", func(t *testing.T) {
		cfg := cfg
		cfg.JoinToken = ""
		cfg.MIRPURL = "https://127.0.0.1:1" // nothing listens there
		b := start(t, cfg)
		if b.HostSecret() != hostSecret {
			t.Error("the host's secret changed across a restart; processes started before it would lose access")
		}
		if env, err := host.RunEnv(stateDir, w.siteID, nil); err != nil || !slicesEqual(env[len(env)-1:], appEnv[len(appEnv)-1:]) {
			t.Errorf("app secret after restart: %v (changed: %v)", err, err == nil)
		}
		if got := sdkMIRID(t, hostEnv(b), "api://host-test/after-restart"); !strings.EqualFold(got, w.vmID) {
			t.Errorf("xms_mirid = %q, want the VM %q", got, w.vmID)
		}
		b.Close()
	})

	t.Run("an app removed from the host loses its secret", func(t *testing.T) {
		cfg := cfg
		cfg.JoinToken = ""
		b := start(t, cfg)
		if err := w.api.DeleteResource(t.Context(), w.siteID); err != nil {
			t.Fatal(err)
		}
		secret := appEnv[len(appEnv)-1]
		deadline := time.Now().Add(3 * time.Second)
		for {
			_, err := host.RunEnv(stateDir, w.siteID, nil)
			known := b.KnowsSecret(strings.TrimPrefix(secret, "IDENTITY_HEADER="))
			if err != nil && strings.Contains(err.Error(), "is not placed on this host") && !known {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("3 s after deleting the app: RunEnv error %v, secret still accepted %v", err, known)
			}
			time.Sleep(50 * time.Millisecond) // polling toward a deadline
		}
	})
}

func slicesEqual(a, b []string) bool { return cmp.Equal(a, b) }

func TestStartRefusesWithoutEnrollment(t *testing.T) {
	_, err := host.Start(t.Context(), host.Config{
		StateDir: t.TempDir(), MIRPURL: "https://127.0.0.1:1", STSURLs: []string{"https://127.0.0.1:1"},
		AppServiceAddr: "127.0.0.1:0", Logger: discard(),
	})
	if !errors.Is(err, host.ErrNotEnrolled) || !strings.Contains(err.Error(), "signet agent --join-token") {
		t.Fatalf("Start = %v, want ErrNotEnrolled telling how to enroll", err)
	}
}
