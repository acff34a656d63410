package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-platform/signet/internal/agent"
	"github.com/signet-platform/signet/internal/agent/enroll"
)

// ErrNotEnrolled is returned by Start when the state dir holds no
// enrollment MIRP accepts and no join token was given.
var ErrNotEnrolled = errors.New("not enrolled: run `signet agent --join-token …`")

// Agent is a running host agent. Close stops it.
type Agent struct {
	enroll  *enroll.Agent
	cache   *agent.Cache
	arc     *agent.Arc
	secrets *appSecrets
	eps     Endpoints
	log     *slog.Logger
	wrap    func(endpoint string, h http.Handler) http.Handler

	readyWithin time.Duration

	cancel  context.CancelFunc
	wg      sync.WaitGroup
	servers []*http.Server
	errc    chan error
	once    sync.Once

	lastSync     atomic.Int64 // unix nanoseconds of the last good sync
	syncFailures atomic.Uint64
}

// Stats describe a running agent.
type Stats struct {
	NodeID         string
	HostIdentities int       // identities the host (IMDS, Arc) may use
	Apps           int       // apps placed on this host
	LastSync       time.Time // last sync MIRP answered in full; zero if none yet
	SyncFailures   uint64
	Cache          agent.CacheStats
}

// Start enrolls the host (or loads its enrollment), syncs its identities
// once, starts following MIRP and serves the workload endpoints. The caller
// must Close the agent; ctx bounds only the start.
func Start(ctx context.Context, cfg Config) (_ *Agent, err error) {
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	log := cfg.Logger
	roots, err := cfg.rootCAs()
	if err != nil {
		return nil, err
	}
	if err := ensurePrivateDir(cfg.StateDir); err != nil {
		return nil, err
	}
	// Checked before enrolling, so a mistyped STS URL does not spend the
	// one-time join token.
	sts, err := agent.NewSTSClient(agent.STSConfig{Endpoints: cfg.STSURLs, RootCAs: roots, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("agent config: %w", err)
	}
	ea := &enroll.Agent{StateDir: cfg.StateDir, MIRPURL: cfg.MIRPURL, RootCAs: roots, Logger: log}
	synced, err := enrollOrLoad(ctx, ea, cfg)
	if err != nil {
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	a := &Agent{
		enroll:  ea,
		cache:   agent.NewCache(sts, agent.CacheConfig{Logger: log}),
		secrets: &appSecrets{stateDir: cfg.StateDir, table: agent.NewAppSecretTable(), logger: log},
		log:     log,
		wrap:    cfg.Middleware,
		cancel:  cancel,
		errc:    make(chan error, 4),

		readyWithin: cfg.ReadyWithin,
	}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if synced {
		a.lastSync.Store(time.Now().UnixNano())
	}
	if err := a.secrets.load(); err != nil {
		return nil, err
	}
	if err := a.reconcileApps(); err != nil {
		return nil, err
	}

	var limit *agent.RateLimit
	if cfg.AzureRateLimits {
		limit = agent.AzureRateLimit() // one budget per host, as Azure's is per VM
	}
	imds := &agent.IMDS{Tokens: a.cache, Identities: ea, Host: cfg.Host, RateLimit: limit, Logger: log}
	appService := &agent.AppService{Tokens: a.cache, Identities: ea, Secrets: a.secrets.table, RateLimit: limit, Logger: log}
	appMux := http.NewServeMux()
	appMux.Handle(AppServicePath, appService)
	a.arc = &agent.Arc{Tokens: a.cache, Identities: ea, RateLimit: limit, Logger: log, KeyDir: cfg.ArcKeyDir}

	for _, l := range []struct {
		name, addr, path string
		h                http.Handler
		sources          *agent.SourceFilter
		url              *string
	}{
		{"imds", cfg.IMDSAddr, "", imds, &imds.Sources, &a.eps.IMDS},
		{"app service", cfg.AppServiceAddr, AppServicePath, appMux, &appService.Sources, &a.eps.AppService},
		{"arc", cfg.ArcAddr, agent.ArcTokenPath, a.arc, &a.arc.Sources, &a.eps.Arc},
	} {
		if l.addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", l.addr)
		if err != nil {
			return nil, fmt.Errorf("%s endpoint: %w", l.name, err)
		}
		*l.sources = sourcesFor(ln.Addr(), cfg.AllowedNetworks)
		*l.url = baseURL(ln.Addr()) + l.path
		a.serve(ln, l.h, l.name)
	}
	if cfg.OpsAddr != "" {
		ln, err := net.Listen("tcp", cfg.OpsAddr)
		if err != nil {
			return nil, fmt.Errorf("operations endpoint: %w", err)
		}
		a.eps.Ops = baseURL(ln.Addr())
		a.serve(ln, a.opsHandler(cfg.Metrics), "ops")
	}
	if err := writeJSON(filepath.Join(cfg.StateDir, endpointsFile), a.eps); err != nil {
		return nil, err
	}

	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.run(runCtx, cfg.SyncInterval)
	}()
	log.Info("agent: serving", "node_id", ea.NodeID(), "imds", a.eps.IMDS, "app_service", a.eps.AppService, "arc", a.eps.Arc)
	return a, nil
}

// enrollOrLoad leaves ea enrolled and synced once. A join token is used
// only when the state dir holds no enrollment, or MIRP no longer accepts
// the one it holds; without a usable enrollment Start fails. When MIRP
// cannot be reached the agent starts with the identities on disk; synced
// says whether the sync succeeded.
func enrollOrLoad(ctx context.Context, ea *enroll.Agent, cfg Config) (synced bool, _ error) {
	loaded := true
	if err := ea.Load(); err != nil {
		if !errors.Is(err, enroll.ErrNotEnrolled) {
			return false, fmt.Errorf("reading the agent's state in %s: %w", cfg.StateDir, err)
		}
		if cfg.JoinToken == "" {
			return false, fmt.Errorf("%w (no enrollment in %s)", ErrNotEnrolled, cfg.StateDir)
		}
		if err := ea.Enroll(ctx, cfg.JoinToken); err != nil {
			return false, fmt.Errorf("enrolling with the join token: %w", err)
		}
		loaded = false
	} else if cfg.JoinToken != "" {
		cfg.Logger.Info("agent: already enrolled; the join token is not used", "node_id", ea.NodeID())
	}
	err := initialSync(ctx, ea)
	if errors.Is(err, enroll.ErrNotEnrolled) && loaded && cfg.JoinToken != "" {
		cfg.Logger.Warn("agent: MIRP no longer accepts this node; enrolling again with the join token", "error", err)
		if err := ea.Enroll(ctx, cfg.JoinToken); err != nil {
			return false, fmt.Errorf("enrolling with the join token: %w", err)
		}
		err = initialSync(ctx, ea)
	}
	switch {
	case errors.Is(err, enroll.ErrNotEnrolled):
		return false, fmt.Errorf("%w (MIRP no longer accepts the node in %s: %v)", ErrNotEnrolled, cfg.StateDir, err)
	case err != nil:
		// Unreachable MIRP, or some identity's certificate failed: serve
		// what there is; Run keeps trying.
		cfg.Logger.Warn("agent: first sync with MIRP failed; serving the identities on disk", "error", err)
		return false, nil
	}
	return true, nil
}

func initialSync(ctx context.Context, ea *enroll.Agent) error {
	ctx, cancel := context.WithTimeout(ctx, initialSyncTimeout)
	defer cancel()
	return ea.Sync(ctx)
}

// run follows MIRP until ctx ends. It is enroll.Agent.Run plus the app
// secrets: after each sync the secrets follow the apps the list names, so
// an app placed on the host can be started with `signet run` a second
// later and a removed one loses its secret as fast.
func (a *Agent) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := a.enroll.Sync(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			a.syncFailures.Add(1)
			a.log.Warn("agent: sync with MIRP failed", "error", err)
		} else {
			a.lastSync.Store(time.Now().UnixNano())
		}
		// Also after a failed sync: a node MIRP dropped has lost its
		// identities, and its apps their secrets.
		if err := a.reconcileApps(); err != nil {
			a.log.Warn("agent: updating app secrets failed", "error", err)
		}
	}
}

// reconcileApps makes the secrets follow the apps the last synced list
// names (or, after a restart, the list Load read back, so the apps with
// secrets and the identities served always agree).
func (a *Agent) reconcileApps() error {
	return a.secrets.reconcile(a.enroll.Apps())
}

func (a *Agent) serve(ln net.Listener, h http.Handler, name string) {
	if a.wrap != nil {
		h = a.wrap(name, h)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.servers = append(a.servers, srv)
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("agent: listener failed", "endpoint", name, "error", err)
			select {
			case a.errc <- fmt.Errorf("%s endpoint: %w", name, err):
			default:
			}
		}
	}()
}

// Close stops the endpoints and the sync loop and removes outstanding Arc
// key files. The state dir, with the secrets, stays for the next start.
func (a *Agent) Close() error {
	a.once.Do(func() {
		a.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, s := range a.servers {
			if err := s.Shutdown(ctx); err != nil {
				s.Close()
			}
		}
		a.wg.Wait()
		a.cache.Close()
		if a.arc != nil {
			a.arc.Close()
		}
	})
	return nil
}

// Err reports a listener that failed after Start.
func (a *Agent) Err() <-chan error { return a.errc }

// IMDSURL is the IMDS base URL (the token path is agent.IMDSTokenPath); ""
// when disabled.
func (a *Agent) IMDSURL() string { return a.eps.IMDS }

// AppServiceURL is the App Service endpoint, what IDENTITY_ENDPOINT holds;
// "" when disabled.
func (a *Agent) AppServiceURL() string { return a.eps.AppService }

// ArcURL is the Arc token endpoint; "" when disabled.
func (a *Agent) ArcURL() string { return a.eps.Arc }

// OpsURL is the operations endpoint's base URL; "" when disabled.
func (a *Agent) OpsURL() string { return a.eps.Ops }

// Endpoints returns them all, as agent.json records them.
func (a *Agent) Endpoints() Endpoints { return a.eps }

// HostSecret is the App Service secret that selects the host's own
// identities: IDENTITY_HEADER for processes that are no app, such as those
// `signet dev` serves.
func (a *Agent) HostSecret() string { return a.secrets.secret("") }

// Stats returns the agent's counters.
func (a *Agent) Stats() Stats {
	s := Stats{
		NodeID:         a.enroll.NodeID(),
		HostIdentities: len(a.enroll.Identities("")),
		Apps:           a.secrets.count(),
		SyncFailures:   a.syncFailures.Load(),
		Cache:          a.cache.Stats(),
	}
	if n := a.lastSync.Load(); n != 0 {
		s.LastSync = time.Unix(0, n)
	}
	return s
}

// sourcesFor admits loopback, the allowed networks and, for an endpoint
// bound to one of the host's own addresses (169.254.169.254 on a dummy or
// loopback interface), that address: a local process reaching it has it as
// its source, and the kernel drops packets from outside that claim a local
// source address.
func sourcesFor(bound net.Addr, allowed []netip.Prefix) agent.SourceFilter {
	f := agent.SourceFilter{Allowed: allowed}
	if ap, err := netip.ParseAddrPort(bound.String()); err == nil {
		if ip := ap.Addr().Unmap(); !ip.IsUnspecified() && !ip.IsLoopback() {
			f.Allowed = append(append([]netip.Prefix(nil), allowed...), netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	return f
}

// baseURL is the http URL clients use for a bound address: an unspecified
// address is reached over loopback, and port 80 is left out as in
// http://169.254.169.254.
func baseURL(addr net.Addr) string {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	ip := ap.Addr().Unmap()
	if ip.IsUnspecified() {
		// Go listens dual-stack on an unspecified address, so IPv4
		// loopback reaches it even when IPv6 is off.
		ip = netip.MustParseAddr("127.0.0.1")
	}
	if ap.Port() == 80 {
		if ip.Is6() {
			return "http://[" + ip.String() + "]"
		}
		return "http://" + ip.String()
	}
	return "http://" + net.JoinHostPort(ip.String(), strconv.Itoa(int(ap.Port())))
}
