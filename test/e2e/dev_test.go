package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/uuid"

	"github.com/signet-platform/signet/client"
	"github.com/signet-platform/signet/internal/server"
)

func TestDevRestartKeepsIdentitiesAssignmentsAndKeys(t *testing.T) {
	dir := t.TempDir()
	s := startSignet(t, dir)
	ctx := ctxT(t)
	admin := s.adminCredential(t)
	msi, _ := armmsi.NewUserAssignedIdentitiesClient(s.Dev.SubscriptionID, admin, s.armOptions())
	uami, err := msi.CreateOrUpdate(ctx, s.Dev.ResourceGroup, "kept", armmsi.Identity{Location: to.Ptr("local")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ra, _ := armauthorization.NewRoleAssignmentsClient(s.Dev.SubscriptionID, admin, s.armOptions())
	assignment := uuid.NewString()
	scope := "/subscriptions/" + s.Dev.SubscriptionID
	if _, err := ra.Create(ctx, scope, assignment, armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/subscriptions/" + s.Dev.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRoleID),
		PrincipalID:      uami.Properties.PrincipalID,
	}}, nil); err != nil {
		t.Fatal(err)
	}
	oldToken := getToken(t, admin, "https://management.azure.com//.default").Token
	var jwksBefore jose.JSONWebKeySet
	s.getJSON(t, s.STSURL+"/"+s.Dev.TenantID+"/discovery/v2.0/keys", &jwksBefore)
	dev := *s.Dev
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Same ports, as `signet dev` restarted with its defaults would have.
	s2 := startSignet(t, dir, func(c *server.Config) {
		c.STSAddr = strings.TrimPrefix(s.STSURL, "https://")
		c.ARMAddr = strings.TrimPrefix(s.ARMURL, "https://")
	})
	if *s2.Dev != dev {
		t.Fatalf("bootstrap changed across restart: %+v -> %+v", dev, *s2.Dev)
	}
	admin2 := s2.adminCredential(t)
	msi2, _ := armmsi.NewUserAssignedIdentitiesClient(s2.Dev.SubscriptionID, admin2, s2.armOptions())
	got, err := msi2.Get(ctx, s2.Dev.ResourceGroup, "kept", nil)
	if err != nil || *got.Properties.PrincipalID != *uami.Properties.PrincipalID || *got.Properties.ClientID != *uami.Properties.ClientID {
		t.Fatalf("identity after restart: %v %+v", err, got.Properties)
	}
	ra2, _ := armauthorization.NewRoleAssignmentsClient(s2.Dev.SubscriptionID, admin2, s2.armOptions())
	if a, err := ra2.Get(ctx, scope, assignment, nil); err != nil || *a.Properties.PrincipalID != *uami.Properties.PrincipalID {
		t.Fatalf("role assignment after restart: %v", err)
	}
	var jwksAfter jose.JSONWebKeySet
	s2.getJSON(t, s2.STSURL+"/"+s2.Dev.TenantID+"/discovery/v2.0/keys", &jwksAfter)
	for _, k := range jwksBefore.Keys {
		if len(jwksAfter.Key(k.KeyID)) == 0 {
			t.Errorf("signing key %s is gone after restart", k.KeyID)
		}
	}
	// A token from before the restart still works at the control plane.
	req, _ := http.NewRequest(http.MethodGet, s2.ARMURL+"/subscriptions/"+s2.Dev.SubscriptionID+"?api-version=2022-12-01", nil)
	req.Header.Set("Authorization", "Bearer "+oldToken)
	resp, err := s2.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("token minted before the restart: %s, want 200", resp.Status)
	}
}

func TestSecondProcessOnTheSameDataDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	startSignet(t, dir)
	_, err := startErr(dir)
	if err == nil || !strings.Contains(err.Error(), "in use by another signet process") {
		t.Fatalf("second start on %s: %v, want a clear refusal", dir, err)
	}
}

func TestDevEnvFileHasWhatSDKsNeed(t *testing.T) {
	s := startSignet(t, "")
	vars, err := client.LoadEnvFile(s.EnvFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"SIGNET_URL", "AZURE_AUTHORITY_HOST", "AZURE_TENANT_ID", "SIGNET_SUBSCRIPTION_ID", "SIGNET_CLIENT_ID", "SIGNET_CLIENT_SECRET", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "REQUESTS_CA_BUNDLE"} {
		if vars[name] == "" {
			t.Errorf("%s missing from %s", name, s.EnvFile)
		}
	}
	if _, ok := vars["AZURE_CLIENT_ID"]; ok {
		t.Error("AZURE_CLIENT_ID must not be set: DefaultAzureCredential would stop before managed identity")
	}
	if vars["SIGNET_URL"] != s.ARMURL || vars["AZURE_AUTHORITY_HOST"] != s.STSURL || vars["AZURE_TENANT_ID"] != s.Dev.TenantID {
		t.Errorf("env file does not describe this server: %v", vars)
	}
	for _, f := range []string{s.EnvFile, filepath.Join(s.dataDir, "admin.json"), filepath.Join(s.dataDir, "master.key")} {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}
