package host

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/signet-platform/signet/internal/agent"
)

// Production addresses of the workload endpoints; cmd/signet uses them as
// flag defaults. An empty address in Config disables that endpoint.
const (
	DefaultIMDSAddr       = "169.254.169.254:80"
	DefaultAppServiceAddr = "127.0.0.1:41999"
	DefaultArcAddr        = agent.ArcDefaultAddr
)

// AppServicePath is where the App Service endpoint is mounted: the path of
// IDENTITY_ENDPOINT, as on App Service.
const AppServicePath = "/msi/token"

// DefaultSyncInterval is how often the agent asks MIRP for its identity
// list: assignment changes reach workloads within a second or two.
const DefaultSyncInterval = time.Second

// initialSyncTimeout bounds the sync Start waits for: a MIRP that does not
// answer must not keep the endpoints down when the state dir can serve.
const initialSyncTimeout = 15 * time.Second

// Config is what a host agent needs.
type Config struct {
	// StateDir holds the enrollment, the identity keys and certificates,
	// the per-app secrets and agent.json. It is created 0700.
	StateDir string
	// MIRPURL is the identity resource provider, e.g. https://mirp:8445.
	MIRPURL string
	// STSURLs are the token service regions, home region first.
	STSURLs []string
	// CAFile is a PEM bundle trusted for MIRP and the STS; "" means the
	// system roots.
	CAFile string
	// JoinToken enrolls the host on first start. It is ignored when the
	// state dir already holds an enrollment MIRP accepts.
	JoinToken string

	// Listen addresses; "" disables that endpoint, "127.0.0.1:0" picks a
	// free port.
	IMDSAddr, AppServiceAddr, ArcAddr string
	// ArcKeyDir holds the Arc challenge files; default
	// agent.ArcDefaultKeyDir, the only directory the SDKs accept.
	ArcKeyDir string
	// AllowedNetworks are source networks admitted besides loopback, e.g.
	// a container bridge. An endpoint bound to one of the host's own
	// addresses (169.254.169.254) also admits that address, the source
	// local processes reaching it have.
	AllowedNetworks []netip.Prefix
	// AzureRateLimits applies Azure's managed-identity limits (20
	// requests/s, 5 concurrent) across the endpoints.
	AzureRateLimits bool
	// SyncInterval is how often the agent syncs with MIRP; default 1 s.
	SyncInterval time.Duration
	// Host describes the host for GET /metadata/instance.
	Host agent.HostInfo

	// OpsAddr serves GET /healthz, GET /readyz and (with Metrics) GET
	// /metrics over plain HTTP; "" disables it. Bind it to loopback or an
	// internal interface: it is for the host's monitoring, not workloads.
	OpsAddr string
	// Metrics builds the /metrics handler from the agent's counters; nil
	// serves no /metrics. The agent knows nothing of the format.
	Metrics func(stats func() Stats) http.Handler
	// Middleware wraps every listener's handler (request log lines,
	// request ids, latency); endpoint is "imds", "app service", "arc" or
	// "ops". Nil: none.
	Middleware func(endpoint string, h http.Handler) http.Handler
	// ReadyWithin is how recent the last good sync with MIRP must be for
	// /readyz to answer 200; default DefaultReadyWithin, and never less
	// than three sync intervals.
	ReadyWithin time.Duration

	Logger *slog.Logger
}

// DefaultOpsAddr is the operations listener's production address.
const DefaultOpsAddr = "127.0.0.1:41998"

// DefaultReadyWithin is how stale the last good sync may be before the
// agent reports itself not ready: long enough to ride out a MIRP restart,
// short enough that a node MIRP dropped shows within a minute.
const DefaultReadyWithin = 30 * time.Second

// validate fills in defaults and reports what is missing.
func (c *Config) validate() error {
	var errs []error
	if c.StateDir == "" {
		errs = append(errs, errors.New("a state directory is required"))
	}
	if c.MIRPURL == "" {
		errs = append(errs, errors.New("the MIRP URL is required"))
	}
	if len(c.STSURLs) == 0 {
		errs = append(errs, errors.New("at least one STS URL is required"))
	}
	if c.IMDSAddr == "" && c.AppServiceAddr == "" && c.ArcAddr == "" {
		errs = append(errs, errors.New("every workload endpoint is disabled"))
	}
	if c.SyncInterval <= 0 {
		c.SyncInterval = DefaultSyncInterval
	}
	if c.ReadyWithin <= 0 {
		c.ReadyWithin = DefaultReadyWithin
	}
	c.ReadyWithin = max(c.ReadyWithin, 3*c.SyncInterval)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return errors.Join(errs...)
}

// rootCAs reads CAFile; nil means the system roots.
func (c *Config) rootCAs() (*x509.CertPool, error) {
	if c.CAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", c.CAFile)
	}
	return pool, nil
}
