package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/audit"
	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/keys"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/secrets"
	"github.com/signet-platform/signet/internal/store"
)

// startVaults binds the vault listener and builds the secrets service: a
// relying party that verifies tokens against the in-process key manager
// (verified tokens cached until they expire), decides RBAC on the store and
// records every access.
func (r *Running) startVaults(cfg Config, st store.Store, km *keys.Manager, rec *audit.Recorder, master *seal.Key, stsURLs []string, gens *store.GenerationWatcher) (*secrets.Server, error) {
	ln, err := net.Listen("tcp", cfg.VaultAddr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", cfg.VaultAddr, err)
	}
	r.vaultLn = ln
	// Closed by its server's Shutdown once serving; this covers a start
	// that fails before then.
	r.closers = append(r.closers, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	r.Vaults = &secrets.Server{
		Store:       st,
		Authorizer:  &authz.CachingAuthorizer{Store: st, Generations: gens},
		Generations: gens,
		Verifier:    tokenVerifier(cfg, km, stsURLs, secrets.Audiences(cfg.VaultDNSSuffix, port)),
		Recorder:    rec,
		Master:      master,
		DNSSuffix:   strings.ToLower(cfg.VaultDNSSuffix),
		PublicPort:  port,
		LoginURL:    stsURLs[0],
		Now:         cfg.Now,
		Logger:      cfg.Logger.With("part", "keyvault"),
	}
	return r.Vaults, nil
}

// watchGenerations polls the store's generations for the data plane's
// caches until the server closes (and hears of this process's own writes
// at once). The first poll failure is logged, not every tick's; the caches
// stop being used once the last success is too old.
func (r *Running) watchGenerations(st store.Store, log *slog.Logger) *store.GenerationWatcher {
	w := &store.GenerationWatcher{Store: st}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	// A failing poll is logged at most once a minute: it repeats every
	// interval while the store is away, and the caches say the rest (they
	// are bypassed until a poll succeeds).
	var lastLogged time.Time
	go func() {
		defer close(stopped)
		w.Run(ctx, func(err error) {
			if now := time.Now(); now.Sub(lastLogged) >= time.Minute {
				lastLogged = now
				log.Warn("reading store generations; caches bypassed until it succeeds", "err", err)
			}
		})
	}()
	r.closers = append(r.closers, func() error { cancel(); <-stopped; return nil })
	return w
}

// VaultURL is the URL of the vault named name ({name}.{suffix}:{port}).
func (r *Running) VaultURL(name string) string { return r.Vaults.VaultURL(name) }
