package mirp

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
)

func uriStrings(c *x509.Certificate) []string {
	var out []string
	for _, u := range c.URIs {
		out = append(out, u.String())
	}
	return out
}

func TestNodeCertificateTemplate(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	now := f.clock.Now()

	if _, err := n.cert.Verify(x509.VerifyOptions{Roots: n.cas, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("node certificate does not chain to the CA sent with it: %v", err)
	}
	if got, want := n.cert.Subject.CommonName, n.id; got != want {
		t.Errorf("CN = %q, want node id %q", got, want)
	}
	if d := cmp.Diff([]string{"signet://node/" + n.id, "signet://resource" + vmID}, uriStrings(n.cert)); d != "" {
		t.Errorf("URI SANs (-want +got):\n%s", d)
	}
	// Nothing the CSR asked for (CN, DNS names) is copied.
	if len(n.cert.DNSNames) != 0 || n.cert.IsCA {
		t.Errorf("DNSNames = %v, IsCA = %v; want none, false", n.cert.DNSNames, n.cert.IsCA)
	}
	if got, want := n.cert.NotAfter, now.Add(time.Hour); !got.Equal(want) {
		t.Errorf("NotAfter = %v, want now + NodeCertLifetime = %v", got, want)
	}
	if !samePub(n.cert.PublicKey, n.key.Public()) {
		t.Error("node certificate does not certify the CSR's key")
	}
}

func TestIdentityCertificateTemplate(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	code, cert := f.identityCert(n, uami1Client)
	if code != http.StatusOK {
		t.Fatalf("identity certificate: status %d", code)
	}
	now := f.clock.Now()
	if _, err := cert.Verify(x509.VerifyOptions{Roots: n.cas, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
		t.Fatalf("identity certificate does not chain: %v", err)
	}
	if got, want := cert.Subject.CommonName, uami1Client; got != want {
		t.Errorf("CN = %q, want client id %q", got, want)
	}
	want := []string{"signet://tenant/" + tenantID + "/client/" + uami1Client, "signet://principal/" + uami1Object}
	if d := cmp.Diff(want, uriStrings(cert)); d != "" {
		t.Errorf("URI SANs (-want +got):\n%s", d)
	}
	if cert.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		t.Errorf("KeyUsage = %v, want DigitalSignature", cert.KeyUsage)
	}
	if got, want := cert.NotAfter, now.Add(4*time.Hour); !got.Equal(want) {
		t.Errorf("NotAfter = %v, want now + IdentityCertLifetime = %v", got, want)
	}
}

// The CA key is sealed, bound to its record, and one CA serves every
// replica on the store.
func TestCAPersistedSealed(t *testing.T) {
	f := newFixture(t)
	if err := f.srv.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	replica := f.newServer()
	pemA, err := f.srv.CACertificatesPEM(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	pemB, err := replica.CACertificatesPEM(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if string(pemA) != string(pemB) {
		t.Error("a second server on the same store made its own CA")
	}
	var cas []store.MIRPCA
	if err := f.store.Read(t.Context(), func(tx store.Tx) (err error) { cas, err = tx.ListMIRPCAs(); return err }); err != nil {
		t.Fatal(err)
	}
	if len(cas) != 1 {
		t.Fatalf("%d CA records, want 1", len(cas))
	}
	if _, err := f.seal.Open(cas[0].PrivateKeySealed, []byte("mirp-ca:"+cas[0].ID)); err != nil {
		t.Errorf("CA key does not open with its own additional data: %v", err)
	}
	if _, err := f.seal.Open(cas[0].PrivateKeySealed, []byte("mirp-ca:other")); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("CA key opened with another record's additional data: %v", err)
	}
	if _, err := x509.ParsePKCS8PrivateKey(cas[0].PrivateKeySealed); err == nil {
		t.Error("CA key is stored in clear")
	}
	other, _ := seal.NewRandomKey()
	wrong := &Server{Store: f.store, Seal: other, Now: f.clock.Now}
	if err := wrong.Init(t.Context()); !errors.Is(err, seal.ErrOpen) {
		t.Errorf("Init under the wrong master key: got %v, want seal.ErrOpen", err)
	}
}

func TestCSRRefused(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)

	good := csrDER(t, rsaKey(t))
	tampered := append([]byte(nil), good...)
	tampered[len(tampered)-5] ^= 0xff // inside the signature
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	b64 := base64.StdEncoding.EncodeToString
	tests := []struct {
		name, path, csr string
	}{
		{"enroll: bad signature", "/mirp/v1/enroll", b64(tampered)},
		{"enroll: not a CSR", "/mirp/v1/enroll", b64([]byte("hello"))},
		{"enroll: empty", "/mirp/v1/enroll", ""},
		{"enroll: PEM of the wrong type", "/mirp/v1/enroll",
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: n.cert.Raw}))},
		{"enroll: RSA-1024", "/mirp/v1/enroll", csrB64(t, weak)},
		{"identity: bad signature", "/mirp/v1/node/identities/" + uami1Client + "/certificate", b64(tampered)},
		{"identity: ECDSA key (STS needs RSA)", "/mirp/v1/node/identities/" + uami1Client + "/certificate", csrB64(t, ecKey(t))},
		{"identity: Ed25519 key", "/mirp/v1/node/identities/" + uami1Client + "/certificate", csrB64(t, edKey)},
		{"renew: bad signature", "/mirp/v1/node/renew", b64(tampered)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]string{"csr": tc.csr}
			var peer *x509.Certificate
			if strings.HasPrefix(tc.path, "/mirp/v1/enroll") {
				body["joinToken"] = f.joinToken(vm2ID)
			} else {
				peer = n.cert
			}
			code, resp := f.do("POST", tc.path, body, peer)
			if code != http.StatusBadRequest || errorCode(t, resp) != codeBadRequest {
				t.Errorf("got %d %s, want 400 %s", code, resp, codeBadRequest)
			}
		})
	}

	// A PEM CSR and URL-safe base64 are accepted.
	for name, csr := range map[string]string{
		"PEM":       string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: good})),
		"base64url": base64.RawURLEncoding.EncodeToString(good),
	} {
		code, resp := f.do("POST", "/mirp/v1/node/identities/"+uami1Client+"/certificate", map[string]string{"csr": csr}, n.cert)
		if code != http.StatusOK {
			t.Errorf("%s CSR: got %d %s, want 200", name, code, resp)
		}
	}
}

func samePub(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}
