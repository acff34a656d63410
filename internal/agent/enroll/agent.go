package enroll

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/signet-platform/signet/internal/agent"
)

// ErrNotEnrolled: the state directory holds no enrollment (Load), or MIRP
// no longer accepts this node (removed, or its certificate revoked or
// expired); the host needs a new join token.
var ErrNotEnrolled = errors.New("enroll: node is not enrolled")

// Agent enrolls the host with MIRP and keeps its identities' certificates
// fresh. Set the fields, then call Enroll (first run) or Load (restart),
// then Run. It implements agent.IdentitySource.
type Agent struct {
	// StateDir holds the node and identity keys and certificates.
	StateDir string
	// MIRPURL is the MIRP listener's base URL, e.g. https://mirp.example:8445.
	MIRPURL string
	// RootCAs verifies the MIRP listener's serving certificate; nil means
	// the system roots.
	RootCAs *x509.CertPool
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger

	initOnce sync.Once
	client   *http.Client

	// mu guards the node credentials and the identity state. Sync holds
	// syncMu for its whole run, so two Syncs do not interleave.
	syncMu   sync.Mutex
	mu       sync.RWMutex
	nodeID   string
	nodeKey  crypto.Signer
	nodeCert *x509.Certificate
	listed   []listedIdentity            // the last list a Sync kept, or Load read back
	unsaved  bool                        // identitiesFile does not hold listed yet
	creds    map[string]*credential      // by lower-cased client id
	byApp    map[string][]agent.Identity // by lower-cased app id; "" is the host
}

// credential is one identity's key and current certificate.
type credential struct {
	key  crypto.Signer
	cert *x509.Certificate // nil until MIRP issued one
}

// listedIdentity is one entry of MIRP's identity list.
type listedIdentity struct {
	ClientID       string `json:"clientId"`
	ObjectID       string `json:"objectId"`
	TenantID       string `json:"tenantId"`
	ResourceID     string `json:"resourceId"`
	SystemAssigned bool   `json:"systemAssigned"`
	App            string `json:"app"`
}

var _ agent.IdentitySource = (*Agent)(nil)

func (a *Agent) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Agent) logger() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

func (a *Agent) httpClient() *http.Client {
	a.initOnce.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{
			RootCAs:    a.RootCAs,
			MinVersion: tls.VersionTLS12,
			// Read at every handshake, so a renewed node certificate is used
			// without rebuilding the client. Before enrollment there is none.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				a.mu.RLock()
				defer a.mu.RUnlock()
				if a.nodeCert == nil {
					return &tls.Certificate{}, nil
				}
				return &tls.Certificate{Certificate: [][]byte{a.nodeCert.Raw}, PrivateKey: a.nodeKey, Leaf: a.nodeCert}, nil
			},
		}
		a.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	})
	return a.client
}

// NodeID returns the enrolled node's id, "" before enrollment.
func (a *Agent) NodeID() string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.nodeID
}

// Identities implements agent.IdentitySource: app "" is the host. It
// returns the slice built by the last Sync, which is never modified.
func (a *Agent) Identities(app string) []agent.Identity {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.byApp[strings.ToLower(app)]
}

// Apps returns the apps (as MIRP spells their resource ids) that the
// identities Identities serves are placed on, each once, ignoring case.
func (a *Agent) Apps() []string {
	a.mu.RLock()
	defer a.mu.RUnlock()
	seen := map[string]bool{}
	var apps []string
	for _, l := range a.listed {
		if k := strings.ToLower(l.App); k != "" && !seen[k] {
			seen[k] = true
			apps = append(apps, l.App)
		}
	}
	return apps
}

// Enroll enrolls the host with a join token: it generates the node key
// here, sends MIRP a CSR with the token, and stores the node certificate,
// the MIRP CA certificates and the node id in StateDir.
func (a *Agent) Enroll(ctx context.Context, joinToken string) error {
	if err := ensureDir(a.StateDir); err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("enroll: generate node key: %w", err)
	}
	csr, err := newCSR(key, "signet-node")
	if err != nil {
		return err
	}
	var resp certificateResponse
	if err := a.call(ctx, http.MethodPost, "/mirp/v1/enroll", enrollRequest{JoinToken: joinToken, CSR: csr}, &resp); err != nil {
		return fmt.Errorf("enroll: enroll with MIRP: %w", err)
	}
	cert, cas, err := checkIssued(resp, key)
	if err != nil {
		return err
	}
	if resp.NodeID == "" || cert.Subject.CommonName != resp.NodeID {
		return fmt.Errorf("enroll: MIRP returned node id %q for a certificate naming %q", resp.NodeID, cert.Subject.CommonName)
	}
	keyPEM, err := encodeKey(key)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{nodeKeyFile, keyPEM}, {nodeCertFile, certPEM(cert)}, {caFile, cas}, {nodeIDFile, []byte(resp.NodeID + "\n")},
	} {
		if err := writeFile(filepath.Join(a.StateDir, f.name), f.data); err != nil {
			return err
		}
	}
	// A re-enrolled host starts with no identities: the old node's
	// certificates were revoked by this enrollment.
	if err := os.RemoveAll(filepath.Join(a.StateDir, identityDir)); err != nil {
		return fmt.Errorf("enroll: clear old identities: %w", err)
	}
	if err := os.Remove(filepath.Join(a.StateDir, identitiesFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("enroll: clear old identities: %w", err)
	}
	a.mu.Lock()
	a.nodeID, a.nodeKey, a.nodeCert = resp.NodeID, key, cert
	a.listed, a.creds, a.byApp = nil, map[string]*credential{}, map[string][]agent.Identity{}
	a.mu.Unlock()
	// The enrollment connection carries no client certificate: later calls
	// must handshake again to present the node certificate.
	a.httpClient().CloseIdleConnections()
	a.logger().Info("enroll: node enrolled", "node_id", resp.NodeID, "not_after", cert.NotAfter)
	return nil
}

// Load restores an enrolled node from StateDir, with the identities of the
// last Sync, so that a restarted agent serves them before MIRP answers. It
// returns an error wrapping ErrNotEnrolled if the host never enrolled.
func (a *Agent) Load() error {
	dir := a.StateDir
	idb, err := os.ReadFile(filepath.Join(dir, nodeIDFile))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: no enrollment in %s", ErrNotEnrolled, dir)
	}
	if err != nil {
		return fmt.Errorf("enroll: read node id: %w", err)
	}
	key, err := readKey(filepath.Join(dir, nodeKeyFile))
	if err != nil {
		return err
	}
	cert, err := readCert(filepath.Join(dir, nodeCertFile))
	if err != nil {
		return err
	}
	// Nothing reads the CA bundle back (MIRP sends it with every
	// certificate), but an enrollment without it is incomplete.
	if _, err := os.Stat(filepath.Join(dir, caFile)); err != nil {
		return fmt.Errorf("enroll: read CA certificates: %w", err)
	}
	var listed []listedIdentity
	if b, err := os.ReadFile(filepath.Join(dir, identitiesFile)); err == nil {
		if err := json.Unmarshal(b, &listed); err != nil {
			return fmt.Errorf("enroll: parse %s: %w", identitiesFile, err)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("enroll: read %s: %w", identitiesFile, err)
	}
	creds := map[string]*credential{}
	for _, id := range listed {
		name, ok := fileName(id.ClientID)
		if !ok || creds[name] != nil {
			continue
		}
		c := &credential{}
		if c.key, err = readKey(a.identityPath(name, ".key.pem")); err != nil {
			continue // a missing key is made again by the next Sync
		}
		if cert, err := readCert(a.identityPath(name, ".pem")); err == nil && samePublicKey(cert.PublicKey, c.key.Public()) {
			c.cert = cert
		}
		creds[name] = c
	}
	a.mu.Lock()
	a.nodeID, a.nodeKey, a.nodeCert = strings.TrimSpace(string(idb)), key, cert
	a.listed, a.creds = listed, creds
	a.byApp = buildIndex(listed, creds)
	a.mu.Unlock()
	return nil
}

// newCSR makes a PKCS#10 request, base64 DER. MIRP uses only its key: the
// subject is a label for humans reading logs.
func newCSR(key crypto.Signer, cn string) (string, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		return "", fmt.Errorf("enroll: create CSR: %w", err)
	}
	return base64.StdEncoding.EncodeToString(der), nil
}

// checkIssued parses a certificate MIRP returned and checks it certifies
// our key and chains to the CA certificates sent with it.
func checkIssued(resp certificateResponse, key crypto.Signer) (*x509.Certificate, []byte, error) {
	certs, err := parseCerts([]byte(resp.Certificate))
	if err != nil {
		return nil, nil, err
	}
	cert := certs[0]
	if !samePublicKey(cert.PublicKey, key.Public()) {
		return nil, nil, errors.New("enroll: MIRP returned a certificate for another key")
	}
	cas, err := parseCerts([]byte(resp.CACertificates))
	if err != nil {
		return nil, nil, fmt.Errorf("enroll: CA certificates: %w", err)
	}
	pool := x509.NewCertPool()
	var buf bytes.Buffer
	for _, c := range cas {
		pool.AddCert(c)
		buf.Write(certPEM(c))
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: cert.NotBefore.Add(time.Second),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		return nil, nil, fmt.Errorf("enroll: MIRP returned a certificate that does not chain to its CA: %w", err)
	}
	return cert, buf.Bytes(), nil
}

func samePublicKey(a, b crypto.PublicKey) bool {
	ak, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ak.Equal(b)
}
