package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"

	"github.com/signet-platform/signet/internal/agent/host"
)

// host is one VM with a system-assigned identity and two user-assigned
// ones, and an enrolled agent serving it on loopback ports.
type testHost struct {
	s        *signet
	vmID     string
	sysOID   string
	uamis    []armmsi.Identity
	agent    *host.Agent
	stateDir string
}

func newTestHost(t *testing.T, s *signet, stsURLs ...string) *testHost {
	return newTestHostWith(t, s, stsURLs, nil)
}

func newTestHostWith(t *testing.T, s *signet, stsURLs []string, mod func(*host.Config)) *testHost {
	t.Helper()
	ctx := ctxT(t)
	admin := s.adminCredential(t)
	msi, _ := armmsi.NewUserAssignedIdentitiesClient(s.Dev.SubscriptionID, admin, s.armOptions())
	h := &testHost{s: s, stateDir: t.TempDir()}
	ids := map[string]*userAssignedValue{}
	for _, name := range []string{"uami-one", "uami-two"} {
		u, err := msi.CreateOrUpdate(ctx, s.Dev.ResourceGroup, name, armmsi.Identity{Location: to.Ptr("local")}, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.uamis = append(h.uamis, u.Identity)
		ids[*u.ID] = &userAssignedValue{}
	}
	vm := s.putVM(t, admin, "host-vm", &armIdentity{Type: "SystemAssigned, UserAssigned", UserAssignedIdentities: ids})
	h.vmID, h.sysOID = vm.ID, vm.Identity.PrincipalID
	token, _, err := s.MIRP.CreateJoinToken(ctx, h.vmID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	noteSecret(token)
	if len(stsURLs) == 0 {
		stsURLs = []string{s.STSURL}
	}
	h.agent = startAgent(t, s, h.stateDir, token, stsURLs, mod)
	return h
}

func startAgent(t *testing.T, s *signet, stateDir, joinToken string, stsURLs []string, mod func(*host.Config)) *host.Agent {
	t.Helper()
	cfg := host.Config{
		StateDir:       stateDir,
		MIRPURL:        s.MIRPURL,
		STSURLs:        stsURLs,
		CAFile:         s.CAFile,
		JoinToken:      joinToken,
		IMDSAddr:       "127.0.0.1:0",
		AppServiceAddr: "127.0.0.1:0",
		ArcAddr:        "127.0.0.1:0",
		ArcKeyDir:      arcKeyDir(t),
		SyncInterval:   200 * time.Millisecond,
		Logger:         suiteLogger(),
	}
	if mod != nil {
		mod(&cfg)
	}
	a, err := host.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting the agent: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// arcKeyDir is the one directory the SDKs accept Arc key files from.
func arcKeyDir(t *testing.T) string {
	t.Helper()
	const dir = "/var/opt/azcmagent/tokens"
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the Arc endpoint test needs root to use /var/opt/azcmagent/tokens")
		}
		t.Skip("needs root for /var/opt/azcmagent/tokens")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// imdsTransport sends requests for 169.254.169.254 to the agent's IMDS
// listener: the only change a test makes to an unmodified client.
type imdsTransport struct {
	addr string
	next http.RoundTripper
}

func (tr imdsTransport) Do(req *http.Request) (*http.Response, error) {
	if req.URL.Host == "169.254.169.254" {
		req = req.Clone(req.Context())
		req.URL.Host = tr.addr
		req.Host = tr.addr
	}
	return tr.next.RoundTrip(req)
}

func (h *testHost) imdsOptions() policy.ClientOptions {
	u, _ := url.Parse(h.agent.IMDSURL())
	return policy.ClientOptions{Transport: imdsTransport{addr: u.Host, next: http.DefaultTransport}}
}

// selectors are the four ways a workload picks an identity.
func (h *testHost) selectors() map[string]struct {
	id      azidentity.ManagedIDKind
	oid     string
	mirid   string
	clients string
} {
	u := h.uamis
	return map[string]struct {
		id      azidentity.ManagedIDKind
		oid     string
		mirid   string
		clients string
	}{
		"system":     {nil, h.sysOID, h.vmID, ""},
		"clientID":   {azidentity.ClientID(*u[0].Properties.ClientID), *u[0].Properties.PrincipalID, *u[0].ID, *u[0].Properties.ClientID},
		"objectID":   {azidentity.ObjectID(*u[1].Properties.PrincipalID), *u[1].Properties.PrincipalID, *u[1].ID, *u[1].Properties.ClientID},
		"resourceID": {azidentity.ResourceID(*u[0].ID), *u[0].Properties.PrincipalID, *u[0].ID, *u[0].Properties.ClientID},
	}
}

// checkTokenFor asks cred for a token for resource and checks who it names.
// MSAL Go caches managed identity tokens per process by (identity,
// resource), whatever the endpoint or server, so a test that must reach an
// endpoint asks for a resource no other test in the process asks for.
func (h *testHost) checkTokenFor(t *testing.T, cred azcore.TokenCredential, resource, wantOID, wantMIRID string) {
	t.Helper()
	c := h.s.verifyWithDiscovery(t, getToken(t, cred, resource+"/.default").Token)
	// v1 tokens (Azure service audiences) carry appid/appidacr, v2 tokens
	// azp/azpacr; a token carries one pair.
	clientID, acr := c.AppID+c.AZP, c.AppIDACR+c.AZPACR
	if c.OID != wantOID || !strings.EqualFold(c.MIRID, wantMIRID) || acr != "2" || c.Audience != resource {
		t.Errorf("token oid %q xms_mirid %q acr %q aud %q; want oid %q xms_mirid %q", c.OID, c.MIRID, acr, c.Audience, wantOID, wantMIRID)
	}
	if p := h.s.principal(t, wantOID); clientID != p.ClientID {
		t.Errorf("client id claim %q, want the identity's client id %q", clientID, p.ClientID)
	}
}

func clearMIEnv(t *testing.T) {
	for _, k := range []string{"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT", "MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_TOKEN_CREDENTIALS"} {
		t.Setenv(k, "") // restores the variable after the test
		os.Unsetenv(k)  // unset, not empty: azidentity refuses some empty values
	}
}

func TestManagedIdentityCredentialThroughEveryEndpoint(t *testing.T) {
	s := startSignet(t, "")
	h := newTestHost(t, s)
	for name, sel := range h.selectors() {
		t.Run("AppService/"+name, func(t *testing.T) {
			clearMIEnv(t)
			t.Setenv("IDENTITY_ENDPOINT", h.agent.AppServiceURL())
			t.Setenv("IDENTITY_HEADER", h.agent.HostSecret())
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: sel.id})
			if err != nil {
				t.Fatal(err)
			}
			h.checkTokenFor(t, cred, "api://appservice-"+strings.ToLower(name), sel.oid, sel.mirid)
		})
		t.Run("Arc/"+name, func(t *testing.T) {
			clearMIEnv(t)
			t.Setenv("IDENTITY_ENDPOINT", h.agent.ArcURL())
			t.Setenv("IMDS_ENDPOINT", strings.TrimSuffix(h.agent.ArcURL(), "/metadata/identity/oauth2/token"))
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: sel.id})
			if err != nil {
				t.Fatal(err)
			}
			h.checkTokenFor(t, cred, "api://arc-"+strings.ToLower(name), sel.oid, sel.mirid)
		})
		t.Run("IMDS/"+name, func(t *testing.T) {
			clearMIEnv(t)
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: sel.id, ClientOptions: h.imdsOptions()})
			if err != nil {
				t.Fatal(err)
			}
			h.checkTokenFor(t, cred, "api://imds-"+strings.ToLower(name), sel.oid, sel.mirid)
		})
	}
	t.Run("DefaultAzureCredential", func(t *testing.T) {
		clearMIEnv(t)
		t.Setenv("PATH", "") // no az, azd or pwsh to fall back to
		cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: h.imdsOptions()})
		if err != nil {
			t.Fatal(err)
		}
		h.checkTokenFor(t, cred, "api://default-credential", h.sysOID, h.vmID)
	})
}

// imdsGet asks the agent's IMDS endpoint directly and returns the status and
// the decoded JSON body.
func (h *testHost) imdsGet(t *testing.T, query string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.agent.IMDSURL()+"/metadata/identity/oauth2/token?"+query, nil)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body := map[string]string{}
	raw, _ := io.ReadAll(resp.Body)
	json.Unmarshal(raw, &body)
	return resp.StatusCode, body
}

func TestRemovingAnIdentityRevokesItAtOnce(t *testing.T) {
	s := startSignet(t, "")
	h := newTestHost(t, s)
	ctx := ctxT(t)
	admin := s.adminCredential(t)
	removed := h.uamis[1]
	q := "api-version=2018-02-01&resource=https://vault.azure.net&client_id=" + *removed.Properties.ClientID
	if code, body := h.imdsGet(t, q); code != http.StatusOK {
		t.Fatalf("before removal: %d %v", code, body)
	}
	// Keep a copy of the identity's MIRP certificate and key, as a thief on
	// the host might, to present them to the STS after the removal.
	oldCred := h.identityCredential(t, *removed.Properties.ClientID)
	getToken(t, oldCred, "https://storage.azure.com/.default")
	// Keep only the first user-assigned identity on the VM.
	if _, err := armDo(ctx, t, s, admin, http.MethodPatch, s.vmPath("host-vm"), computeAPI,
		map[string]any{"identity": map[string]any{"type": "SystemAssigned, UserAssigned", "userAssignedIdentities": map[string]any{*removed.ID: nil}}}, nil); err != nil {
		t.Fatal(err)
	}
	removedAt := time.Now()
	deadline := removedAt.Add(2 * time.Second)
	for {
		code, body := h.imdsGet(t, q)
		if code == http.StatusBadRequest && body["error"] == "invalid_request" && body["error_description"] == "Identity not found" {
			t.Logf("agent answered Identity not found %v after the removal", time.Since(removedAt).Round(time.Millisecond))
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("2 s after removal the agent still answers %d %v", code, body)
		}
		time.Sleep(50 * time.Millisecond) // polling a deadline, not waiting for luck
	}
	// The certificate MIRP issued for it is refused by the STS.
	if _, err := oldCred.GetToken(ctx, tokenOpts("https://management.azure.com/.default")); err == nil {
		t.Error("the STS still accepts the removed identity's certificate")
	}
	if n := h.s.credentialsOf(t, *removed.Properties.PrincipalID); n != 0 {
		t.Errorf("%d credentials left for the removed identity", n)
	}
	// Deleting the VM revokes its system-assigned credentials.
	if _, err := armDo(ctx, t, s, admin, http.MethodDelete, s.vmPath("host-vm"), computeAPI, nil, nil); err != nil {
		t.Fatal(err)
	}
	if s.principalExists(t, h.sysOID) {
		t.Error("the VM's system-assigned principal survived the VM")
	}
}

func (s *signet) credentialsOf(t testing.TB, principalID string) int {
	t.Helper()
	var n int
	err := s.Store.Read(ctxT(t), func(tx storeTx) error {
		cs, err := tx.ListCredentials(principalID)
		n = len(cs)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// appSecret reads an app's App Service secret the way `signet run` does.
func appSecret(t *testing.T, stateDir, app string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(strings.ToLower(app)))
	raw, err := os.ReadFile(filepath.Join(stateDir, "apps", hex.EncodeToString(sum[:])+".json"))
	if err != nil {
		t.Fatalf("secret of app %s: %v", app, err)
	}
	var f struct{ Secret string }
	if err := json.Unmarshal(raw, &f); err != nil || f.Secret == "" {
		t.Fatalf("secret file of app %s: %v", app, err)
	}
	return f.Secret
}

// identityCredential is a certificate credential built from the key and
// certificate the agent holds for an identity.
func (h *testHost) identityCredential(t *testing.T, clientID string) azcore.TokenCredential {
	t.Helper()
	dir := filepath.Join(h.stateDir, "identities")
	certPEM, err := os.ReadFile(filepath.Join(dir, clientID+".pem"))
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, clientID+".key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	certs, key, err := azidentity.ParseCertificates(append(certPEM, keyPEM...), nil)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewClientCertificateCredential(h.s.Dev.TenantID, clientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: h.s.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}
