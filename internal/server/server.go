package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/signet-platform/signet/client"
	"github.com/signet-platform/signet/internal/agent/host"
	"github.com/signet-platform/signet/internal/arm"
	"github.com/signet-platform/signet/internal/audit"
	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/blob"
	"github.com/signet-platform/signet/internal/console"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/keys"
	"github.com/signet-platform/signet/internal/metrics"
	"github.com/signet-platform/signet/internal/mirp"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/secrets"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
	"github.com/signet-platform/signet/internal/sts"
)

// Running is a started Signet: its endpoints and the handles tests need.
type Running struct {
	STSURL  string // canonical login URL, e.g. https://127.0.0.1:8443
	ARMURL  string // control plane URL
	MIRPURL string // identity resource provider URL, for host agents
	// CAFile is the dev CA certificate clients must trust; BundleFile is the
	// system roots plus that CA (dev mode).
	CAFile     string
	BundleFile string
	// Dev is the bootstrap result in dev mode (nil otherwise).
	Dev *DevBootstrap
	// EnvFile is DataDir/env in dev mode.
	EnvFile string

	Store store.Store
	Keys  *keys.Manager
	MIRP  *mirp.Server
	// Vaults is the Key Vault-compatible secrets service (VaultURL names a
	// vault's URL).
	Vaults *secrets.Server
	// Blob is the Blob data plane; BlobURL its base URL (accounts are
	// {BlobURL}/{account}).
	Blob    *blob.Server
	BlobURL string
	// Agent is the dev host's agent and DevHostID its resource (dev mode
	// with a DevAgent config).
	Agent     *host.Agent
	DevHostID string
	// DevVaultURL is the dev host's vault and DevBlobURL its storage
	// account's blob endpoint, both readable by its identity.
	DevVaultURL string
	DevBlobURL  string

	// Metrics is the process's registry; OpsURL the plain-HTTP operations
	// endpoint (/metrics, /healthz, /readyz).
	Metrics *metrics.Metrics
	OpsURL  string

	console *console.Server

	cancel  context.CancelFunc
	servers []*http.Server
	vaultLn net.Listener
	blobLn  net.Listener
	wg      sync.WaitGroup
	closers []func() error
	errc    chan error
	once    sync.Once
	logger  *slog.Logger
}

// Start builds every part and starts serving. The caller must Close it.
func Start(ctx context.Context, cfg Config) (_ *Running, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	tuneGC()
	tuneProcs()
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data dir: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &Running{cancel: cancel, errc: make(chan error, 8), logger: log, Metrics: metrics.New()}
	r.closers = append(r.closers, lock.Release)
	defer func() {
		if err != nil {
			r.Close()
		}
	}()

	master, err := loadMasterKey(cfg)
	if err != nil {
		return nil, err
	}
	rawStore, err := sqlstore.Open(ctx, cfg.StoreDSN)
	if err != nil {
		return nil, fmt.Errorf("opening the store: %w", err)
	}
	// Every part sees the store through the latency histograms.
	st := r.Metrics.Store(rawStore)
	r.Store = st
	r.closers = append(r.closers, st.Close)
	if err := st.Write(ctx, func(tx store.Tx) error { return authz.SeedBuiltIns(tx) }); err != nil {
		return nil, fmt.Errorf("seeding built-in roles: %w", err)
	}

	maxLifetime := max(cfg.ManagedIdentityTokenLifetime, cfg.ServicePrincipalTokenLifetime)
	km := &keys.Manager{
		Store:            st,
		Seal:             master,
		Lead:             cfg.KeyLead,
		Period:           cfg.KeyRotationPeriod,
		MaxTokenLifetime: maxLifetime,
		Now:              cfg.Now,
		Logger:           log,
	}
	if err := km.Init(ctx); err != nil {
		return nil, fmt.Errorf("loading signing keys: %w", err)
	}
	r.Keys = km

	tlsCfg, dt, err := servingTLS(cfg)
	if err != nil {
		return nil, err
	}
	r.CAFile, r.BundleFile = dt.CAFile, dt.BundleFile

	identityProvider := &mirp.Server{
		Store:                st,
		Seal:                 master,
		Logger:               log.With("part", "mirp"),
		Now:                  cfg.Now,
		NodeCertLifetime:     cfg.NodeCertLifetime,
		IdentityCertLifetime: cfg.IdentityCertLifetime,
	}
	if err := identityProvider.Init(ctx); err != nil {
		return nil, fmt.Errorf("identity resource provider: %w", err)
	}
	r.MIRP = identityProvider
	nodeCAs, err := identityProvider.ClientCAs(ctx)
	if err != nil {
		return nil, err
	}
	// Agents authenticate with node certificates MIRP issued; enrollment
	// itself (with a join token) comes without one, so the certificate is
	// asked for, not required, and MIRP's handlers decide per route.
	mirpTLS := tlsCfg.Clone()
	mirpTLS.ClientAuth = tls.VerifyClientCertIfGiven
	mirpTLS.ClientCAs = nodeCAs

	lns, err := listenAll(cfg.STSAddr, cfg.ARMAddr, cfg.MIRPAddr)
	if err != nil {
		return nil, err
	}
	stsLn, armLn, mirpLn := lns[0], lns[1], lns[2]
	stsURLs := append(publicURLs(cfg.PublicHosts, stsLn.Addr()), cfg.LoginAliasURLs...)
	armURLs := publicURLs(cfg.PublicHosts, armLn.Addr())
	r.STSURL, r.ARMURL = stsURLs[0], armURLs[0]
	r.MIRPURL = publicURLs(cfg.PublicHosts, mirpLn.Addr())[0]

	auditor := audit.NewRecorder(st, log)
	r.closers = append(r.closers, auditor.Close)
	// Every token answered, control-plane write and data-plane operation
	// is recorded once: the counters are taken there.
	recorder := r.Metrics.Recorder(auditor)

	// One watcher of the store's generations serves every cache: the STS's
	// clients, the RBAC decisions of both data planes, the vault records.
	gens := r.watchGenerations(st, log.With("part", "generations"))

	tokenService := &sts.Server{
		Store:                         st,
		Signer:                        km,
		Keys:                          km,
		Recorder:                      recorder,
		PublicURLs:                    stsURLs,
		ServicePrincipalTokenLifetime: cfg.ServicePrincipalTokenLifetime,
		ManagedIdentityTokenLifetime:  cfg.ManagedIdentityTokenLifetime,
		// Clients cached while the principals generation holds: a
		// revocation through this process (MIRP's included) reaches the
		// next token request, another replica's within the poll interval.
		Generations: gens,
		Now:         cfg.Now,
		Logger:      log.With("part", "sts"),
	}
	vaults, err := r.startVaults(cfg, st, km, auditor, master, stsURLs, gens)
	if err != nil {
		return nil, err
	}
	// Counted like every other stream and every other RBAC decision.
	vaults.Recorder = recorder
	if vaults.Authorizer != nil {
		vaults.Authorizer = r.Metrics.Authorizer("keyvault", vaults.Authorizer)
	}
	blobs, blobHooks, err := r.startBlobs(ctx, cfg, st, km, recorder, master, stsURLs, gens)
	if err != nil {
		return nil, err
	}
	control := &arm.Server{
		TypeHooks: map[string]arm.TypeHooks{strings.ToLower(secrets.VaultType): vaults,
			strings.ToLower(blob.AccountType): blobHooks},
		Store: st,
		// Like the data planes: verified tokens cached until they expire
		// (no RSA verify per request), RBAC through the generation-checked
		// cache.
		Verifier:   tokenVerifier(cfg, km, stsURLs, ManagementAudiences),
		Authorizer: r.Metrics.Authorizer("management", &authz.CachingAuthorizer{Store: st, Generations: gens}),
		Activity:   recorder,
		Keys:       keyAdmin{km},
		Nodes:      identityProvider,
		// Ending an entitlement revokes the certificates it covered in the
		// same commit, so the STS refuses them at once on every replica.
		Entitlements: arm.EntitlementHookFunc(func(tx store.Tx, now time.Time) error {
			_, err := mirp.RevokeUnassigned(tx, now)
			return err
		}),
		LoginURL: stsURLs[0],
		Now:      cfg.Now,
		Logger:   log.With("part", "arm"),
	}

	if cfg.Dev {
		dev, err := bootstrapDev(ctx, st, cfg)
		if err != nil {
			return nil, fmt.Errorf("dev bootstrap: %w", err)
		}
		r.Dev = dev
	}

	r.serve(stsLn, tokenService.Handler(), tlsCfg, "login")
	r.console = newConsole(r, log)
	r.serve(armLn, withConsole(r.console.Handler(), control.Handler()), tlsCfg, "management")
	r.serve(mirpLn, identityProvider.Handler(), mirpTLS, "identity provider")
	r.serve(r.vaultLn, vaults.Handler(), tlsCfg, "vault")
	r.serve(r.blobLn, blobs.Handler(), tlsCfg, "blob")
	if err := r.startOps(cfg, st, km); err != nil {
		return nil, err
	}
	r.background(ctx, blobs.Run)
	r.background(ctx, func(ctx context.Context) { vaults.Run(ctx, time.Hour) })
	r.background(ctx, func(ctx context.Context) {
		if err := identityProvider.Run(ctx); err != nil && ctx.Err() == nil {
			log.Error("identity provider reconcile loop stopped", "err", err)
		}
	})
	if cfg.Dev {
		// With every listener up, the rest of the bootstrap goes through
		// the front door: the dev host and its agent.
		env := envLines(r, r.Dev)
		if cfg.DevAgent != nil {
			if err := r.startDevAgent(ctx, cfg); err != nil {
				return nil, err
			}
			maps.Copy(env, agentEnv(r.Agent, filepath.Join(cfg.DataDir, "agent")))
			env["SIGNET_VAULT_URL"] = r.DevVaultURL
			env["SIGNET_BLOB_URL"] = r.DevBlobURL
		}
		r.EnvFile = filepath.Join(cfg.DataDir, "env")
		if err := writeEnvFile(r.EnvFile, env); err != nil {
			return nil, fmt.Errorf("writing %s: %w", r.EnvFile, err)
		}
	}
	r.background(ctx, func(ctx context.Context) { km.Run(ctx) })
	r.background(ctx, func(ctx context.Context) { pruneAssertions(ctx, st, cfg.Now, log) })
	r.background(ctx, (&audit.Pruner{Store: st, Retention: cfg.AuditRetention, Now: cfg.Now,
		Logger: log.With("part", "audit")}).Run)
	return r, nil
}

// listenAll binds every address or none.
func listenAll(addrs ...string) ([]net.Listener, error) {
	var lns []net.Listener
	for _, a := range addrs {
		ln, err := net.Listen("tcp", a)
		if err != nil {
			for _, l := range lns {
				l.Close()
			}
			return nil, fmt.Errorf("listening on %s: %w", a, err)
		}
		lns = append(lns, ln)
	}
	return lns, nil
}

// ManagementAudiences are the audiences the control plane accepts, as ARM
// does (with or without the trailing slash: the verifier normalises it).
var ManagementAudiences = []string{"https://management.azure.com/", "https://management.core.windows.net/"}

func (r *Running) serve(ln net.Listener, h http.Handler, tlsCfg *tls.Config, name string) {
	srv := &http.Server{
		Handler: metrics.Middleware(r.listenerOptions(name), h),
		// Each server gets its own copy: net/http's HTTP/2 setup writes to it.
		TLSConfig:         tlsCfg.Clone(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(r.logger.Handler(), slog.LevelDebug),
	}
	r.servers = append(r.servers, srv)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			r.errc <- fmt.Errorf("%s listener: %w", name, err)
		}
	}()
}

func (r *Running) background(ctx context.Context, fn func(context.Context)) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fn(ctx)
	}()
}

// Err reports a listener that failed after start.
func (r *Running) Err() <-chan error { return r.errc }

// Close stops serving, waits for background work and releases the store and
// the data dir lock.
func (r *Running) Close() error {
	var errs []error
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if r.Agent != nil {
			if err := r.Agent.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		for _, s := range r.servers {
			if err := s.Shutdown(ctx); err != nil {
				errs = append(errs, err)
			}
		}
		r.cancel()
		r.wg.Wait()
		for i := len(r.closers) - 1; i >= 0; i-- {
			if err := r.closers[i](); err != nil {
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

func loadMasterKey(cfg Config) (*seal.Key, error) {
	if cfg.MasterKey != "" {
		k, err := seal.ParseKey([]byte(cfg.MasterKey))
		if err != nil {
			return nil, fmt.Errorf("SIGNET_MASTER_KEY: %w", err)
		}
		return k, nil
	}
	if cfg.Dev {
		k, _, err := seal.LoadOrCreateFile(cfg.MasterKeyFile)
		if err != nil {
			return nil, fmt.Errorf("master key: %w", err)
		}
		return k, nil
	}
	k, err := seal.LoadFile(cfg.MasterKeyFile)
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	return k, nil
}

func servingTLS(cfg Config) (*tls.Config, devTLS, error) {
	d := devTLS{CertFile: cfg.TLSCertFile, KeyFile: cfg.TLSKeyFile}
	if cfg.Dev && d.CertFile == "" {
		var err error
		if d, err = ensureDevTLS(filepath.Join(cfg.DataDir, "tls"), cfg.Now()); err != nil {
			return nil, d, err
		}
	}
	pair, err := tls.LoadX509KeyPair(d.CertFile, d.KeyFile)
	if err != nil {
		return nil, d, fmt.Errorf("serving certificate: %w", err)
	}
	return &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}, d, nil
}

// publicURLs gives the https base URL for each public host at the port the
// listener really got.
func publicURLs(hosts []string, addr net.Addr) []string {
	_, port, _ := net.SplitHostPort(addr.String())
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, "https://"+net.JoinHostPort(h, port))
	}
	return out
}

// tokenVerifier checks the STS's tokens for audiences, as every service
// here does: signature by one of the STS's keys, issuer, audience and
// lifetime, with verified tokens cached until they expire (no RSA verify
// per request).
func tokenVerifier(cfg Config, km *keys.Manager, stsURLs, audiences []string) *jwt.CachingVerifier {
	return &jwt.CachingVerifier{Verifier: &jwt.Verifier{
		Keys:        km,
		ValidIssuer: issuerCheck(stsURLs),
		Audiences:   audiences,
		Now:         cfg.Now,
	}}
}

// issuerCheck accepts the issuers the STS mints: {base}/{tenant}/ (v1) and
// {base}/{tenant}/v2.0 (v2), for each of its public base URLs and any
// tenant id shaped like a GUID. Which tenant a caller may act in is decided
// later, against the token's tid.
func issuerCheck(bases []string) func(string) bool {
	return func(iss string) bool {
		for _, b := range bases {
			rest, ok := strings.CutPrefix(iss, b+"/")
			if !ok {
				continue
			}
			tenant, tail, _ := strings.Cut(rest, "/")
			if isGUID(tenant) && (tail == "" || tail == "v2.0") && strings.Count(rest, "/") <= 2 {
				return true
			}
		}
		return false
	}
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// keyAdmin adapts the key manager to what the control plane needs.
type keyAdmin struct{ m *keys.Manager }

func (k keyAdmin) Rotate(ctx context.Context) (store.SigningKey, error) { return k.m.Rotate(ctx) }
func (k keyAdmin) List(context.Context) ([]store.SigningKey, error)     { return k.m.Keys(), nil }

func pruneAssertions(ctx context.Context, st store.Store, now func() time.Time, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		err := st.Write(ctx, func(tx store.Tx) error {
			_, err := tx.PruneAssertions(now())
			return err
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("pruning used assertion ids", "err", err)
		}
	}
}

// newConsole builds the web console: it reaches this server's STS and
// control plane over HTTPS like any other client; in dev mode its one-time
// login links sign in as the dev admin.
func newConsole(r *Running, log *slog.Logger) *console.Server {
	c := &console.Server{
		Base:   client.Config{ManagementURL: r.ARMURL, AuthorityHost: r.STSURL, CAFile: r.CAFile},
		Logger: log.With("part", "console"),
	}
	if r.Dev != nil {
		c.Base.TenantID, c.Base.SubscriptionID = r.Dev.TenantID, r.Dev.SubscriptionID
		admin := c.Base
		admin.ClientID, admin.ClientSecret = r.Dev.ClientID, r.Dev.ClientSecret
		c.DevAdmin = &admin
	}
	return c
}

// withConsole serves /console and below from the console and everything
// else from the control plane. A prefix test rather than a ServeMux, which
// would clean and redirect ARM paths the control plane judges itself.
func withConsole(consoleHandler, control http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if p := req.URL.Path; p == console.Prefix || strings.HasPrefix(p, console.Prefix+"/") {
			consoleHandler.ServeHTTP(w, req)
			return
		}
		control.ServeHTTP(w, req)
	})
}

// ConsoleLoginURL mints a one-time link that signs a browser in to the web
// console as the dev admin (dev mode only; single use, valid 10 minutes).
func (r *Running) ConsoleLoginURL() (string, error) {
	if r.console == nil {
		return "", errors.New("the console is not running")
	}
	return r.console.NewLoginURL()
}
