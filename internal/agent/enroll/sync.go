package enroll

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/agent"
)

// identityKeyBits: identity keys are RSA because the STS accepts PS256 and
// RS256 client assertions only.
const identityKeyBits = 2048

// Run calls Sync every interval (about a second, so that assignment
// changes are followed within a second or two) until ctx ends. Failures
// are logged; the identities of the last good Sync keep being served.
func (a *Agent) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := a.Sync(ctx); err != nil && ctx.Err() == nil {
			a.logger().Warn("enroll: sync with MIRP failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// needsRenewal reports whether a certificate has reached half its life.
func needsRenewal(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore.Add(c.NotAfter.Sub(c.NotBefore) / 2))
}

// Sync brings the host's identities in line with MIRP: it renews the node
// certificate at half-life, fetches the identity list, makes a key for each
// new identity and gets or renews its certificate at half-life, and drops
// identities no longer listed, deleting their keys. If MIRP no longer
// accepts the node, every identity is dropped and the error wraps
// ErrNotEnrolled.
func (a *Agent) Sync(ctx context.Context) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	a.mu.RLock()
	nodeCert, old, listed, unsaved := a.nodeCert, a.creds, a.listed, a.unsaved
	a.mu.RUnlock()
	if nodeCert == nil {
		return fmt.Errorf("%w: call Enroll or Load first", ErrNotEnrolled)
	}
	now := a.now()
	if !now.Before(nodeCert.NotAfter) {
		return fmt.Errorf("%w: the node certificate expired at %v", ErrNotEnrolled, nodeCert.NotAfter)
	}
	if needsRenewal(nodeCert, now) {
		if err := a.renewNode(ctx); err != nil {
			return a.refused(err, "renew node certificate")
		}
	}
	var list identitiesResponse
	if err := a.call(ctx, http.MethodGet, "/mirp/v1/node/identities", nil, &list); err != nil {
		return a.refused(err, "list identities")
	}

	var errs []error
	creds := map[string]*credential{}
	var kept []listedIdentity
	denied := map[string]bool{}
	for _, id := range list.Value {
		name, ok := fileName(id.ClientID)
		if !ok {
			a.logger().Warn("enroll: skipping identity with an unusable client id", "client_id", id.ClientID)
			continue
		}
		if denied[name] {
			continue
		}
		if _, done := creds[name]; !done {
			c, err := a.ensureCredential(ctx, name, id.ClientID, old[name], now)
			var se *StatusError
			if errors.As(err, &se) && se.Status == http.StatusForbidden {
				// Unassigned between the list and the request: its key
				// (perhaps made just now) is of no use.
				denied[name] = true
				a.deleteIdentityFiles(name)
				continue
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("identity %s: %w", id.ClientID, err))
			}
			if c == nil {
				continue
			}
			creds[name] = c
		}
		kept = append(kept, id)
	}
	for name := range old {
		if creds[name] == nil {
			a.deleteIdentityFiles(name)
		}
	}
	// Sync runs every second or so: rewrite (and fsync) the list only
	// when it changed, or when the last write failed.
	if unsaved || !slices.Equal(kept, listed) {
		unsaved = false
		if b, err := json.Marshal(kept); err == nil {
			if err := writeFile(filepath.Join(a.StateDir, identitiesFile), b); err != nil {
				errs = append(errs, err)
				unsaved = true
			}
		}
	}
	a.mu.Lock()
	a.listed, a.unsaved, a.creds, a.byApp = kept, unsaved, creds, buildIndex(kept, creds)
	a.mu.Unlock()
	return errors.Join(errs...)
}

// refused wraps a failed MIRP call; a 401 means MIRP no longer accepts this
// node (removed, or its certificate revoked), so its identities go.
func (a *Agent) refused(err error, what string) error {
	var se *StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		return fmt.Errorf("enroll: %s: %w", what, err)
	}
	a.mu.Lock()
	old := a.creds
	a.listed, a.creds, a.byApp = nil, map[string]*credential{}, map[string][]agent.Identity{}
	a.mu.Unlock()
	for name := range old {
		a.deleteIdentityFiles(name)
	}
	os.Remove(filepath.Join(a.StateDir, identitiesFile))
	return fmt.Errorf("%w: %s: %w", ErrNotEnrolled, what, err)
}

func (a *Agent) renewNode(ctx context.Context) error {
	a.mu.RLock()
	nodeKey := a.nodeKey
	a.mu.RUnlock()
	csr, err := newCSR(nodeKey, "signet-node")
	if err != nil {
		return err
	}
	var resp certificateResponse
	if err := a.call(ctx, http.MethodPost, "/mirp/v1/node/renew", csrRequest{CSR: csr}, &resp); err != nil {
		return err
	}
	cert, cas, err := checkIssued(resp, nodeKey)
	if err != nil {
		return err
	}
	if err := writeFile(filepath.Join(a.StateDir, nodeCertFile), certPEM(cert)); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(a.StateDir, caFile), cas); err != nil {
		return err
	}
	a.mu.Lock()
	a.nodeCert = cert
	a.mu.Unlock()
	// A kept-alive connection stays authenticated with the old certificate
	// until it expires; new handshakes present the renewed one.
	a.httpClient().CloseIdleConnections()
	a.logger().Info("enroll: node certificate renewed", "node_id", cert.Subject.CommonName, "not_after", cert.NotAfter)
	return nil
}

// ensureCredential returns the identity's credential with a certificate
// that is not past half-life, making a key if there is none and asking MIRP
// for a certificate when needed. On a failed request it returns the
// credential it has (possibly without a certificate) and the error.
func (a *Agent) ensureCredential(ctx context.Context, name, clientID string, have *credential, now time.Time) (*credential, error) {
	c := &credential{}
	if have != nil {
		*c = *have
	}
	if c.key == nil {
		key, err := rsa.GenerateKey(rand.Reader, identityKeyBits)
		if err != nil {
			return nil, fmt.Errorf("generate key: %w", err)
		}
		pemKey, err := encodeKey(key)
		if err != nil {
			return nil, err
		}
		if err := ensureDir(filepath.Join(a.StateDir, identityDir)); err != nil {
			return nil, err
		}
		if err := writeFile(a.identityPath(name, ".key.pem"), pemKey); err != nil {
			return nil, err
		}
		c.key, c.cert = key, nil
	}
	if c.cert != nil && now.Before(c.cert.NotAfter) && !needsRenewal(c.cert, now) {
		return c, nil
	}
	if c.cert != nil && !now.Before(c.cert.NotAfter) {
		c.cert = nil // expired: serving it would only earn refusals
	}
	csr, err := newCSR(c.key, clientID)
	if err != nil {
		return c, err
	}
	var resp certificateResponse
	path := "/mirp/v1/node/identities/" + url.PathEscape(clientID) + "/certificate"
	if err := a.call(ctx, http.MethodPost, path, csrRequest{CSR: csr}, &resp); err != nil {
		return c, err
	}
	cert, _, err := checkIssued(resp, c.key)
	if err != nil {
		return c, err
	}
	if err := writeFile(a.identityPath(name, ".pem"), certPEM(cert)); err != nil {
		return c, err
	}
	c.cert = cert
	a.logger().Info("enroll: identity certificate issued", "client_id", clientID, "not_after", cert.NotAfter)
	return c, nil
}

func (a *Agent) identityPath(name, suffix string) string {
	return filepath.Join(a.StateDir, identityDir, name+suffix)
}

func (a *Agent) deleteIdentityFiles(name string) {
	for _, suffix := range []string{".key.pem", ".pem"} {
		if err := os.Remove(a.identityPath(name, suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			a.logger().Warn("enroll: delete identity file", "client_id", name, "error", err)
		}
	}
}

// fileName maps a client id (a GUID) to the base name of its files; ids
// with anything but letters, digits and dashes are refused, so a hostile
// list cannot name a path outside the state directory.
func fileName(clientID string) (string, bool) {
	if clientID == "" || len(clientID) > 64 {
		return "", false
	}
	for _, r := range clientID {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
			return "", false
		}
	}
	return strings.ToLower(clientID), true
}

// buildIndex turns the list and credentials into the slices Identities
// returns, by lower-cased app id. An identity without a certificate yet has
// a nil Key, which the workload endpoints report as a transient failure.
func buildIndex(listed []listedIdentity, creds map[string]*credential) map[string][]agent.Identity {
	out := map[string][]agent.Identity{}
	for _, l := range listed {
		name, ok := fileName(l.ClientID)
		if !ok {
			continue
		}
		id := agent.Identity{ClientID: l.ClientID, ObjectID: l.ObjectID, ResourceID: l.ResourceID,
			TenantID: l.TenantID, SystemAssigned: l.SystemAssigned}
		if c := creds[name]; c != nil && c.cert != nil {
			id.Key, id.Certificate = c.key, c.cert
		}
		app := strings.ToLower(l.App)
		out[app] = append(out[app], id)
	}
	return out
}
