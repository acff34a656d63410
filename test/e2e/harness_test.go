package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/signet-platform/signet/internal/server"
)

// signet is one running Signet for a test, with clients that trust it.
type signet struct {
	*server.Running
	dataDir string
	http    *http.Client
}

// startSignet starts `signet dev` in process on free loopback ports.
func startSignet(t testing.TB, dataDir string, opts ...func(*server.Config)) *signet {
	t.Helper()
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	cfg := server.Config{
		Dev:     true,
		DataDir: dataDir,
		Logger:  suiteLogger(),
	}
	cfg.FreePorts()
	for _, o := range opts {
		o(&cfg)
	}
	r, err := server.Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("starting signet: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	noteSecret(r.Dev.ClientSecret)
	suiteServers.Add(1)
	return &signet{Running: r, dataDir: dataDir, http: trustingClient(t, r.CAFile)}
}

func trustingClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate in " + caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// clientOptions points an official SDK client at this Signet: authority =
// Signet's STS, ARM = Signet's control plane, TLS trusting the dev CA.
func (s *signet) clientOptions() policy.ClientOptions {
	return policy.ClientOptions{
		Cloud: cloud.Configuration{
			ActiveDirectoryAuthorityHost: s.STSURL + "/",
			Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: s.ARMURL, Audience: "https://management.azure.com/"},
			},
		},
		Transport: s.http,
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

func (s *signet) armOptions() *arm.ClientOptions {
	return &arm.ClientOptions{ClientOptions: s.clientOptions()}
}

// adminCredential is the dev admin service principal, through the official
// ClientSecretCredential.
func (s *signet) adminCredential(t testing.TB) azcore.TokenCredential {
	t.Helper()
	cred, err := azidentity.NewClientSecretCredential(s.Dev.TenantID, s.Dev.ClientID, s.Dev.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: s.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	return cred
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// startErr tries to start a dev Signet on dataDir and returns the error.
func startErr(dataDir string) (*server.Running, error) {
	cfg := server.Config{Dev: true, DataDir: dataDir, Logger: suiteLogger()}
	cfg.FreePorts()
	r, err := server.Start(context.Background(), cfg)
	if err == nil {
		r.Close()
	}
	return r, err
}
