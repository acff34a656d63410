package agent

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Arc defaults (reference §3): the SDKs accept key files only in this
// directory, only named *.key and only up to 4096 bytes.
const (
	ArcDefaultAddr   = "127.0.0.1:40342"
	ArcTokenPath     = "/metadata/identity/oauth2/token"
	ArcDefaultKeyDir = "/var/opt/azcmagent/tokens"
	arcAPIVersion    = "2020-06-01"
	minArcAPIVersion = "2019-08-15"
)

// Arc serves the Azure Arc hybrid IMDS token endpoint (reference §3). A
// caller proves it may read root-only files: the first request gets 401 and
// a WWW-Authenticate naming a fresh key file; the retry presents the file's
// contents as "Authorization: Basic <contents>".
//
// Key files are single-use and short-lived: a key is consumed when a token
// is returned with it (a request that fails, e.g. with 503 while the STS is
// down, leaves it valid for the SDK's retry) and swept after KeyTTL. A wrong
// or stale key gets 401 with a fresh challenge, not 403: the SDKs treat any
// non-200 second answer as final either way, and a new challenge is what
// lets a client whose key was swept start over.
type Arc struct {
	Tokens     TokenSource
	Identities IdentitySource
	Sources    SourceFilter
	RateLimit  *RateLimit // nil: no limit
	Logger     *slog.Logger
	// KeyDir holds the key files; default ArcDefaultKeyDir. It is created
	// 0700; an existing one must be a directory owned by this process's
	// user and writable by nobody else.
	KeyDir string
	// KeyTTL is how long a key file lives; default 60 s.
	KeyTTL time.Duration
	// MaxPendingKeys bounds outstanding key files (each unauthenticated
	// request makes one); past it requests get 429. Default 256.
	MaxPendingKeys int

	mu      sync.Mutex
	pending map[[32]byte]*arcKey // by SHA-256 of the contents
}

type arcKey struct {
	sum     [32]byte
	path    string
	inUse   bool // a request is being served with it
	expired bool // its TTL passed while in use: drop when released
	timer   *time.Timer
}

// ServeHTTP implements http.Handler.
func (h *Arc) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		writeIMDSError(w, r, h.Logger, "arc", err)
	}
}

func (h *Arc) serve(w http.ResponseWriter, r *http.Request) error {
	if !h.Sources.admit(r) {
		return errForbiddenSource
	}
	if proxied(r) {
		return errProxied
	}
	if r.URL.Path != ArcTokenPath {
		return errNotFound
	}
	if r.Method != http.MethodGet {
		return errMethod
	}
	if !metadataHeader(r) {
		return errMetadataHeader
	}
	if h.RateLimit != nil {
		if !h.RateLimit.acquire(time.Now()) {
			return errThrottled
		}
		defer h.RateLimit.release()
	}
	var q query
	if err := parseQuery(r.URL.RawQuery, &q); err != nil {
		return malformedQuery(err)
	}
	if err := checkAPIVersion(&q, minArcAPIVersion); err != nil {
		return err
	}
	resource, ok := q.get("resource")
	if !ok || resource == "" {
		return badRequest("invalid_request", "Required query variable 'resource' is missing")
	}
	sel, herr := selectorFrom(&q, imdsSelectors)
	if herr != nil {
		return herr
	}

	key, ok := h.claim(r)
	if !ok {
		return h.challenge()
	}
	consumed := false
	defer func() { h.finish(key, consumed) }()

	id, serr := selectIdentity(h.Identities.Identities(""), sel)
	if serr != nil {
		consumed = true // the key did its job; the answer is final
		return serr.asHTTPError()
	}
	tok, err := h.Tokens.Token(r.Context(), id, resource)
	if err != nil {
		var rej *RejectedError
		consumed = errors.As(err, &rej)
		return tokenError(err)
	}
	// azidentity 1.15 refuses a user-assigned token unless the response
	// echoes the identity it was asked for (reference §3).
	extra := map[string]string{}
	if id.ObjectID != "" {
		extra["object_id"] = id.ObjectID
	}
	if id.ResourceID != "" {
		extra["msi_res_id"] = id.ResourceID
	}
	consumed = true
	writeToken(w, tok, kindIMDS, resource, extra, time.Now())
	return nil
}

func (h *Arc) keyDir() string {
	if h.KeyDir == "" {
		return ArcDefaultKeyDir
	}
	return h.KeyDir
}

// claim finds the pending key the request's Authorization presents and
// marks it in use, so two requests cannot spend one key.
func (h *Arc) claim(r *http.Request) (*arcKey, bool) {
	auth := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(auth, "Basic ")
	if !ok || secret == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(secret))
	h.mu.Lock()
	defer h.mu.Unlock()
	k := h.pending[sum]
	if k == nil || k.inUse {
		return nil, false
	}
	k.inUse = true
	return k, true
}

// finish releases a claimed key, deleting it when consumed.
func (h *Arc) finish(k *arcKey, consumed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	k.inUse = false
	if consumed || k.expired {
		h.dropLocked(k)
	}
}

// dropLocked removes k from the table and its file from disk.
func (h *Arc) dropLocked(k *arcKey) {
	if h.pending[k.sum] == k {
		delete(h.pending, k.sum)
	}
	if k.timer != nil {
		k.timer.Stop()
	}
	if err := os.Remove(k.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		h.log().Warn("arc: removing key file failed", slog.String("path", k.path), slog.String("cause", err.Error()))
	}
}

func (h *Arc) log() *slog.Logger {
	if h.Logger == nil {
		return slog.Default()
	}
	return h.Logger
}

// challenge writes a fresh key file and returns the 401 that names it.
func (h *Arc) challenge() error {
	dir := h.keyDir()
	if err := ensurePrivateDir(dir); err != nil {
		return internalError(fmt.Errorf("arc key directory: %w", err))
	}
	var name [16]byte
	var secret [32]byte
	_, _ = rand.Read(name[:]) // crypto/rand.Read never fails (Go 1.24+)
	_, _ = rand.Read(secret[:])
	contents := base64.RawURLEncoding.EncodeToString(secret[:]) // header-safe
	path := filepath.Join(dir, hex.EncodeToString(name[:])+".key")

	maxPending := h.MaxPendingKeys
	if maxPending <= 0 {
		maxPending = 256
	}
	ttl := h.KeyTTL
	if ttl <= 0 {
		ttl = time.Minute
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pending == nil {
		h.pending = map[[32]byte]*arcKey{}
	}
	if len(h.pending) >= maxPending {
		return errThrottled
	}
	// O_EXCL|O_NOFOLLOW: never write through a planted file or symlink.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return internalError(fmt.Errorf("arc: create key file: %w", err))
	}
	_, werr := f.WriteString(contents)
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
		return internalError(fmt.Errorf("arc: write key file: %w", werr))
	}
	k := &arcKey{sum: sha256.Sum256([]byte(contents)), path: path}
	h.pending[k.sum] = k
	k.timer = time.AfterFunc(ttl, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if k.inUse {
			k.expired = true // finish drops it
			return
		}
		h.dropLocked(k)
	})
	return &httpError{
		status: http.StatusUnauthorized, code: "unauthorized",
		msg:    "Read the file named in WWW-Authenticate and retry with its contents as Basic authorization",
		header: http.Header{"Www-Authenticate": {"Basic realm=" + path}},
	}
}

// Close removes all outstanding key files.
func (h *Arc) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range h.pending {
		h.dropLocked(k)
	}
}

// ensurePrivateDir creates dir 0700, or checks that an existing dir is a
// real directory owned by us and not writable by group or others (anyone who
// could write there could plant or swap key files).
func ensurePrivateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by group or others (mode %v)", dir, fi.Mode().Perm())
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not %d", dir, st.Uid, os.Geteuid())
	}
	return nil
}
