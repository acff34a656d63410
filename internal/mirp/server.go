package mirp

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Defaults for Server's lifetimes.
const (
	DefaultNodeCertLifetime     = 24 * time.Hour
	DefaultIdentityCertLifetime = 90 * 24 * time.Hour
	DefaultReconcileInterval    = 30 * time.Second
)

// maxBody bounds a request body: a CSR and a token fit in a few KiB.
const maxBody = 64 << 10

// Server is MIRP: the agent-facing API and the operator functions behind
// the control plane. Set the fields, then call Handler or the methods.
type Server struct {
	Store  store.Store
	Seal   Sealer
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// NodeCertLifetime and IdentityCertLifetime default to 24 h and 90 days.
	// Agents renew at half-life.
	NodeCertLifetime     time.Duration
	IdentityCertLifetime time.Duration
	// ReconcileInterval is how often Run revokes what is no longer
	// entitled; 0 means DefaultReconcileInterval.
	ReconcileInterval time.Duration

	mu sync.Mutex
	ca *authority // loaded once; see authority()
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) nodeLifetime() time.Duration {
	if s.NodeCertLifetime > 0 {
		return s.NodeCertLifetime
	}
	return DefaultNodeCertLifetime
}

func (s *Server) identityLifetime() time.Duration {
	if s.IdentityCertLifetime > 0 {
		return s.IdentityCertLifetime
	}
	return DefaultIdentityCertLifetime
}

// Init creates the CA on first start and loads it. Handlers call it lazily;
// the composition root calls it at startup to fail fast on a wrong master
// key.
func (s *Server) Init(ctx context.Context) error {
	_, err := s.authority(ctx)
	return err
}

// authority returns the loaded CA, creating one if the store has none.
// Replicas racing on an empty store converge: the write that finds a CA
// already present keeps it and drops its own.
func (s *Server) authority(ctx context.Context) (*authority, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.ca != nil && now.Before(s.ca.cert.NotAfter) {
		return s.ca, nil
	}
	var cas []store.MIRPCA
	if err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		cas, err = tx.ListMIRPCAs()
		return err
	}); err != nil {
		return nil, fmt.Errorf("mirp: list CAs: %w", err)
	}
	if !hasValidCA(cas, now) {
		// Generated outside the transaction: Write may rerun its callback.
		rec, err := newCARecord(s.Seal, now)
		if err != nil {
			return nil, err
		}
		if err := s.Store.Write(ctx, func(tx store.Tx) error {
			existing, err := tx.ListMIRPCAs()
			if err != nil {
				return err
			}
			if hasValidCA(existing, now) {
				cas = existing
				return nil
			}
			cas = append(existing, rec)
			return tx.CreateMIRPCA(rec)
		}); err != nil {
			return nil, fmt.Errorf("mirp: create CA: %w", err)
		}
		s.logger().Info("mirp: created CA", "ca_id", rec.ID)
	}
	a, err := loadAuthority(s.Seal, cas, now)
	if err != nil {
		return nil, err
	}
	s.ca = a
	return a, nil
}

func hasValidCA(cas []store.MIRPCA, now time.Time) bool {
	for _, ca := range cas {
		if !now.Before(ca.NotBefore) && now.Before(ca.NotAfter) {
			return true
		}
	}
	return false
}

// CACertificatesPEM returns the MIRP CA certificates to trust for node
// client certificates (the listener's tls.Config ClientCAs).
func (s *Server) CACertificatesPEM(ctx context.Context) ([]byte, error) {
	a, err := s.authority(ctx)
	if err != nil {
		return nil, err
	}
	return a.rootPEM, nil
}

// ClientCAs returns the pool of MIRP CA certificates, for the MIRP
// listener's tls.Config ClientCAs.
func (s *Server) ClientCAs(ctx context.Context) (*x509.CertPool, error) {
	a, err := s.authority(ctx)
	if err != nil {
		return nil, err
	}
	return a.roots, nil
}

// Handler returns the agent-facing API. Serve it over TLS with
// tls.VerifyClientCertIfGiven (enrollment has no client certificate yet);
// handlers check the client certificate themselves.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /mirp/v1/enroll", s.handle(s.enroll))
	mux.Handle("POST /mirp/v1/node/renew", s.handle(s.nodeOnly(s.renewNode)))
	mux.Handle("GET /mirp/v1/node/identities", s.handle(s.nodeOnly(s.listIdentities)))
	mux.Handle("POST /mirp/v1/node/identities/{clientId}/certificate", s.handle(s.nodeOnly(s.issueIdentity)))
	mux.Handle("/", s.handle(func(http.ResponseWriter, *http.Request) error {
		return newError(http.StatusNotFound, codeNotFound, "No such MIRP endpoint.")
	}))
	return mux
}

// Error codes of the MIRP API.
const (
	codeBadRequest       = "BadRequest"
	codeInvalidJoinToken = "InvalidJoinToken"
	codeUnauthenticated  = "Unauthenticated"
	codeForbidden        = "Forbidden"
	codeNotFound         = "NotFound"
	codeInternal         = "InternalError"
)

// apiError is what a handler returns: a status and a client-safe message,
// and a private cause that is only logged.
type apiError struct {
	status  int
	code    string
	message string
	cause   error
}

func (e *apiError) Error() string {
	if e.cause != nil {
		return e.code + ": " + e.message + ": " + e.cause.Error()
	}
	return e.code + ": " + e.message
}

func (e *apiError) Unwrap() error { return e.cause }

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

func (e *apiError) with(cause error) *apiError { e.cause = cause; return e }

func internalError(cause error) *apiError {
	return &apiError{status: http.StatusInternalServerError, code: codeInternal,
		message: "The server encountered an internal error. Retry the request.", cause: cause}
}

// handle adapts a handler that returns an error: the one place MIRP writes
// error bodies, {"error":{"code","message"}}.
func (s *Server) handle(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		var ae *apiError
		if !errors.As(err, &ae) {
			ae = internalError(err)
		}
		level := slog.LevelInfo
		if ae.status >= 500 {
			level = slog.LevelError
		}
		s.logger().Log(r.Context(), level, "mirp: request failed", "method", r.Method, "path", r.URL.Path,
			"status", ae.status, "code", ae.code, "error", err)
		writeJSON(w, ae.status, map[string]any{"error": map[string]string{"code": ae.code, "message": ae.message}})
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// readJSON decodes a bounded JSON body into v, refusing unknown fields so
// that a misspelt field is an error rather than silently ignored.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return newError(http.StatusBadRequest, codeBadRequest, "The request body is not valid JSON for this endpoint.").with(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return newError(http.StatusBadRequest, codeBadRequest, "The request body has data after its JSON value.")
	}
	return nil
}

// csrRequest is the body of every certificate request.
type csrRequest struct {
	CSR string `json:"csr"`
}

// certificateResponse answers every certificate request.
type certificateResponse struct {
	NodeID         string `json:"nodeId,omitempty"`
	Certificate    string `json:"certificate"`
	CACertificates string `json:"caCertificates"`
}
