package e2e

import (
	"encoding/json"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/signet-platform/signet/client"
	"github.com/signet-platform/signet/internal/server"
)

func withDevAgent(c *server.Config) {
	c.DevAgent = &server.DevAgentConfig{IMDSAddr: "127.0.0.1:0", AppServiceAddr: "127.0.0.1:0"}
}

// TestDevRunsAnAgentForItsHost: `signet dev` gives its own host an identity
// and an agent, and its env file is all an unmodified program needs.
func TestDevRunsAnAgentForItsHost(t *testing.T) {
	dir := t.TempDir()
	s := startSignet(t, dir, withDevAgent)
	if s.Agent == nil || s.DevHostID == "" {
		t.Fatal("no dev agent")
	}
	vars, err := client.LoadEnvFile(s.EnvFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "AZURE_POD_IDENTITY_AUTHORITY_HOST", "SIGNET_IMDS_ADDR", "SIGNET_AGENT_STATE_DIR"} {
		if vars[k] == "" {
			t.Errorf("%s missing from the env file", k)
		}
	}
	if strings.HasSuffix(vars["AZURE_POD_IDENTITY_AUTHORITY_HOST"], "/") {
		t.Error("AZURE_POD_IDENTITY_AUTHORITY_HOST must not end in a slash (msal-node concatenates)")
	}
	host := s.principalOfResource(t, s.DevHostID)

	// An unmodified program with the env file's variables: both the
	// managed identity credential and DefaultAzureCredential reach the host's
	// identity.
	clearMIEnv(t)
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER"} {
		t.Setenv(k, vars[k])
	}
	th := &testHost{s: s}
	mi, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	// MSAL Go caches managed identity tokens per process by (identity,
	// resource), across servers: a resource no other test asks for.
	th.checkTokenFor(t, mi, "api://dev-managed-identity", host, s.DevHostID)
	t.Setenv("PATH", "")
	dac, err := azidentity.NewDefaultAzureCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	th.checkTokenFor(t, dac, "api://dev-default-credential", host, s.DevHostID)

	// The dev host's identity reads the dev vault's secret with the
	// official azsecrets client and no secret of its own.
	if vars["SIGNET_VAULT_URL"] == "" {
		t.Fatal("SIGNET_VAULT_URL missing from the env file")
	}
	clearMIEnv(t)
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER"} {
		t.Setenv(k, vars[k])
	}
	if got := s.readSecretAsIdentity(t, vars["SIGNET_VAULT_URL"], "greeting"); got != "hello from signet" {
		t.Errorf("dev vault secret = %q", got)
	}

	// ... and downloads the dev storage account's images/sample.jpg, but
	// may not upload (Storage Blob Data Reader). Through the CLI's
	// --identity: MSAL Go's per-process cache may hold a storage token of
	// another test's server for the system-assigned slot (the blob tests
	// prove azblob with ManagedIdentityCredential themselves).
	if vars["SIGNET_BLOB_URL"] == "" {
		t.Fatal("SIGNET_BLOB_URL missing from the env file")
	}
	clearMIEnv(t)
	jpgPath := filepath.Join(t.TempDir(), "sample.jpg")
	blobArgs := []string{"--identity", "--blob-endpoint", vars["SIGNET_BLOB_URL"], "--account-name", "signetdev", "--container", "images"}
	if _, stderr, code := s.runCLI(t, append([]string{"blob", "download", "--name", "sample.jpg", "--file", jpgPath}, blobArgs...)...); code != 0 {
		t.Fatalf("blob download --identity: exit %d: %s", code, stderr)
	}
	f, err := os.Open(jpgPath)
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(f)
	f.Close()
	if err != nil || img.Bounds().Dx() == 0 {
		t.Errorf("images/sample.jpg is not a JPEG image: %v", err)
	}
	if _, stderr, code := s.runCLI(t, append([]string{"blob", "upload", "--name", "mine.jpg", "--file", jpgPath}, blobArgs...)...); code == 0 || !strings.Contains(stderr, "AuthorizationPermissionMismatch") {
		t.Errorf("upload as a Storage Blob Data Reader: exit %d, stderr %q; want 403 AuthorizationPermissionMismatch", code, stderr)
	}

	// `signet token get --identity`, like `az account get-access-token`
	// after `az login --identity`.
	clearMIEnv(t)
	stdout, stderr, code := s.runCLI(t, "token", "get", "--identity", "--resource", "https://storage.azure.com")
	if code != 0 {
		t.Fatalf("token get --identity: exit %d: %s", code, stderr)
	}
	var tok struct {
		AccessToken string `json:"accessToken"`
	}
	if err := json.Unmarshal([]byte(stdout), &tok); err != nil {
		t.Fatal(err)
	}
	if c := s.verifyWithDiscovery(t, tok.AccessToken); c.OID != host || c.Audience != "https://storage.azure.com" {
		t.Errorf("token get --identity: oid %q aud %q", c.OID, c.Audience)
	}
}

// principalOfResource is a resource's system-assigned principal.
func (s *signet) principalOfResource(t testing.TB, id string) string {
	t.Helper()
	var oid string
	err := s.Store.Read(ctxT(t), func(tx storeTx) error {
		r, err := tx.GetResource(id)
		oid = r.SystemAssignedPrincipalID
		return err
	})
	if err != nil || oid == "" {
		t.Fatalf("system-assigned principal of %s: %q %v", id, oid, err)
	}
	return oid
}

// readSecretAsIdentity reads a secret with the official azsecrets client
// and ManagedIdentityCredential from the environment.
func (s *signet) readSecretAsIdentity(t *testing.T, vaultURL, name string) string {
	t.Helper()
	cred, err := azidentity.NewManagedIdentityCredential(nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := azsecrets.NewClient(vaultURL, cred, &azsecrets.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: s.vaultHTTP(t), Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.GetSecret(ctxT(t), name, "", nil)
	if err != nil {
		t.Fatalf("reading %s from %s as the host's identity: %v", name, vaultURL, err)
	}
	return *resp.Value
}
