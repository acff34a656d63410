package agent

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// These tests run the official azidentity credentials against the agent's
// handlers, which fetch from a fake STS that verifies every assertion.

// clearMIEnv unsets every variable azidentity and MSAL use to pick a managed
// identity source, so only what a test sets counts.
func clearMIEnv(t *testing.T) {
	for _, k := range []string{
		"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "IDENTITY_SERVER_THUMBPRINT", "IMDS_ENDPOINT",
		"MSI_ENDPOINT", "MSI_SECRET", "AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET",
		"AZURE_CLIENT_CERTIFICATE_PATH", "AZURE_FEDERATED_TOKEN_FILE", "AZURE_USERNAME",
		"AZURE_TOKEN_CREDENTIALS",
	} {
		// Absent, not empty: DefaultAzureCredential treats an empty
		// AZURE_CLIENT_ID or AZURE_TOKEN_CREDENTIALS as a (bad) value.
		t.Setenv(k, "") // registers the restore
		os.Unsetenv(k)
	}
}

// uniqueResource is a resource no other test asks for: MSAL Go caches
// managed-identity tokens process-wide, and a test must reach the agent.
func uniqueResource(t *testing.T) string {
	return "api://signet-agent-test/" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
}

func wantToken(t *testing.T, tok azcore.AccessToken, id Identity, resource string) {
	t.Helper()
	prefix := "tok." + id.ClientID + "." + NormalizeResource(resource) + "/.default."
	if !strings.HasPrefix(tok.Token, prefix) {
		t.Errorf("token = %q, want prefix %q", tok.Token, prefix)
	}
	if d := time.Until(tok.ExpiresOn); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("ExpiresOn in %v, want about 24h", d)
	}
}

func getToken(t *testing.T, cred azcore.TokenCredential, resource string) (azcore.AccessToken, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	return cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{resource + "/.default"}})
}

// testEverySelector gets a token with azidentity's default
// ManagedIdentityCredential (whose source the environment picks) for no
// selector and for each way of naming user, and checks whom it was issued
// to.
func testEverySelector(t *testing.T, system, user Identity) {
	t.Helper()
	for _, tc := range []struct {
		name string
		id   azidentity.ManagedIDKind
		want Identity
	}{
		{"system", nil, system},
		{"client-id", azidentity.ClientID(user.ClientID), user},
		{"object-id", azidentity.ObjectID(user.ObjectID), user},
		{"resource-id", azidentity.ResourceID(user.ResourceID), user},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: tc.id})
			if err != nil {
				t.Fatal(err)
			}
			resource := uniqueResource(t)
			tok, err := getToken(t, cred, resource)
			if err != nil {
				t.Fatal(err)
			}
			wantToken(t, tok, tc.want, resource)
		})
	}
}

func TestSDKAppService(t *testing.T) {
	a := newTestAgent(t)
	_, _, appSystem, appUser := testIdentities(t)
	srv := httptest.NewServer(a.app)
	defer srv.Close()
	clearMIEnv(t)
	t.Setenv("IDENTITY_ENDPOINT", srv.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", a.secret)

	testEverySelector(t, appSystem, appUser)

	t.Run("wrong-secret", func(t *testing.T) {
		t.Setenv("IDENTITY_HEADER", "not-the-secret")
		cred, err := azidentity.NewManagedIdentityCredential(nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = getToken(t, cred, uniqueResource(t))
		var afe *azidentity.AuthenticationFailedError
		if !errors.As(err, &afe) || afe.RawResponse == nil || afe.RawResponse.StatusCode != http.StatusForbidden {
			t.Fatalf("err = %v, want an AuthenticationFailedError with a 403", err)
		}
	})
}

// imdsRewrite sends what azidentity addresses to 169.254.169.254 to srv, as
// a network-level redirect would (Go cannot relocate IMDS, reference §0.1).
type imdsRewrite struct{ target *url.URL }

func (rw imdsRewrite) Do(r *http.Request) (*http.Response, error) {
	if r.URL.Host == "169.254.169.254" {
		r = r.Clone(r.Context())
		r.URL.Scheme, r.URL.Host, r.Host = rw.target.Scheme, rw.target.Host, ""
	}
	return http.DefaultTransport.RoundTrip(r)
}

func newIMDSServer(t *testing.T, h http.Handler) imdsRewrite {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	u, _ := url.Parse(srv.URL)
	return imdsRewrite{u}
}

func TestSDKIMDS(t *testing.T) {
	a := newTestAgent(t)
	hostSystem, hostUser, _, _ := testIdentities(t)
	rw := newIMDSServer(t, a.imds)
	clearMIEnv(t)

	for _, tc := range []struct {
		name string
		id   azidentity.ManagedIDKind
		want Identity
	}{
		{"system", nil, hostSystem},
		{"client-id", azidentity.ClientID(hostUser.ClientID), hostUser},
		{"object-id", azidentity.ObjectID(hostUser.ObjectID), hostUser},
		{"resource-id", azidentity.ResourceID(hostUser.ResourceID), hostUser},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
				ID: tc.id, ClientOptions: azcore.ClientOptions{Transport: rw},
			})
			if err != nil {
				t.Fatal(err)
			}
			resource := uniqueResource(t)
			tok, err := getToken(t, cred, resource)
			if err != nil {
				t.Fatal(err)
			}
			wantToken(t, tok, tc.want, resource)
		})
	}

	// An identity the host does not have must fail at once (400), not after
	// the SDK's minute of retries that a 404 or 5xx would cause.
	t.Run("unknown-identity-fails-fast", func(t *testing.T) {
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
			ID: azidentity.ClientID("99999999-9999-4999-8999-999999999999"), ClientOptions: azcore.ClientOptions{Transport: rw},
		})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = getToken(t, cred, uniqueResource(t))
		var afe *azidentity.AuthenticationFailedError
		if !errors.As(err, &afe) || afe.RawResponse == nil || afe.RawResponse.StatusCode != http.StatusBadRequest {
			t.Fatalf("err = %v, want an AuthenticationFailedError with a 400", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v; the SDK retried", d)
		}
	})
}

func TestSDKDefaultAzureCredential(t *testing.T) {
	a := newTestAgent(t)
	hostSystem, _, _, _ := testIdentities(t)
	var probes atomic.Int32
	rw := newIMDSServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.RawQuery == "" && r.Header.Get("Metadata") == "" {
			probes.Add(1)
		}
		a.imds.ServeHTTP(w, r)
	}))
	clearMIEnv(t)
	// The chain reaches managed identity only after its probe (reference
	// §1.5) got an answer; developer credentials after it never run.
	cred, err := azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{
		ClientOptions: azcore.ClientOptions{Transport: rw},
	})
	if err != nil {
		t.Fatal(err)
	}
	resource := uniqueResource(t)
	tok, err := getToken(t, cred, resource)
	if err != nil {
		t.Fatal(err)
	}
	wantToken(t, tok, hostSystem, resource)
	if got := probes.Load(); got != 1 {
		t.Errorf("IMDS probes = %d, want 1", got)
	}
}

func TestSDKArc(t *testing.T) {
	// The SDK reads key files only from this directory (reference §3).
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("TestSDKArc needs root: the SDK reads Arc key files only from " + ArcDefaultKeyDir)
		}
		t.Skip("the Arc key directory needs root")
	}
	// The directory may exist already (a Signet dev agent run as root makes
	// it, as a real Arc agent would): then only this test's files go.
	before := map[string]bool{}
	if entries, err := os.ReadDir(ArcDefaultKeyDir); err == nil {
		for _, e := range entries {
			before[e.Name()] = true
		}
	} else {
		t.Cleanup(func() { _ = os.RemoveAll("/var/opt/azcmagent") })
	}

	a := newTestAgent(t)
	hostSystem, hostUser, _, _ := testIdentities(t)
	a.arc.KeyDir = "" // the default, ArcDefaultKeyDir
	srv := httptest.NewServer(a.arc)
	defer srv.Close()
	clearMIEnv(t)
	t.Setenv("IDENTITY_ENDPOINT", srv.URL+ArcTokenPath)
	t.Setenv("IMDS_ENDPOINT", srv.URL)

	testEverySelector(t, hostSystem, hostUser)
	// Every key was spent: none of this test's is left on disk.
	entries, err := os.ReadDir(ArcDefaultKeyDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !before[e.Name()] {
			t.Errorf("key file %s left in %s", e.Name(), ArcDefaultKeyDir)
		}
	}
}
