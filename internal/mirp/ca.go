package mirp

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/store"
)

// Sealer encrypts keys at rest; *seal.Key implements it.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

const (
	caLifetime = 10 * 365 * 24 * time.Hour
	// maxBackdate bounds how far NotBefore is set before issuance, so that a
	// replica whose clock is slightly behind still accepts a fresh
	// certificate.
	maxBackdate = time.Minute
)

// caAD is the additional data binding a sealed CA key to its record.
func caAD(id string) []byte { return []byte("mirp-ca:" + id) }

// authority is a loaded CA: the certificate that signs, its key, and every
// MIRP CA certificate that is still trusted.
type authority struct {
	id      string
	cert    *x509.Certificate
	key     crypto.Signer
	roots   *x509.CertPool
	rootPEM []byte
}

// newCARecord creates a root CA and its record, the key sealed under sealer.
func newCARecord(sealer Sealer, now time.Time) (store.MIRPCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return store.MIRPCA{}, fmt.Errorf("mirp: generate CA key: %w", err)
	}
	serial, err := newSerial()
	if err != nil {
		return store.MIRPCA{}, err
	}
	id := uuid.NewString()
	notBefore := now.Add(-maxBackdate).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Signet MIRP CA", Organization: []string{"Signet"}, SerialNumber: id},
		NotBefore:             notBefore,
		NotAfter:              notBefore.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// Leaves only: a node or identity key must never be able to issue.
		MaxPathLen:     0,
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return store.MIRPCA{}, fmt.Errorf("mirp: create CA certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return store.MIRPCA{}, fmt.Errorf("mirp: encode CA key: %w", err)
	}
	defer clear(pkcs8)
	sealed, err := sealer.Seal(pkcs8, caAD(id))
	if err != nil {
		return store.MIRPCA{}, fmt.Errorf("mirp: seal CA key: %w", err)
	}
	return store.MIRPCA{
		ID: id, CertificateDER: der, PrivateKeySealed: sealed,
		NotBefore: tmpl.NotBefore, NotAfter: tmpl.NotAfter, CreatedAt: now,
	}, nil
}

// loadAuthority opens the newest CA valid at now and trusts every CA that
// has not expired. It fails if there is none.
func loadAuthority(sealer Sealer, cas []store.MIRPCA, now time.Time) (*authority, error) {
	a := &authority{roots: x509.NewCertPool()}
	var active *store.MIRPCA
	var pemBuf bytes.Buffer
	for i := range cas {
		ca := &cas[i]
		if !now.Before(ca.NotAfter) {
			continue
		}
		cert, err := x509.ParseCertificate(ca.CertificateDER)
		if err != nil {
			return nil, fmt.Errorf("mirp: parse CA certificate %s: %w", ca.ID, err)
		}
		a.roots.AddCert(cert)
		pem.Encode(&pemBuf, &pem.Block{Type: "CERTIFICATE", Bytes: ca.CertificateDER})
		if !now.Before(ca.NotBefore) && (active == nil || ca.NotBefore.After(active.NotBefore)) {
			active = ca
			a.cert = cert
		}
	}
	if active == nil {
		return nil, errors.New("mirp: no valid CA")
	}
	pkcs8, err := sealer.Open(active.PrivateKeySealed, caAD(active.ID))
	if err != nil {
		return nil, fmt.Errorf("mirp: open CA key %s: %w", active.ID, err)
	}
	defer clear(pkcs8)
	key, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("mirp: parse CA key %s: %w", active.ID, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("mirp: CA key %s is %T, not a signer", active.ID, key)
	}
	a.id, a.key, a.rootPEM = active.ID, signer, pemBuf.Bytes()
	return a, nil
}

// newSerial returns a random positive serial number of at most 20 octets,
// as RFC 5280 §4.1.2.2 requires, with 127 bits of entropy.
func newSerial() (*big.Int, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("mirp: serial number: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x01 // never zero, never a leading zero octet to trim
	return new(big.Int).SetBytes(b), nil
}

// serialKey is the form serial numbers are stored and looked up in.
func serialKey(n *big.Int) string { return hex.EncodeToString(n.Bytes()) }

// URIs naming what a certificate is bound to.
func nodeURI(nodeID string) *url.URL {
	return &url.URL{Scheme: "signet", Host: "node", Path: "/" + nodeID}
}

func resourceURI(resourceID string) *url.URL {
	return &url.URL{Scheme: "signet", Host: "resource", Path: resourceID}
}

func clientURI(tenantID, clientID string) *url.URL {
	return &url.URL{Scheme: "signet", Host: "tenant", Path: "/" + tenantID + "/client/" + clientID}
}

func principalURI(objectID string) *url.URL {
	return &url.URL{Scheme: "signet", Host: "principal", Path: "/" + objectID}
}

// leaf is what a certificate is about to be issued for.
type leaf struct {
	cn       string
	uris     []*url.URL
	pub      crypto.PublicKey
	lifetime time.Duration
}

// issued is a signed leaf.
type issued struct {
	cert       *x509.Certificate
	serial     string
	thumbprint []byte
}

// sign issues l under the authority. The leaf never outlives the CA.
func (a *authority) sign(l leaf, now time.Time) (issued, error) {
	serial, err := newSerial()
	if err != nil {
		return issued{}, err
	}
	notBefore := now.Add(-min(maxBackdate, l.lifetime/8))
	if notBefore.Before(a.cert.NotBefore) {
		notBefore = a.cert.NotBefore
	}
	notAfter := now.Add(l.lifetime)
	if notAfter.After(a.cert.NotAfter) {
		notAfter = a.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: l.cn},
		URIs:         l.uris,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		// Leaves, never CAs.
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.cert, l.pub, a.key)
	if err != nil {
		return issued{}, fmt.Errorf("mirp: sign certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return issued{}, fmt.Errorf("mirp: parse issued certificate: %w", err)
	}
	sum := sha256.Sum256(der)
	return issued{cert: cert, serial: serialKey(serial), thumbprint: sum[:]}, nil
}

// certPEM encodes one certificate.
func certPEM(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}
