package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime/debug"
	"strings"

	"github.com/signet-platform/signet/internal/agent"
	"github.com/signet-platform/signet/internal/agent/host"
	"github.com/signet-platform/signet/internal/metrics"
)

// joinTokenVar passes the join token without putting it on the command
// line, where every user of the host could read it in the process list.
const joinTokenVar = "SIGNET_JOIN_TOKEN"

// defaultAgentMemoryTargetMiB is the agent's soft memory limit. The agent
// holds little (a token per identity and resource, a few KiB each), but a
// burst of requests leaves garbage the Go runtime would otherwise keep for
// a long while; on a host every MiB the agent keeps is the workload's loss.
const defaultAgentMemoryTargetMiB = 24

// runAgent is `signet agent`: the host agent, until SIGINT or SIGTERM.
func runAgent(ctx context.Context, args []string) int {
	fs := flag.NewFlagSet("signet agent", flag.ContinueOnError)
	cfg := host.Config{}
	fs.StringVar(&cfg.StateDir, "state-dir", stateDirDefault(), "directory for the enrollment, identity keys and app secrets (0700)")
	fs.StringVar(&cfg.MIRPURL, "mirp", "", "identity resource provider URL, e.g. https://signet.example:8445")
	sts := fs.String("sts", "", "token service URLs (regions), comma-separated, home region first")
	fs.StringVar(&cfg.CAFile, "ca-file", "", "PEM bundle trusted for MIRP and the token service (default: system roots)")
	fs.StringVar(&cfg.JoinToken, "join-token", "", "one-time join token, first start only (or $"+joinTokenVar+")")
	fs.StringVar(&cfg.IMDSAddr, "imds-addr", host.DefaultIMDSAddr, "IMDS listen address (empty disables)")
	fs.StringVar(&cfg.AppServiceAddr, "appservice-addr", host.DefaultAppServiceAddr, "App Service endpoint listen address (empty disables)")
	fs.StringVar(&cfg.ArcAddr, "arc-addr", host.DefaultArcAddr, "Arc endpoint listen address (empty disables)")
	fs.StringVar(&cfg.OpsAddr, "ops-addr", host.DefaultOpsAddr, "operations endpoint (/healthz, /readyz, /metrics) listen address, plain HTTP (empty disables)")
	fs.StringVar(&cfg.ArcKeyDir, "arc-key-dir", agent.ArcDefaultKeyDir, "directory for Arc challenge key files")
	networks := fs.String("allow-networks", "", "source networks admitted besides loopback, comma-separated CIDRs (e.g. a container bridge)")
	fs.BoolVar(&cfg.AzureRateLimits, "azure-rate-limits", false, "apply Azure's limits: 20 requests/s and 5 concurrent")
	fs.DurationVar(&cfg.SyncInterval, "sync-interval", host.DefaultSyncInterval, "how often to sync identities with MIRP")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	memTarget := fs.Int64("memory-target-mib", defaultAgentMemoryTargetMiB, "soft memory limit for the agent in MiB (the Go runtime's GOMEMLIMIT; 0 leaves it to GOMEMLIMIT)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *memTarget > 0 && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(*memTarget << 20)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "signet agent: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.JoinToken == "" {
		cfg.JoinToken = os.Getenv(joinTokenVar)
	}
	cfg.STSURLs = splitList(*sts)
	for _, n := range splitList(*networks) {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			fmt.Fprintf(os.Stderr, "signet agent: --allow-networks: %v\n", err)
			return 2
		}
		cfg.AllowedNetworks = append(cfg.AllowedNetworks, p.Masked())
	}
	if name, err := os.Hostname(); err == nil {
		cfg.Host.Name = name
	}
	if *logFormat == "json" {
		cfg.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	} else {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}

	m := metrics.New()
	cfg.Metrics = m.AgentHandler
	cfg.Middleware = m.AgentMiddleware(cfg.Logger)

	a, err := host.Start(ctx, cfg)
	if err != nil {
		fmt.Fprintf(os.Stderr, "signet agent: %v\n", err)
		return 1
	}
	defer a.Close()
	fmt.Fprintf(os.Stdout, "Signet agent is ready (node %s)\n", a.Stats().NodeID)
	for _, ep := range []struct{ name, url string }{
		{"IMDS:        ", a.IMDSURL()},
		{"App Service: ", a.AppServiceURL()},
		{"Arc:         ", a.ArcURL()},
		{"Operations:  ", a.OpsURL()},
	} {
		if ep.url != "" {
			fmt.Fprintf(os.Stdout, "  %s %s\n", ep.name, ep.url)
		}
	}
	fmt.Fprintf(os.Stdout, "  state:        %s\n", cfg.StateDir)
	select {
	case <-ctx.Done():
	case err := <-a.Err():
		fmt.Fprintf(os.Stderr, "signet agent: %v\n", err)
		return 1
	}
	return 0
}

// stateDirDefault is $SIGNET_AGENT_STATE_DIR, else the system location.
func stateDirDefault() string {
	if d := os.Getenv(host.StateDirVar); d != "" {
		return d
	}
	return host.DefaultStateDir
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
