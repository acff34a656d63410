package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/blob"
	"github.com/signet-platform/signet/internal/blob/content"
	"github.com/signet-platform/signet/internal/keys"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
)

// startBlobs binds the blob listener, builds the Blob data plane over
// DataDir/blobs and sweeps content files that nothing refers to (left by
// a crash) before anything is served. It returns the server and the
// storage-account hooks for the control plane.
func (r *Running) startBlobs(ctx context.Context, cfg Config, st store.Store, km *keys.Manager, rec blob.AccessRecorder, master *seal.Key, stsURLs []string, gens *store.GenerationWatcher) (*blob.Server, *blob.AccountHooks, error) {
	ln, err := net.Listen("tcp", cfg.BlobAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("listening on %s: %w", cfg.BlobAddr, err)
	}
	r.blobLn = ln
	r.closers = append(r.closers, func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	})
	r.BlobURL = publicURLs(cfg.PublicHosts, ln.Addr())[0]
	srv := &blob.Server{
		Store:        st,
		Content:      &content.Store{Dir: filepath.Join(cfg.DataDir, "blobs")},
		Seal:         master,
		Verifier:     tokenVerifier(cfg, km, stsURLs, []string{blob.Audience}),
		Authorizer:   r.Metrics.Authorizer("blob", &authz.CachingAuthorizer{Store: st, Generations: gens}),
		Access:       rec,
		LoginURL:     stsURLs[0],
		DNSSuffix:    strings.ToLower(cfg.BlobDNSSuffix),
		MaxBlockSize: cfg.BlobMaxBlockSize,
		Now:          cfg.Now,
		Logger:       cfg.Logger.With("part", "blob"),
	}
	if n, err := srv.Sweep(ctx); err != nil {
		return nil, nil, fmt.Errorf("sweeping blob content: %w", err)
	} else if n > 0 {
		cfg.Logger.Info("removed content files nothing refers to", "part", "blob", "count", n)
	}
	r.Blob = srv
	// Accounts are published path-style on the canonical host, the form
	// azblob expects for IP hosts; {account}.{suffix} works as well.
	base := r.BlobURL
	hooks := &blob.AccountHooks{Server: srv, Endpoint: func(account string) string { return base + "/" + account + "/" }}
	return srv, hooks, nil
}
