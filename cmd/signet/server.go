package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/server"
)

// defaultDevDataDir is where `signet dev` keeps its state unless told otherwise.
func defaultDevDataDir() string {
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".signet", "dev")
	}
	return ".signet-dev"
}

func runServer(ctx context.Context, mode string, args []string) int {
	started := time.Now()
	fs := flag.NewFlagSet("signet "+mode, flag.ContinueOnError)
	cfg := server.Config{Dev: mode == "dev"}
	defaultDir := ""
	if cfg.Dev {
		defaultDir = defaultDevDataDir()
	}
	fs.StringVar(&cfg.DataDir, "data-dir", defaultDir, "directory for the embedded store and local state")
	fs.StringVar(&cfg.StoreDSN, "store", "", "store DSN: empty for SQLite in the data dir, or postgres://…")
	fs.StringVar(&cfg.MasterKeyFile, "master-key-file", "", "file holding the base64 master key (default in dev: <data-dir>/master.key)")
	fs.StringVar(&cfg.STSAddr, "login-addr", "127.0.0.1:8443", "listen address of the token service (login)")
	fs.StringVar(&cfg.ARMAddr, "management-addr", "127.0.0.1:8444", "listen address of the control plane (management)")
	fs.StringVar(&cfg.MIRPAddr, "mirp-addr", "127.0.0.1:8445", "listen address of the identity resource provider (host agents, mTLS)")
	fs.StringVar(&cfg.VaultAddr, "vault-addr", "127.0.0.1:8446", "listen address of the Key Vault-compatible secrets data plane")
	fs.StringVar(&cfg.BlobAddr, "blob-addr", "127.0.0.1:8447", "listen address of the Blob data plane")
	fs.StringVar(&cfg.OpsAddr, "ops-addr", "127.0.0.1:8450", "listen address of the operations endpoint (/metrics, /healthz, /readyz), plain HTTP: keep it internal (empty disables)")
	fs.StringVar(&cfg.TLSCertFile, "tls-cert", "", "serving certificate (PEM); dev mode makes its own")
	fs.StringVar(&cfg.TLSKeyFile, "tls-key", "", "serving key (PEM)")
	hosts := fs.String("public-hosts", "127.0.0.1,localhost", "comma-separated host names clients use; the first is canonical")
	fs.DurationVar(&cfg.ManagedIdentityTokenLifetime, "mi-token-lifetime", 24*time.Hour, "lifetime of managed identity tokens")
	fs.DurationVar(&cfg.ServicePrincipalTokenLifetime, "sp-token-lifetime", time.Hour, "lifetime of service principal tokens")
	fs.DurationVar(&cfg.KeyLead, "key-lead", time.Hour, "how long a new signing key is published before it signs")
	fs.DurationVar(&cfg.KeyRotationPeriod, "key-rotation-period", 30*24*time.Hour, "automatic signing-key rotation period (0 disables)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	devAgent := &server.DevAgentConfig{}
	noAgent := new(bool)
	if cfg.Dev {
		fs.StringVar(&devAgent.IMDSAddr, "imds-addr", "127.0.0.1:8448", "dev agent: IMDS listen address")
		fs.StringVar(&devAgent.AppServiceAddr, "appservice-addr", "127.0.0.1:8449", "dev agent: App Service endpoint listen address")
		fs.StringVar(&devAgent.ArcAddr, "arc-addr", "127.0.0.1:40342", "dev agent: Arc endpoint listen address (served when running as root)")
		fs.StringVar(&devAgent.ArcKeyDir, "arc-key-dir", "/var/opt/azcmagent/tokens", "dev agent: Arc challenge key directory")
		fs.BoolVar(noAgent, "no-agent", false, "do not run an agent for the dev host")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg.PublicHosts = strings.Split(*hosts, ",")
	if cfg.Dev && !*noAgent {
		cfg.DevAgent = devAgent
	}
	cfg.MasterKey = os.Getenv("SIGNET_MASTER_KEY")
	if *logFormat == "json" {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	} else {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}

	r, err := server.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "signet: %v\n", err)
		return 1
	}
	defer r.Close()
	fmt.Fprintf(os.Stdout, "Signet %s is ready (%s)\n", mode, time.Since(started).Round(time.Millisecond))
	fmt.Fprintf(os.Stdout, "  login (token service):     %s\n", r.STSURL)
	fmt.Fprintf(os.Stdout, "  management (control plane): %s\n", r.ARMURL)
	fmt.Fprintf(os.Stdout, "  identity provider (agents): %s\n", r.MIRPURL)
	if r.OpsURL != "" {
		fmt.Fprintf(os.Stdout, "  operations (metrics, health): %s\n", r.OpsURL)
	}
	if r.Dev != nil {
		fmt.Fprintf(os.Stdout, "  tenant:       %s\n", r.Dev.TenantID)
		fmt.Fprintf(os.Stdout, "  subscription: %s\n", r.Dev.SubscriptionID)
		fmt.Fprintf(os.Stdout, "  CA bundle:    %s\n", r.CAFile)
		if r.Agent != nil {
			fmt.Fprintf(os.Stdout, "  dev host:     %s\n", r.DevHostID)
			fmt.Fprintf(os.Stdout, "  agent IMDS:   %s\n", r.Agent.IMDSURL())
			fmt.Fprintf(os.Stdout, "  agent App Service endpoint: %s\n", r.Agent.AppServiceURL())
			if u := r.Agent.ArcURL(); u != "" {
				fmt.Fprintf(os.Stdout, "  agent Arc endpoint: %s\n", u)
			}
		}
		fmt.Fprintf(os.Stdout, "  environment:  . %s\n", r.EnvFile)
		if u, err := r.ConsoleLoginURL(); err == nil {
			fmt.Fprintf(os.Stdout, "  console:      %s (one-time link, valid 10 minutes)\n", u)
		}
	}
	select {
	case <-ctx.Done():
	case err := <-r.Err():
		fmt.Fprintf(os.Stderr, "signet: %v\n", err)
		return 1
	}
	if err := r.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "signet: shutdown: %v\n", err)
		return 1
	}
	return 0
}
