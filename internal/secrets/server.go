package secrets

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/store"
)

// TokenVerifier checks a bearer token; *jwt.CachingVerifier is one.
type TokenVerifier interface {
	Verify(token string) (*jwt.Claims, error)
}

// AccessRecorder commits data-access records; *audit.Recorder is one.
// Access returns once the record is committed; AccessAsync queues it for
// the same group commit and returns at once (it blocks only while the
// queue is full, and never drops a record).
type AccessRecorder interface {
	Access(ctx context.Context, rec store.Access) error
	AccessAsync(rec store.Access) error
}

// Authorizer decides RBAC requests; *authz.CachingAuthorizer and
// *authz.Authorizer are two.
type Authorizer interface {
	Decide(ctx context.Context, req authz.Request) (authz.Decision, error)
}

// Server is the secrets data plane. Build it with a struct literal; it also
// serves as the control plane's type hooks for Microsoft.KeyVault/vaults.
type Server struct {
	Store    store.Store
	Verifier TokenVerifier
	Recorder AccessRecorder
	// Authorizer decides the data actions; nil: an uncached
	// authz.Authorizer over Store.
	Authorizer Authorizer
	// Generations, when set, lets the server keep vault records and
	// (sealed) secret versions between requests, each valid while the
	// secrets generation it was read under is current. Nil: every request
	// reads the store.
	Generations Generations
	// Master wraps the vaults' data keys and seals backups (the master key).
	Master Sealer
	// DNSSuffix is the vaults' DNS suffix: vault kv1 is kv1.{DNSSuffix}.
	// The challenge names the resource https://{DNSSuffix}[:port].
	DNSSuffix string
	// PublicPort is the port in the vault URLs handed out (vaultUri); ""
	// for 443.
	PublicPort string
	// LoginURL is the token service's canonical URL: the challenge's
	// authority is {LoginURL}/{tenant}.
	LoginURL string
	Now      func() time.Time
	Logger   *slog.Logger

	keys  dataKeys
	cache readCache
}

// Audiences are the token audiences a vault service at dnsSuffix (and the
// given public port, "" for 443) accepts: Azure's Key Vault audience and the
// resource its challenge names.
func Audiences(dnsSuffix, port string) []string {
	out := []string{"https://vault.azure.net", "https://" + dnsSuffix}
	if port != "" && port != "443" {
		out = append(out, "https://"+net.JoinHostPort(dnsSuffix, port))
	}
	return out
}

// VaultURL is the URL of the vault named name, as vaultUri reports it.
func (s *Server) VaultURL(name string) string {
	host := strings.ToLower(name) + "." + s.DNSSuffix
	if s.PublicPort != "" && s.PublicPort != "443" {
		host = net.JoinHostPort(host, s.PublicPort)
	}
	return "https://" + host + "/"
}

// Handler returns the data plane's HTTP handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

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

// request is one call as it goes through the pipeline.
type request struct {
	*http.Request
	vault   store.Vault
	name    string // the vault's name as resolved, before the vault is read
	base    string // the vault URL the client used, without a trailing slash
	path    string // the Key Vault path below the vault, e.g. /secrets/x/
	claims  *jwt.Claims
	route   route
	access  store.Access
	started time.Time
	// wrote: a write operation ran (whether or not it succeeded), so its
	// access record is committed before the response.
	wrote bool
}

// response is what an operation answers: a status and a JSON body (nil for
// none).
type response struct {
	status int
	body   any
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	req := &request{Request: r, started: s.now()}
	req.access = store.Access{Service: "keyvault", CallerAddress: remoteHost(r.RemoteAddr), Time: req.started.UTC()}

	res, err := s.dispatch(req)
	req.access.Item = req.accessItem()
	var kerr *kvError
	if err != nil {
		kerr = asKVError(err)
		req.access.Status, req.access.ErrorCode, req.access.Result = kerr.status, kerr.code, "failure"
	} else {
		req.access.Status, req.access.Result = res.status, "success"
	}
	if rerr := s.record(req); rerr != nil && kerr == nil {
		// Nothing that discloses a secret leaves unrecorded. A write has
		// already happened and is reported as it is.
		// kerr is nil, so the route parsed and req.route.op is set.
		if req.route.op.readOnly() {
			kerr = internalError(fmt.Errorf("recording access: %w", rerr))
		} else {
			s.logger().Error("recording key vault access", "err", rerr, "vault", req.vault.Name, "action", req.access.Action)
		}
	}
	s.respond(w, res, kerr)
}

// respond writes res, or kerr when it is not nil, and then zeroes the
// plaintext res may hold, written or not.
func (s *Server) respond(w http.ResponseWriter, res response, kerr *kvError) {
	if wp, ok := res.body.(wiper); ok {
		defer wp.wipe()
	}
	if kerr != nil {
		writeError(w, s.logger(), kerr)
		return
	}
	writeJSON(w, res)
}

// accessItem is what the access record names: what the operation set, else
// what the route names, else the vault, as far as the request got. It is
// built once, at the end, rather than at every step.
func (req *request) accessItem() string {
	switch {
	case req.access.Item != "":
		return req.access.Item
	case req.route.op != nil:
		return req.route.item()
	case req.name != "":
		return "vaults/" + req.name
	}
	return ""
}

// record writes the request's access record. A write's record is
// committed before the response, as the write itself is; a request that
// changed nothing (a read, or one refused before its operation ran) has its
// record queued for the next group commit instead, so reads do not wait on
// the log's write transaction. The trade-off is in the package doc.
func (s *Server) record(req *request) error {
	if req.wrote {
		return s.Recorder.Access(req.Context(), req.access)
	}
	return s.Recorder.AccessAsync(req.access)
}

// dispatch runs the pipeline: vault, token, route, RBAC, operation. The
// vault record, the RBAC decision and GET's secret version come from
// caches validated against the store's generations (see Generations and
// authz.CachingAuthorizer) or from the store; other reads run in one read
// transaction of their own, writes in a write transaction.
func (s *Server) dispatch(req *request) (response, error) {
	name, base, path, err := s.resolveVault(req.Request)
	if err != nil {
		return response{}, err
	}
	req.name, req.base, req.path = name, base, path

	vault, err := s.getVault(req.Context(), name)
	if err != nil {
		return response{}, err
	}
	req.vault = vault
	req.access.ResourceID, req.access.TenantID = vault.ResourceID, vault.TenantID
	if err := s.authenticate(req); err != nil {
		return response{}, err
	}
	rt, err := parseRoute(req.Method, path)
	if err != nil {
		return response{}, err
	}
	req.route = rt
	req.access.Action = rt.op.action
	if apiVersion(req.URL) == "" {
		return response{}, badParameter("The api-version query parameter is missing.")
	}
	if err := s.authorize(req); err != nil {
		return response{}, err
	}
	switch {
	case rt.op.serve != nil:
		return rt.op.serve(s, req)
	case rt.op.read != nil:
		var res response
		err := s.Store.Read(req.Context(), func(tx store.Tx) error {
			var err error
			res, err = rt.op.read(s, req, tx)
			return err
		})
		return res, storeError(err)
	}
	req.wrote = true
	return rt.op.handle(s, req)
}

// resolveVault finds the vault a request addresses: by host name
// ({vault}.{suffix}) or, on any other host, by the first path segment.
func (s *Server) resolveVault(r *http.Request) (name, base, path string, err error) {
	host := r.Host
	hostname := host
	if h, _, err := net.SplitHostPort(host); err == nil {
		hostname = h
	}
	hostname = strings.ToLower(strings.TrimSuffix(hostname, "."))
	escaped := r.URL.EscapedPath()
	if label, ok := strings.CutSuffix(hostname, "."+strings.ToLower(s.DNSSuffix)); ok && s.DNSSuffix != "" {
		if !validVaultName(label) {
			return "", "", "", vaultNotFound(label)
		}
		return label, "https://" + host, escaped, nil
	}
	trimmed := strings.TrimPrefix(escaped, "/")
	seg, _, found := strings.Cut(trimmed, "/")
	if !validVaultName(seg) {
		return "", "", "", vaultNotFound(seg)
	}
	path = "/"
	if found {
		path = trimmed[len(seg):] // "/" and the rest, without a copy
	}
	return strings.ToLower(seg), "https://" + host + "/" + seg, path, nil
}

// apiVersion is req.URL.Query().Get("api-version"). A query of one
// parameter with nothing to unescape (what the SDKs send on a GET) is read
// where it is; anything else goes through url.ParseQuery.
func apiVersion(u *url.URL) string {
	q := u.RawQuery
	if strings.ContainsAny(q, "&;%+") {
		return u.Query().Get("api-version")
	}
	if key, value, _ := strings.Cut(q, "="); key == "api-version" {
		return value
	}
	return ""
}

func vaultNotFound(name string) *kvError {
	return newError(http.StatusNotFound, codeVaultNotFound, "The vault '%s' was not found.", truncate(name, 64))
}

func writeJSON(w http.ResponseWriter, res response) {
	// The header values share one backing array (one allocation where
	// Header.Set makes one per value); each slice is capped at its own
	// element, so an Add to one of them copies rather than overwrites the
	// next. The keys are already canonical.
	h := w.Header()
	values := [...]string{"nosniff", "no-cache", "application/json; charset=utf-8"}
	vs := values[:]
	h["X-Content-Type-Options"] = vs[0:1:1]
	h["Cache-Control"] = vs[1:2:2]
	if res.body == nil {
		w.WriteHeader(res.status)
		return
	}
	if a, ok := res.body.(jsonAppender); ok {
		bp := jsonBufs.Get().(*[]byte)
		b := a.appendJSON((*bp)[:0])
		h["Content-Type"] = vs[2:3:3]
		w.WriteHeader(res.status)
		w.Write(b)
		// The body may hold a secret's value: the buffer keeps no copy
		// once written (respond wipes the plaintext).
		clear(b)
		if cap(b) <= maxPooledJSON {
			*bp = b[:0]
			jsonBufs.Put(bp)
		}
		return
	}
	b, err := json.Marshal(res.body)
	if err != nil {
		// Bodies are this package's own types; this cannot happen.
		http.Error(w, `{"error":{"code":"InternalServerError","message":"encoding"}}`, http.StatusInternalServerError)
		return
	}
	h["Content-Type"] = vs[2:3:3]
	w.WriteHeader(res.status)
	w.Write(b)
}

func remoteHost(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
