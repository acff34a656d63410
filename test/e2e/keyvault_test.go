package e2e

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/server"
)

func wantKVError(t *testing.T, what string, err error, status int, code, inner string) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: got %v, want a %d %s response", what, err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != code || !strings.Contains(err.Error(), inner) {
		t.Fatalf("%s: got %d %s (%v), want %d %s/%s", what, re.StatusCode, re.ErrorCode, err, status, code, inner)
	}
}

// The seed scenario: a VM's managed identity reads a secret through the
// official azsecrets client and ManagedIdentityCredential, through a real
// running agent, with RBAC deciding each step.
func TestManagedIdentityReadsAVaultSecret(t *testing.T) {
	clearMIEnv(t)
	s := startSignet(t, "", onFreeVaultPort)
	h := newTestHost(t, s)
	ctx := ctxT(t)

	props := s.createVault(t, "app-vault", nil)
	if got, want := props["vaultUri"], s.VaultURL("app-vault"); got != want {
		t.Errorf("vaultUri = %v, want %v", got, want)
	}
	if props["enableRbacAuthorization"] != true || props["softDeleteRetentionInDays"] != float64(90) {
		t.Errorf("vault properties not filled in: %v", props)
	}
	vault := s.vaultPath("app-vault")
	s.grantRole(t, s.Dev.ObjectID, authz.KeyVaultSecretsOfficerRoleID, vault)
	admin := s.secretsClient(t, "app-vault", s.adminCredential(t))
	for _, name := range []string{"db-password", "other"} {
		if _, err := admin.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: to.Ptr("value-of-" + name)}, nil); err != nil {
			t.Fatalf("admin sets %s: %v", name, err)
		}
	}

	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ClientOptions: h.imdsOptions()})
	if err != nil {
		t.Fatal(err)
	}
	c := s.secretsClient(t, "app-vault", mi)

	_, err = c.GetSecret(ctx, "db-password", "", nil)
	wantKVError(t, "read without a role", err, http.StatusForbidden, "Forbidden", "ForbiddenByRbac")

	s.grantRole(t, h.sysOID, authz.KeyVaultSecretsUserRoleID, vault)
	got, err := c.GetSecret(ctx, "db-password", "", nil)
	if err != nil {
		t.Fatalf("read as Key Vault Secrets User: %v", err)
	}
	if *got.Value != "value-of-db-password" {
		t.Errorf("value = %q", *got.Value)
	}
	_, err = c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("mine")}, nil)
	wantKVError(t, "set as Key Vault Secrets User", err, http.StatusForbidden, "Forbidden", "Key Vault Secrets Officer")

	s.grantRole(t, h.sysOID, authz.KeyVaultSecretsOfficerRoleID, vault)
	if _, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("rotated")}, nil); err != nil {
		t.Fatalf("set as Key Vault Secrets Officer: %v", err)
	}

	// A user-assigned identity with a role on one secret reads that one only.
	uami := h.uamis[0]
	umi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: h.imdsOptions(), ID: azidentity.ClientID(*uami.Properties.ClientID)})
	if err != nil {
		t.Fatal(err)
	}
	s.grantRole(t, *uami.Properties.PrincipalID, authz.KeyVaultSecretsUserRoleID, vault+"/secrets/db-password")
	uc := s.secretsClient(t, "app-vault", umi)
	if got, err := uc.GetSecret(ctx, "db-password", "", nil); err != nil || *got.Value != "rotated" {
		t.Fatalf("read the one granted secret: %v", err)
	}
	_, err = uc.GetSecret(ctx, "other", "", nil)
	wantKVError(t, "read a secret without a role on it", err, http.StatusForbidden, "Forbidden", "ForbiddenByRbac")

	// The control plane shows those accesses, with the caller and token.
	var logs struct {
		Value []struct {
			CallerID, Action, Item, Result, TokenID, ResourceID string
			Status                                              int
		} `json:"value"`
	}
	_, err = armDo(ctx, t, s, s.adminCredential(t), http.MethodGet,
		"/subscriptions/"+s.Dev.SubscriptionID+"/providers/Signet.Audit/accessLogs", "2024-01-01", nil, &logs)
	if err != nil {
		t.Fatal(err)
	}
	var denied, read int
	for _, a := range logs.Value {
		if a.CallerID != h.sysOID || a.Action != "Microsoft.KeyVault/vaults/secrets/getSecret/action" || !strings.EqualFold(a.ResourceID, vault) {
			continue
		}
		switch {
		case a.Status == http.StatusForbidden && a.Result == "failure":
			denied++
		case a.Status == http.StatusOK && a.Result == "success" && a.TokenID != "":
			read++
		}
	}
	if denied != 1 || read != 1 {
		t.Errorf("access log for the VM's identity: %d denied and %d successful reads, want 1 and 1", denied, read)
	}
}

// Restart keeps every secret; a wrong master key stops the start with a
// clear error and destroys nothing; the files on disk never hold a value.
func TestVaultSecretsSurviveRestartAndStayEncrypted(t *testing.T) {
	dir := t.TempDir()
	const value = "plaintext-canary-3f9a1c"
	s := startSignet(t, dir, onFreeVaultPort)
	s.createVault(t, "keep-vault", nil)
	s.grantRole(t, s.Dev.ObjectID, authz.KeyVaultSecretsOfficerRoleID, s.vaultPath("keep-vault"))
	c := s.secretsClient(t, "keep-vault", s.adminCredential(t))
	ctx := ctxT(t)
	for i := range 3 {
		name := []string{"a", "b", "c"}[i]
		if _, err := c.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: to.Ptr(value + name)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	entries, err := filepath.Glob(filepath.Join(dir, "signet.db*"))
	if err != nil || len(entries) == 0 {
		t.Fatalf("no store files: %v", err)
	}
	for _, p := range entries {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte(value)) {
			t.Errorf("%s holds a secret value in plaintext", p)
		}
	}

	wrong, _ := seal.NewRandomKey()
	_, err = server.Start(t.Context(), server.Config{Dev: true, DataDir: dir, MasterKey: wrong.Encode(),
		STSAddr: "127.0.0.1:0", ARMAddr: "127.0.0.1:0", MIRPAddr: "127.0.0.1:0", VaultAddr: "127.0.0.1:0"})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "key") {
		t.Fatalf("start with a wrong master key: %v, want a clear error", err)
	}

	s2 := startSignet(t, dir, onFreeVaultPort)
	c2 := s2.secretsClient(t, "keep-vault", s2.adminCredential(t))
	for _, name := range []string{"a", "b", "c"} {
		got, err := c2.GetSecret(ctxT(t), name, "", nil)
		if err != nil || *got.Value != value+name {
			t.Errorf("after restart, secret %s: %v", name, err)
		}
	}
}
