package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/signet-platform/signet/client"
	"github.com/signet-platform/signet/internal/agent"
	"github.com/signet-platform/signet/internal/agent/host"
)

// devHostName is the hybrid machine `signet dev` stands for: the machine it
// runs on, with a system-assigned identity its agent serves.
const devHostName = "dev-host"

// DevAgentConfig places the agent `signet dev` runs for its own host.
type DevAgentConfig struct {
	IMDSAddr       string // dev default 127.0.0.1:8448
	AppServiceAddr string // dev default 127.0.0.1:8449
	// ArcAddr is served only when the Arc key directory (the one the SDKs
	// insist on, /var/opt/azcmagent/tokens) can be used, i.e. as root.
	ArcAddr   string // dev default 127.0.0.1:40342
	ArcKeyDir string
}

// devHostID is the dev host's resource id.
func devHostID(b *DevBootstrap) string {
	return "/subscriptions/" + b.SubscriptionID + "/resourceGroups/" + b.ResourceGroup +
		"/providers/Microsoft.HybridCompute/machines/" + devHostName
}

// adminClient is a client of this server's own HTTPS APIs as the dev admin:
// the dev bootstrap goes through the same front door as everyone else.
func (r *Running) adminClient() (*client.Client, error) {
	return client.New(client.Config{
		ManagementURL: r.ARMURL, AuthorityHost: r.STSURL, TenantID: r.Dev.TenantID,
		SubscriptionID: r.Dev.SubscriptionID, ClientID: r.Dev.ClientID, ClientSecret: r.Dev.ClientSecret,
		CAFile: r.CAFile,
	})
}

// startDevAgent makes sure the dev host exists with a system-assigned
// identity, enrolls an agent for it (once) and starts it in this process.
func (r *Running) startDevAgent(ctx context.Context, cfg Config) error {
	c, err := r.adminClient()
	if err != nil {
		return err
	}
	id := devHostID(r.Dev)
	res, err := c.GetResource(ctx, id)
	var cerr *client.Error
	if errors.As(err, &cerr) && cerr.StatusCode == http.StatusNotFound {
		res, err = c.PutResource(ctx, id, client.Resource{
			Location: "local",
			Identity: &client.Identity{Type: "SystemAssigned"},
		})
	}
	if err != nil {
		return fmt.Errorf("dev host %s: %w", devHostName, err)
	}
	r.DevHostID = res.ID
	if res.Identity == nil || res.Identity.PrincipalID == "" {
		return fmt.Errorf("dev host %s has no system-assigned identity", devHostName)
	}
	if r.DevVaultURL, err = r.bootstrapDevVault(ctx, c, res.Identity.PrincipalID); err != nil {
		return err
	}
	if r.DevBlobURL, err = r.bootstrapDevStorage(ctx, c, res.Identity.PrincipalID); err != nil {
		return err
	}

	stateDir := filepath.Join(cfg.DataDir, "agent")
	arcAddr := cfg.DevAgent.ArcAddr
	if arcAddr != "" && !canUseArcKeyDir(cfg.DevAgent.ArcKeyDir) {
		cfg.Logger.Info("dev agent: not serving the Arc endpoint: its key directory needs root", "dir", cfg.DevAgent.ArcKeyDir)
		arcAddr = ""
	}
	hc := host.Config{
		StateDir:       stateDir,
		MIRPURL:        r.MIRPURL,
		STSURLs:        []string{r.STSURL},
		CAFile:         r.CAFile,
		IMDSAddr:       cfg.DevAgent.IMDSAddr,
		AppServiceAddr: cfg.DevAgent.AppServiceAddr,
		ArcAddr:        arcAddr,
		ArcKeyDir:      cfg.DevAgent.ArcKeyDir,
		Host: agent.HostInfo{
			Name: devHostName, ResourceID: res.ID, SubscriptionID: r.Dev.SubscriptionID,
			ResourceGroupName: r.Dev.ResourceGroup, Location: "local", VMID: r.Dev.TenantID,
		},
		// No operations listener of its own: its counters are on the
		// server's (RegisterAgent below) and it is ready when the server is.
		Middleware: r.agentMiddleware,
		Logger:     cfg.Logger.With("part", "agent"),
	}
	// Enrolled before: start from the state dir. Not yet (or MIRP no longer
	// knows the node): enroll with a short-lived join token.
	a, err := host.Start(ctx, hc)
	if errors.Is(err, host.ErrNotEnrolled) {
		if hc.JoinToken, _, err = r.MIRP.CreateJoinToken(ctx, res.ID, 5*time.Minute); err != nil {
			return err
		}
		a, err = host.Start(ctx, hc)
	}
	if err != nil {
		return fmt.Errorf("dev agent: %w", err)
	}
	r.Agent = a // closed first in Close, while the servers it talks to still run
	if err := r.Metrics.RegisterAgent(a.Stats); err != nil {
		return fmt.Errorf("dev agent metrics: %w", err)
	}
	return nil
}

// canUseArcKeyDir says whether the agent may keep Arc challenge files in
// dir: it must be creatable by this process, which in practice means root.
func canUseArcKeyDir(dir string) bool {
	if dir == "" {
		dir = agent.ArcDefaultKeyDir
	}
	if os.Geteuid() != 0 {
		return false
	}
	return os.MkdirAll(dir, 0o700) == nil
}

// agentEnv are the variables that point SDKs at the dev agent.
func agentEnv(a *host.Agent, stateDir string) map[string]string {
	env := map[string]string{
		"IDENTITY_ENDPOINT":      a.AppServiceURL(),
		"IDENTITY_HEADER":        a.HostSecret(),
		"SIGNET_AGENT_STATE_DIR": stateDir,
	}
	if u := a.IMDSURL(); u != "" {
		// JS and Python SDKs relocate IMDS with this (no trailing slash).
		env["AZURE_POD_IDENTITY_AUTHORITY_HOST"] = strings.TrimSuffix(u, "/")
		env["SIGNET_IMDS_ADDR"] = hostOf(u)
	}
	if u := a.ArcURL(); u != "" {
		env["SIGNET_ARC_ADDR"] = hostOf(u)
	}
	return env
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}
