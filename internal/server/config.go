package server

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/signet-platform/signet/internal/audit"
)

// Config is everything a Signet server process needs. cmd/signet fills it
// from flags and the environment; Validate fills in defaults and checks it.
type Config struct {
	// DataDir holds the embedded store, the dev master key, the dev TLS
	// material and the env file.
	DataDir string
	// StoreDSN selects the store: "" means SQLite at DataDir/signet.db;
	// "postgres://…" selects PostgreSQL.
	StoreDSN string
	// MasterKeyFile is the master key's path. In dev mode it defaults to
	// DataDir/master.key and is created on first start; in production it (or
	// MasterKey) is required and never created.
	MasterKeyFile string
	// MasterKey is the base64 master key itself (from SIGNET_MASTER_KEY); it
	// wins over MasterKeyFile.
	MasterKey string

	// Listen addresses ("127.0.0.1:0" picks a free port).
	STSAddr  string
	ARMAddr  string
	MIRPAddr string // the identity resource provider, for host agents (mTLS)
	// VaultAddr serves the Key Vault-compatible secrets data plane; vaults
	// are addressed as {vault}.{VaultDNSSuffix}:{port} (or path-style).
	VaultAddr      string
	VaultDNSSuffix string
	// BlobAddr serves the Blob data plane; accounts are addressed
	// path-style (/{account}/…) or as {account}.{BlobDNSSuffix}:{port}.
	// BlobMaxBlockSize bounds one Put Block (0: Azure's 4000 MiB).
	BlobAddr         string
	BlobDNSSuffix    string
	BlobMaxBlockSize int64
	// OpsAddr serves /metrics, /healthz and /readyz over plain HTTP, as
	// Prometheus scrapes: bind it to loopback or an internal interface,
	// never a public one. "" serves no operations endpoint (the metrics
	// are still kept); `signet dev` and `signet server` default it to
	// 127.0.0.1:8450, FreePorts to a free port.
	OpsAddr string

	// TLSCertFile and TLSKeyFile serve HTTPS in production. In dev mode a
	// local CA under DataDir/tls issues the serving certificate.
	TLSCertFile string
	TLSKeyFile  string
	// PublicHosts are the host names clients use to reach this server; the
	// first is canonical (token issuer). Default: 127.0.0.1 and localhost.
	PublicHosts []string

	// LoginAliasURLs are further base URLs clients may reach the token
	// service at (a load balancer, a regional name): discovery answers with
	// them and assertions addressed to them are accepted.
	LoginAliasURLs []string

	// DevAgent, in dev mode, runs an agent for the dev host in this process
	// (nil: none).
	DevAgent *DevAgentConfig

	// Dev bootstraps a tenant, subscription, resource group and an admin
	// principal, and writes DataDir/env.
	Dev bool

	ServicePrincipalTokenLifetime time.Duration
	ManagedIdentityTokenLifetime  time.Duration
	// KeyLead is how long a new signing key is published before it signs;
	// KeyRotationPeriod is how old the active key may get before an automatic
	// rotation (0 disables it).
	KeyLead           time.Duration
	KeyRotationPeriod time.Duration
	// NodeCertLifetime and IdentityCertLifetime are the validity of MIRP's
	// node and identity certificates (agents renew at half-life); zero
	// means MIRP's defaults (24 h and 90 days).
	NodeCertLifetime     time.Duration
	IdentityCertLifetime time.Duration
	// AuditRetention is how long each audit log keeps its records; zero
	// keeps a log forever. A background job deletes older records hourly,
	// keeping the hash chain verifiable from a checkpoint.
	AuditRetention audit.Retention

	Logger *slog.Logger
	Now    func() time.Time
}

// Validate fills in defaults and reports what is missing or contradictory.
func (c *Config) Validate() error {
	if c.DataDir == "" {
		return errors.New("a data dir is required (--data-dir)")
	}
	abs, err := filepath.Abs(c.DataDir)
	if err != nil {
		return err
	}
	c.DataDir = abs
	if c.StoreDSN == "" {
		c.StoreDSN = "sqlite:" + filepath.Join(c.DataDir, "signet.db")
	}
	if c.MasterKey == "" && c.MasterKeyFile == "" {
		if !c.Dev {
			return errors.New("a master key is required in production: --master-key-file or SIGNET_MASTER_KEY (keep it away from the data)")
		}
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	if !c.Dev && (c.TLSCertFile == "" || c.TLSKeyFile == "") {
		return errors.New("--tls-cert and --tls-key are required outside dev mode (Signet serves HTTPS only)")
	}
	if c.STSAddr == "" {
		c.STSAddr = "127.0.0.1:8443"
	}
	if c.ARMAddr == "" {
		c.ARMAddr = "127.0.0.1:8444"
	}
	if c.MIRPAddr == "" {
		c.MIRPAddr = "127.0.0.1:8445"
	}
	if c.VaultAddr == "" {
		c.VaultAddr = "127.0.0.1:8446"
	}
	if c.VaultDNSSuffix == "" {
		c.VaultDNSSuffix = "vault.localhost"
	}
	if c.BlobAddr == "" {
		c.BlobAddr = "127.0.0.1:8447"
	}
	if c.BlobDNSSuffix == "" {
		c.BlobDNSSuffix = "blob.localhost"
	}
	if len(c.PublicHosts) == 0 {
		c.PublicHosts = []string{"127.0.0.1", "localhost"}
	}
	if c.ServicePrincipalTokenLifetime == 0 {
		c.ServicePrincipalTokenLifetime = time.Hour
	}
	if c.ManagedIdentityTokenLifetime == 0 {
		c.ManagedIdentityTokenLifetime = 24 * time.Hour
	}
	if c.KeyLead == 0 {
		c.KeyLead = time.Hour
	}
	if c.KeyRotationPeriod < 0 || c.ManagedIdentityTokenLifetime < 0 || c.ServicePrincipalTokenLifetime < 0 {
		return fmt.Errorf("durations must not be negative")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}
