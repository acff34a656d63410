package mirp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// A small world: one VM with a system-assigned identity and one
// user-assigned identity, a second UAMI assigned to nothing, a site with a
// system-assigned identity placed on the VM, and a storage account.
const (
	tenantID = "7e000000-0000-4000-8000-000000000001"
	subID    = "5b000000-0000-4000-8000-000000000001"
	rgPrefix = "/subscriptions/" + subID + "/resourceGroups/rg1/providers/"
	vmID     = rgPrefix + "Microsoft.Compute/virtualMachines/vm1"
	vm2ID    = rgPrefix + "Microsoft.Compute/virtualMachines/vm2"
	arcID    = rgPrefix + "Microsoft.HybridCompute/machines/arc1"
	uami1ID  = rgPrefix + "Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	uami2ID  = rgPrefix + "Microsoft.ManagedIdentity/userAssignedIdentities/id2"
	siteID   = rgPrefix + "Microsoft.Web/sites/app1"
	site2ID  = rgPrefix + "Microsoft.Web/sites/app2"
	vaultID  = rgPrefix + "Microsoft.KeyVault/vaults/kv1"

	vmSysObject, vmSysClient     = "0b000000-0000-4000-8000-0000000000a1", "0c000000-0000-4000-8000-0000000000a1"
	uami1Object, uami1Client     = "0b000000-0000-4000-8000-0000000000a2", "0c000000-0000-4000-8000-0000000000a2"
	uami2Object, uami2Client     = "0b000000-0000-4000-8000-0000000000a3", "0c000000-0000-4000-8000-0000000000a3"
	siteSysObject, siteSysClient = "0b000000-0000-4000-8000-0000000000a4", "0c000000-0000-4000-8000-0000000000a4"
)

// clock is a settable clock shared by the server, the TLS stack and agents.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type fixture struct {
	t     *testing.T
	store *sqlstore.Store
	seal  *seal.Key
	clock *clock
	srv   *Server
	h     http.Handler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatalf("sqlstore.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	key, err := seal.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, store: st, seal: key, clock: &clock{t: time.Now().UTC().Truncate(time.Second)}}
	f.srv = f.newServer()
	f.h = f.srv.Handler()
	f.seed()
	return f
}

func (f *fixture) newServer() *Server {
	return &Server{Store: f.store, Seal: f.seal, Now: f.clock.Now,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		NodeCertLifetime: time.Hour, IdentityCertLifetime: 4 * time.Hour}
}

func (f *fixture) write(fn func(store.Tx) error) {
	f.t.Helper()
	if err := f.store.Write(f.t.Context(), fn); err != nil {
		f.t.Fatalf("Write: %v", err)
	}
}

func (f *fixture) seed() {
	now := f.clock.Now()
	res := func(id, typ, name string, sys string, props string) store.Resource {
		r := store.Resource{ID: id, SubscriptionID: subID, ResourceGroup: "rg1", Type: typ, Name: name,
			Location: "westeurope", SystemAssignedPrincipalID: sys, CreatedAt: now, UpdatedAt: now}
		if props != "" {
			r.Properties = json.RawMessage(props)
		}
		return r
	}
	pr := func(obj, client string, kind store.PrincipalKind, rid string) store.Principal {
		return store.Principal{ObjectID: obj, ClientID: client, TenantID: tenantID, Kind: kind, DisplayName: obj[len(obj)-2:],
			ResourceID: rid, Enabled: true, CreatedAt: now}
	}
	f.write(func(tx store.Tx) error {
		for _, step := range []func() error{
			func() error { return tx.CreateTenant(store.Tenant{ID: tenantID, DisplayName: "t", CreatedAt: now}) },
			func() error {
				return tx.CreateSubscription(store.Subscription{ID: subID, TenantID: tenantID, DisplayName: "s", State: "Enabled", CreatedAt: now})
			},
			func() error {
				return tx.PutResourceGroup(store.ResourceGroup{SubscriptionID: subID, Name: "rg1", Location: "westeurope", CreatedAt: now})
			},
			func() error { return tx.PutResource(res(vmID, typeVM, "vm1", vmSysObject, "")) },
			func() error { return tx.PutResource(res(vm2ID, typeVM, "vm2", "", "")) },
			func() error { return tx.PutResource(res(arcID, typeMachine, "arc1", "", "")) },
			func() error {
				return tx.PutResource(res(uami1ID, "Microsoft.ManagedIdentity/userAssignedIdentities", "id1", "", ""))
			},
			func() error {
				return tx.PutResource(res(uami2ID, "Microsoft.ManagedIdentity/userAssignedIdentities", "id2", "", ""))
			},
			func() error {
				return tx.PutResource(res(siteID, typeSite, "app1", siteSysObject, `{"signetHostResourceId":"`+vmID+`"}`))
			},
			func() error {
				return tx.PutResource(res(site2ID, typeSite, "app2", "", `{"signetHostResourceId":"`+vm2ID+`"}`))
			},
			func() error { return tx.PutResource(res(vaultID, "Microsoft.KeyVault/vaults", "kv1", "", "")) },
			func() error { return tx.CreatePrincipal(pr(vmSysObject, vmSysClient, store.KindSystemAssigned, vmID)) },
			func() error { return tx.CreatePrincipal(pr(uami1Object, uami1Client, store.KindUserAssigned, uami1ID)) },
			func() error { return tx.CreatePrincipal(pr(uami2Object, uami2Client, store.KindUserAssigned, uami2ID)) },
			func() error {
				return tx.CreatePrincipal(pr(siteSysObject, siteSysClient, store.KindSystemAssigned, siteID))
			},
			func() error { return tx.SetResourceIdentities(vmID, []string{uami1ID}) },
			// uami2 is assigned to vm2, which this node does not host.
			func() error { return tx.SetResourceIdentities(site2ID, []string{uami2ID}) },
		} {
			if err := step(); err != nil {
				return err
			}
		}
		return nil
	})
}

// do sends a request straight to the handler; peer, if set, plays the TLS
// client certificate.
func (f *fixture) do(method, path string, body any, peer *x509.Certificate) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			f.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	r := httptest.NewRequestWithContext(f.t.Context(), method, "https://mirp.test"+path, rd)
	if peer != nil {
		r.TLS = &tls.ConnectionState{PeerCertificates: []*x509.Certificate{peer}}
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w.Code, w.Body.Bytes()
}

// node is an enrolled node as a test sees it.
type node struct {
	id   string
	key  crypto.Signer
	cert *x509.Certificate
	cas  *x509.CertPool
}

func (f *fixture) joinToken(resourceID string) string {
	f.t.Helper()
	tok, _, err := f.srv.CreateJoinToken(f.t.Context(), resourceID, time.Hour)
	if err != nil {
		f.t.Fatalf("CreateJoinToken: %v", err)
	}
	return tok
}

func (f *fixture) enroll(resourceID string) node {
	f.t.Helper()
	key := ecKey(f.t)
	code, body := f.do("POST", "/mirp/v1/enroll", map[string]string{"joinToken": f.joinToken(resourceID), "csr": csrB64(f.t, key)}, nil)
	if code != http.StatusOK {
		f.t.Fatalf("enroll: %d %s", code, body)
	}
	resp := decodeCert(f.t, body)
	return node{id: resp.NodeID, key: key, cert: parsePEM(f.t, resp.Certificate), cas: pool(f.t, resp.CACertificates)}
}

// identityCert asks for an identity certificate for n, returning the status
// and, on success, the certificate.
func (f *fixture) identityCert(n node, clientID string) (int, *x509.Certificate) {
	f.t.Helper()
	code, body := f.do("POST", "/mirp/v1/node/identities/"+clientID+"/certificate",
		map[string]string{"csr": csrB64(f.t, rsaKey(f.t))}, n.cert)
	if code != http.StatusOK {
		return code, nil
	}
	return code, parsePEM(f.t, decodeCert(f.t, body).Certificate)
}

var (
	rsaOnce sync.Once
	rsaKeys []*rsa.PrivateKey
	rsaMu   sync.Mutex
	rsaNext int
)

// rsaKey hands out RSA keys from a small pool: generating one per request
// would dominate the test time, and a key may certify many certificates.
func rsaKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	rsaOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			rsaKeys = append(rsaKeys, k)
		}
	})
	rsaMu.Lock()
	defer rsaMu.Unlock()
	rsaNext++
	return rsaKeys[rsaNext%len(rsaKeys)]
}

func ecKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func csrDER(t *testing.T, key crypto.Signer) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "asks-for-admin"}, DNSNames: []string{"evil.example"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func csrB64(t *testing.T, key crypto.Signer) string {
	return base64.StdEncoding.EncodeToString(csrDER(t, key))
}

func decodeCert(t *testing.T, body []byte) certificateResponse {
	t.Helper()
	var r certificateResponse
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return r
}

func parsePEM(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM in %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func pool(t *testing.T, pemData string) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM([]byte(pemData)) {
		t.Fatalf("no CA certificates in %q", pemData)
	}
	return p
}

// errorCode reads the code of an error body.
func errorCode(t *testing.T, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("not an error body {error:{code,message}}: %s", body)
	}
	return e.Error.Code
}
