package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/signet-platform/signet/internal/agent/host"
	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/metrics"
	"github.com/signet-platform/signet/internal/server"
)

// lockedBuffer collects log output from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// jwtShape is a compact JWS: whatever token the logs would leak, it looks
// like this.
var jwtShape = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+`)

// Nothing secret reaches a log line: the server and an agent log at debug
// level, in JSON, through a representative flow — client-secret and
// certificate tokens, agent tokens over IMDS, App Service and Arc, a join
// token, a Key Vault secret set and read, a blob uploaded and read — and
// the captured output must hold none of the secrets, tokens or keys that
// went by.
func TestNoSecretReachesTheLogs(t *testing.T) {
	clearMIEnv(t)
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := startSignet(t, "", func(c *server.Config) { c.Logger = logger })
	ctx := ctxT(t)
	secrets := map[string]string{ // what must not appear → what it is
		s.Dev.ClientSecret: "the admin's client secret",
	}
	addFile := func(path, what string) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		secrets[strings.TrimSpace(string(b))] = what
	}
	addFile(filepath.Join(s.dataDir, "master.key"), "the master key")
	addFile(filepath.Join(s.dataDir, "tls", "server-key.pem"), "the serving key")

	// Client secret.
	adminTok, err := s.adminCredential(t).GetToken(ctx, tokenOpts("https://management.azure.com/.default"))
	if err != nil {
		t.Fatal(err)
	}
	secrets[adminTok.Token] = "an access token (client secret)"

	// A host enrolled with a join token, its agent logging to the same place.
	admin := s.adminCredential(t)
	vm := s.putVM(t, admin, "leak-vm", &armIdentity{Type: "SystemAssigned"})
	join, _, err := s.MIRP.CreateJoinToken(ctx, vm.ID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	secrets[join] = "the join token"
	stateDir := t.TempDir()
	arc := os.Geteuid() == 0
	agent := startAgent(t, s, stateDir, join, []string{s.STSURL}, func(c *host.Config) {
		c.Logger = logger
		c.Middleware = metrics.New().AgentMiddleware(logger)
		if !arc {
			c.ArcAddr = ""
		}
	})
	h := &testHost{s: s, vmID: vm.ID, sysOID: vm.Identity.PrincipalID, agent: agent, stateDir: stateDir}

	// The identity's private key and a certificate token made with it.
	keys, _ := filepath.Glob(filepath.Join(stateDir, "identities", "*.key.pem"))
	if len(keys) == 0 {
		t.Fatal("the agent holds no identity key")
	}
	for _, k := range keys {
		addFile(k, "an identity's private key")
	}
	clientID := strings.TrimSuffix(filepath.Base(keys[0]), ".key.pem")
	certTok, err := h.identityCredential(t, clientID).GetToken(ctx, tokenOpts("https://management.azure.com/.default"))
	if err != nil {
		t.Fatal(err)
	}
	secrets[certTok.Token] = "an access token (certificate)"

	// Agent tokens: IMDS, App Service (with the host's secret), Arc.
	secrets[leakIMDSToken(t, agent)] = "an access token (IMDS)"
	hostSecret := agent.HostSecret()
	secrets[hostSecret] = "the App Service secret"
	secrets[leakAppServiceToken(t, agent, hostSecret)] = "an access token (App Service)"
	if arc {
		tok, keyFile := leakArcToken(t, agent)
		secrets[tok] = "an access token (Arc)"
		secrets[keyFile] = "an Arc key file's content"
	}

	// Key Vault: a known value set and read back.
	s.createVault(t, "leak-vault", nil)
	s.grantRole(t, s.Dev.ObjectID, authz.KeyVaultSecretsOfficerRoleID, s.vaultPath("leak-vault"))
	kv := s.secretsClient(t, "leak-vault", admin)
	const secretValue = "s3cr3t-value-5f0d8a1e-do-not-log"
	if _, err := kv.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr(secretValue)}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := kv.GetSecret(ctx, "db-password", "", nil)
	if err != nil || *got.Value != secretValue {
		t.Fatalf("get secret: %v", err)
	}
	secrets[secretValue] = "a Key Vault secret's value"

	// Blob: a known pattern uploaded and read back.
	acct := s.createStorageAccount(t, "leakstore")
	s.grant(t, s.Dev.ObjectID, authz.StorageBlobDataOwnerRoleID, acct.ID)
	bc := s.blobClient(t, acct.Properties.PrimaryEndpoints.Blob, admin)
	if _, err := bc.CreateContainer(ctx, "leaks", nil); err != nil {
		t.Fatal(err)
	}
	const blobContent = "blob-content-pattern-7c1e2b9d-do-not-log"
	if _, err := bc.UploadBuffer(ctx, "leaks", "b.txt", []byte(blobContent), nil); err != nil {
		t.Fatal(err)
	}
	dl, err := bc.DownloadStream(ctx, "leaks", "b.txt", nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, dl.Body)
	dl.Body.Close()
	secrets[blobContent] = "a blob's content"

	// A refused request that carries a token still logs only its class.
	if code := rawGet(t, s.http, s.ARMURL+"/subscriptions?api-version=2022-12-01", "Bearer "+certTok.Token+"x"); code != http.StatusUnauthorized {
		t.Fatalf("tampered token: %d, want 401", code)
	}

	agent.Close() // flush the agent's lines
	out := logs.String()
	// The test must be able to fail: the flow above did log, through the
	// request middleware of every listener.
	for _, want := range []string{`"service":"login"`, `"service":"vault"`, `"service":"blob"`, `"service":"imds"`,
		`"service":"identity provider"`, `"msg":"arm request"`} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs have no line with %s; is logging on?", want)
		}
	}
	for secret, what := range secrets {
		if secret == "" {
			t.Fatalf("empty value for %s", what)
		}
		if i := strings.Index(out, secret); i >= 0 {
			t.Errorf("%s appears in the logs: …%s…", what, excerpt(out, i))
		}
		// Base64 is how a secret would slip through a Basic header or a blob.
		if b := base64.StdEncoding.EncodeToString([]byte(secret)); strings.Contains(out, b) {
			t.Errorf("%s appears base64-encoded in the logs", what)
		}
	}
	if m := jwtShape.FindString(out); m != "" {
		t.Errorf("a JWT appears in the logs: %.40s…", m)
	}
	for _, marker := range []string{"PRIVATE KEY", "Bearer ", "client_secret", "client_assertion="} {
		if i := strings.Index(out, marker); i >= 0 {
			t.Errorf("%q appears in the logs: …%s…", marker, excerpt(out, i))
		}
	}
}

func excerpt(s string, i int) string {
	lo, hi := max(0, i-80), min(len(s), i+80)
	return s[lo:hi]
}

func rawGet(t *testing.T, hc *http.Client, u, authorization string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", authorization)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func leakTokenFrom(t *testing.T, req *http.Request) string {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("%s: %s %v", req.URL.Path, resp.Status, err)
	}
	return out.AccessToken
}

func leakIMDSToken(t *testing.T, a *host.Agent) string {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet,
		a.IMDSURL()+"/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+url.QueryEscape("https://vault.azure.net"), nil)
	req.Header.Set("Metadata", "true")
	return leakTokenFrom(t, req)
}

func leakAppServiceToken(t *testing.T, a *host.Agent, secret string) string {
	req, _ := http.NewRequest(http.MethodGet, a.AppServiceURL()+"?api-version=2019-08-01&resource="+url.QueryEscape("https://storage.azure.com"), nil)
	req.Header.Set("X-IDENTITY-HEADER", secret)
	return leakTokenFrom(t, req)
}

// leakArcToken runs Arc's challenge: the first request names a key file,
// the retry presents its content.
func leakArcToken(t *testing.T, a *host.Agent) (token, keyFile string) {
	u := a.ArcURL() + "?api-version=2020-06-01&resource=" + url.QueryEscape("https://management.azure.com/")
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	path, ok := strings.CutPrefix(resp.Header.Get("Www-Authenticate"), "Basic realm=")
	if !ok {
		t.Fatalf("Arc challenge: %s %q", resp.Status, resp.Header.Get("Www-Authenticate"))
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	keyFile = string(b)
	req, _ = http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Metadata", "true")
	req.Header.Set("Authorization", "Basic "+keyFile)
	return leakTokenFrom(t, req), keyFile
}
