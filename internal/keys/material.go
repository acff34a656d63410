package keys

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
)

// rsaBits is the size of signing keys: what Entra uses, and jwt.MinRSABits.
const rsaBits = 2048

// certValidity is the validity of a signing key's self-signed certificate.
// Nothing checks it (verifiers trust the JWKS, not the certificate), but
// some tools reject expired certificates in x5c.
const certValidity = 10 * 365 * 24 * time.Hour

// loadedKey is a signing key opened into memory.
type loadedKey struct {
	rec  store.SigningKey // PrivateKeySealed dropped
	priv *rsa.PrivateKey
	jwk  jwt.JWK // its X5t is the x5t Sign puts in token headers
}

// sealAD binds a sealed private key to its row.
func sealAD(kid string) []byte { return []byte("signing-key:" + kid) }

// newKeyRecord generates a key, its certificate and the sealed record. The
// kid is the certificate's SHA-1 thumbprint, as Entra's kid equals its x5t.
func newKeyRecord(sk *seal.Key, now time.Time) (store.SigningKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: generate signing key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: generate certificate serial: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "Signet token signing"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: create signing certificate: %w", err)
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: encode public key: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: encode private key: %w", err)
	}
	defer clear(pkcs8)
	kid := jwt.ThumbprintSHA1(certDER)
	sealed, err := sk.Seal(pkcs8, sealAD(kid))
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: seal signing key: %w", err)
	}
	return store.SigningKey{
		KID:              kid,
		PrivateKeySealed: sealed,
		PublicKeyDER:     pubDER,
		CertificateDER:   certDER,
		CreatedAt:        now,
	}, nil
}

// errWrongMasterKey marks a key that does not open under the master key.
var errWrongMasterKey = errors.New("the master key is not the one the signing keys were sealed with")

// openKey opens a stored key and checks that its parts belong together.
func openKey(sk *seal.Key, rec store.SigningKey) (*loadedKey, error) {
	pkcs8, err := sk.Open(rec.PrivateKeySealed, sealAD(rec.KID))
	if err != nil {
		return nil, fmt.Errorf("keys: open signing key %s with master key %s: %w: %w", rec.KID, sk.Fingerprint(), errWrongMasterKey, err)
	}
	defer clear(pkcs8)
	parsed, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("keys: signing key %s: parse private key: %w", rec.KID, err)
	}
	priv, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("keys: signing key %s is a %T, not RSA", rec.KID, parsed)
	}
	cert, err := x509.ParseCertificate(rec.CertificateDER)
	if err != nil {
		return nil, fmt.Errorf("keys: signing key %s: parse certificate: %w", rec.KID, err)
	}
	pub, err := x509.ParsePKIXPublicKey(rec.PublicKeyDER)
	if err != nil {
		return nil, fmt.Errorf("keys: signing key %s: parse public key: %w", rec.KID, err)
	}
	if !priv.PublicKey.Equal(pub) || !priv.PublicKey.Equal(cert.PublicKey) {
		return nil, fmt.Errorf("keys: signing key %s: private key, public key and certificate do not match", rec.KID)
	}
	if priv.N.BitLen() < jwt.MinRSABits {
		return nil, fmt.Errorf("keys: signing key %s has %d bits, below %d", rec.KID, priv.N.BitLen(), jwt.MinRSABits)
	}
	rec.PrivateKeySealed = nil
	return &loadedKey{
		rec:  rec,
		priv: priv,
		jwk:  jwt.RSAPublicJWK(rec.KID, &priv.PublicKey, rec.CertificateDER),
	}, nil
}
