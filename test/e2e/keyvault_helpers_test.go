package e2e

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/server"
	"github.com/signet-platform/signet/internal/store"
)

// onFreeVaultPort gives the vault listener a free port, as the harness
// does for the other listeners.
func onFreeVaultPort(c *server.Config) { c.VaultAddr = "127.0.0.1:0" }

// vaultHTTP is a client that trusts the dev CA and resolves every
// {vault}.vault.localhost name to the vault listener with its own dialer,
// so that no DNS change is needed and challenge-resource verification can
// stay on.
func (s *signet) vaultHTTP(t testing.TB) *http.Client {
	t.Helper()
	c := trustingClient(t, s.CAFile)
	tr := c.Transport.(*http.Transport)
	vaultHost := strings.TrimPrefix(strings.TrimSuffix(s.VaultURL("x"), "/"), "https://x.")
	_, port, _ := net.SplitHostPort(vaultHost)
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, p, err := net.SplitHostPort(addr)
		if err == nil && p == port && strings.HasSuffix(host, ".vault.localhost") {
			addr = net.JoinHostPort("127.0.0.1", p)
		}
		return (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, network, addr)
	}
	return c
}

// secretsClient is the official azsecrets client for a vault, with
// challenge-resource verification on.
func (s *signet) secretsClient(t testing.TB, vault string, cred azcore.TokenCredential) *azsecrets.Client {
	t.Helper()
	c, err := azsecrets.NewClient(s.VaultURL(vault), cred, &azsecrets.ClientOptions{
		ClientOptions: azcore.ClientOptions{Transport: s.vaultHTTP(t), Retry: policy.RetryOptions{MaxRetries: -1}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (s *signet) vaultPath(name string) string {
	return "/subscriptions/" + s.Dev.SubscriptionID + "/resourceGroups/" + s.Dev.ResourceGroup +
		"/providers/Microsoft.KeyVault/vaults/" + name
}

// createVault creates a vault through the control plane, as `az keyvault
// create` would, and returns its properties.
func (s *signet) createVault(t testing.TB, name string, props map[string]any) map[string]any {
	t.Helper()
	var out struct {
		Properties map[string]any `json:"properties"`
	}
	if props == nil {
		props = map[string]any{}
	}
	_, err := armDo(ctxT(t), t, s, s.adminCredential(t), http.MethodPut, s.vaultPath(name), "2023-07-01",
		map[string]any{"location": "local", "properties": props}, &out)
	if err != nil {
		t.Fatalf("creating vault %s: %v", name, err)
	}
	return out.Properties
}

// grantRole assigns a built-in role through the store (the control
// plane's role assignment endpoint is tested elsewhere).
func (s *signet) grantRole(t testing.TB, principal, roleID, scope string) {
	t.Helper()
	err := s.Store.Write(ctxT(t), func(tx store.Tx) error {
		return tx.CreateRoleAssignment(store.RoleAssignment{ID: uuid.NewString(), Scope: scope, RoleDefinitionID: roleID,
			PrincipalID: principal, PrincipalType: "ServicePrincipal", CreatedAt: time.Now()})
	})
	if err != nil {
		t.Fatal(err)
	}
}
