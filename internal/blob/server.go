package blob

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/blob/content"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/store"
)

// TokenVerifier checks a bearer token (jwt.Verifier or jwt.CachingVerifier).
type TokenVerifier interface {
	Verify(token string) (*jwt.Claims, error)
}

// Authorizer decides RBAC requests (authz.Authorizer).
type Authorizer interface {
	Decide(ctx context.Context, req authz.Request) (authz.Decision, error)
}

// AccessRecorder commits access-log records (audit.Recorder).
type AccessRecorder interface {
	Access(ctx context.Context, rec store.Access) error
}

// asyncAccessRecorder can also queue a record without waiting for its
// commit (audit.Recorder.AccessAsync): it never drops one, but a crash in
// the moment before the batch commits may lose it.
type asyncAccessRecorder interface {
	AccessAsync(rec store.Access) error
}

// Sealer seals and opens account content keys under the master key
// (seal.Key).
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Default limits, Azure's own (service version 2019-12-12 and later).
const (
	DefaultMaxBlockSize   = 4000 << 20
	DefaultMaxPutBlobSize = 5000 << 20
	// DefaultInlineMax keeps blobs up to 64 KiB in their records: one
	// database commit makes them durable, where a file costs a create and
	// two syncs; a row that size still reads in a few pages.
	DefaultInlineMax = 64 << 10
	// Audience is the resource blob tokens are issued for.
	Audience = "https://storage.azure.com"
)

// Server serves the Blob data plane for every storage account.
type Server struct {
	Store      store.Store
	Content    *content.Store
	Seal       Sealer
	Verifier   TokenVerifier
	Authorizer Authorizer
	Access     AccessRecorder
	// LoginURL is the STS's canonical URL, for the Bearer challenge.
	LoginURL string
	// DNSSuffix makes {account}.{DNSSuffix} host-style addressing work
	// (e.g. "blob.localhost"); requests to any other host are path-style.
	DNSSuffix string
	// MaxBlockSize and MaxPutBlobSize bound one Put Block and one Put Blob
	// body; zero means Azure's limits.
	MaxBlockSize   int64
	MaxPutBlobSize int64
	// InlineMax is the largest Put Blob body kept sealed in the blob's
	// record instead of a content file (DefaultInlineMax when zero; a
	// negative value keeps every blob in files). Blocks are always files.
	InlineMax int64
	Now       func() time.Time
	Logger    *slog.Logger

	keys    sync.Map      // account id → []byte content key
	deleted chan struct{} // kicked when an account is deleted
	once    sync.Once
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Server) maxBlock() int64 {
	if s.MaxBlockSize > 0 {
		return s.MaxBlockSize
	}
	return DefaultMaxBlockSize
}

func (s *Server) maxPutBlob() int64 {
	if s.MaxPutBlobSize > 0 {
		return s.MaxPutBlobSize
	}
	return DefaultMaxPutBlobSize
}

func (s *Server) inlineMax() int64 {
	if s.InlineMax == 0 {
		return DefaultInlineMax
	}
	return s.InlineMax
}

// request is one operation in flight.
type request struct {
	w         *statusWriter
	r         *http.Request
	id        string
	account   store.BlobAccount
	key       []byte
	container string
	blob      string
	endpoint  string // the service endpoint as the client addressed it, with a trailing slash
	claims    *jwt.Claims
	action    string // the RBAC action checked, for the access log
}

// Handler serves every account on one listener.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serve)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req := &request{w: &statusWriter{ResponseWriter: w}, r: r, id: uuid.NewString()}
	h := w.Header()
	h.Set("x-ms-request-id", req.id)
	h.Set("x-ms-version", versionOf(r))
	h.Set("Server", "Signet-Blob")
	if v := r.Header.Get("x-ms-client-request-id"); v != "" && len(v) <= 1024 {
		h.Set("x-ms-client-request-id", v)
	}
	err := s.handle(req)
	var abort *abortError
	if errors.As(err, &abort) {
		s.logger().Warn("blob response cut short", "request_id", req.id, "err", abort.cause)
		s.record(req, internal(abort.cause))
		// Headers are gone; cutting the connection is the only signal
		// left: the client sees fewer bytes than announced.
		panic(http.ErrAbortHandler)
	}
	if err != nil {
		var e *apiError
		if !errors.As(err, &e) || e.status >= 500 {
			s.logger().Error("blob request failed", "request_id", req.id, "method", r.Method,
				"account", req.account.Name, "container", req.container, "err", err)
		}
		if !req.w.wrote {
			writeError(req.w, r, req.id, err, s.now())
		}
	}
	s.record(req, err)
}

// versionOf echoes the client's x-ms-version: every version is accepted
// (reference section 9), and the SDK checks nothing of the answer.
func versionOf(r *http.Request) string {
	if v := r.Header.Get("x-ms-version"); v != "" && len(v) <= 32 {
		return v
	}
	return "2026-12-06"
}

// handle addresses the request, authenticates the caller and dispatches.
func (s *Server) handle(req *request) error {
	acct, container, blobName, endpoint, err := s.address(req.r)
	if err != nil {
		return err
	}
	req.container, req.blob, req.endpoint = container, blobName, endpoint
	err = s.Store.Read(req.r.Context(), func(tx store.Tx) error {
		a, err := tx.GetBlobAccount(acct)
		req.account = a
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return errf(http.StatusNotFound, "ResourceNotFound", "The specified resource does not exist.")
	}
	if err != nil {
		return internal(err)
	}
	if err := s.authenticate(req); err != nil {
		return err
	}
	if container != "" && !validContainerName(container) {
		return errf(http.StatusBadRequest, "InvalidResourceName", "The specified resource name contains invalid characters.")
	}
	if blobName != "" {
		if msg := checkBlobName(blobName); msg != "" {
			return errf(http.StatusBadRequest, "InvalidResourceName", "%s", msg)
		}
	}
	return s.dispatch(req)
}

// address finds the account, container and blob a request names. Host
// style ({account}.{suffix}) wins when the host matches; otherwise the
// first path segment is the account (path style, as for IP hosts).
func (s *Server) address(r *http.Request) (account, container, blobName, endpoint string, err error) {
	host := r.Host
	hostname := host
	if h, _, splitErr := net.SplitHostPort(host); splitErr == nil {
		hostname = h
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	base := "https://" + host + "/"
	if suffix := strings.ToLower(s.DNSSuffix); suffix != "" && strings.HasSuffix(strings.ToLower(hostname), "."+suffix) {
		account = strings.ToLower(hostname[:len(hostname)-len(suffix)-1])
	} else {
		account, path, _ = strings.Cut(path, "/")
		base += account + "/"
	}
	if !validAccountName(account) {
		return "", "", "", "", errf(http.StatusBadRequest, "InvalidUri",
			"The requested URI does not represent any resource on the server.")
	}
	container, blobName, _ = strings.Cut(path, "/")
	if container == "" && blobName != "" {
		return "", "", "", "", errf(http.StatusBadRequest, "InvalidUri",
			"The requested URI does not represent any resource on the server.")
	}
	return account, container, blobName, base, nil
}

// dispatch picks the operation from the resource level, method, restype
// and comp, as the REST API does.
func (s *Server) dispatch(req *request) error {
	q := req.r.URL.Query()
	restype, comp, m := q.Get("restype"), q.Get("comp"), req.r.Method
	switch {
	case req.container == "":
		if comp == "list" && (m == http.MethodGet || m == http.MethodHead) {
			return s.listContainers(req)
		}
	case req.blob == "" && restype == "container":
		switch {
		case m == http.MethodPut && comp == "":
			return s.createContainer(req)
		case m == http.MethodPut && comp == "metadata":
			return s.setContainerMetadata(req)
		case (m == http.MethodGet || m == http.MethodHead) && (comp == "" || comp == "metadata"):
			return s.getContainerProperties(req)
		case m == http.MethodGet && comp == "list":
			return s.listBlobs(req)
		case m == http.MethodDelete && comp == "":
			return s.deleteContainer(req)
		}
	case req.blob != "":
		switch {
		case m == http.MethodPut && comp == "":
			return s.putBlob(req)
		case m == http.MethodPut && comp == "block":
			return s.putBlock(req)
		case m == http.MethodPut && comp == "blocklist":
			return s.putBlockList(req)
		case m == http.MethodPut && comp == "properties":
			return s.setBlobProperties(req)
		case m == http.MethodPut && comp == "metadata":
			return s.setBlobMetadata(req)
		case m == http.MethodGet && comp == "blocklist":
			return s.getBlockList(req)
		case m == http.MethodGet && comp == "":
			return s.getBlob(req)
		case (m == http.MethodHead && comp == "") || ((m == http.MethodGet || m == http.MethodHead) && comp == "metadata"):
			return s.getBlobProperties(req, comp == "metadata")
		case m == http.MethodDelete && comp == "":
			return s.deleteBlob(req)
		}
	}
	return errf(http.StatusBadRequest, "UnsupportedHttpVerb",
		"The resource doesn't support the specified HTTP verb or query parameters (%s).", m)
}

// record writes the access-log entry for a finished request.
func (s *Server) record(req *request, err error) {
	if req.account.ID == "" {
		return // not addressed to an account: nothing of anyone's was touched
	}
	rec := store.Access{
		TenantID:      req.account.TenantID,
		Service:       "blob",
		ResourceID:    req.account.ResourceID,
		Item:          strings.TrimSuffix(req.container+"/"+req.blob, "/"),
		Action:        req.action,
		Result:        "success",
		Status:        req.w.status(),
		CallerAddress: remoteIP(req.r),
	}
	if req.claims != nil {
		rec.CallerID, rec.ClientID, rec.TokenID = req.claims.ObjectID, req.claims.ClientID(), req.claims.TokenID
	}
	if err != nil {
		rec.Result = "failure"
		var e *apiError
		if errors.As(err, &e) {
			rec.ErrorCode = e.code
		} else {
			rec.ErrorCode = "InternalError"
		}
		if e != nil && e.status == http.StatusNotModified {
			rec.Result = "success"
		}
	}
	if s.Access == nil {
		return
	}
	// A read changed nothing, so its response need not wait for its
	// record's commit; a write is acknowledged only once its record is.
	if async, ok := s.Access.(asyncAccessRecorder); ok && (req.r.Method == http.MethodGet || req.r.Method == http.MethodHead) {
		if err := async.AccessAsync(rec); err != nil {
			s.logger().Error("recording blob access", "request_id", req.id, "err", err)
		}
		return
	}
	// The request's context may be gone (client hung up); the record must
	// still be written.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(req.r.Context()), 10*time.Second)
	defer cancel()
	if err := s.Access.Access(ctx, rec); err != nil {
		s.logger().Error("recording blob access", "request_id", req.id, "err", err)
	}
}

func remoteIP(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// abortError is a failure after the response headers were sent.
type abortError struct{ cause error }

func (e *abortError) Error() string { return "response aborted: " + e.cause.Error() }

// statusWriter remembers the status for the access log.
type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.code, w.wrote = http.StatusOK, true
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) status() int {
	if !w.wrote {
		return http.StatusOK
	}
	return w.code
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accountKeyAD binds an account's sealed content key to the account.
func accountKeyAD(accountID string) []byte { return []byte("blob-account:" + accountID) }

// accountKey returns the account's content key, unsealing it once.
func (s *Server) accountKey(a store.BlobAccount) ([]byte, error) {
	if k, ok := s.keys.Load(a.ID); ok {
		return k.([]byte), nil
	}
	k, err := s.Seal.Open(a.KeySealed, accountKeyAD(a.ID))
	if err != nil {
		return nil, fmt.Errorf("unseal key of account %s: %w", a.Name, err)
	}
	s.keys.Store(a.ID, k)
	return k, nil
}
