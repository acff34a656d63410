package server

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// devTLS is the local serving CA of a dev data dir and the certificate it
// issues for the loopback names. It is separate from every other key in
// Signet: it only protects the HTTPS connections.
type devTLS struct {
	CAFile string // PEM of the CA certificate: what clients must trust
	// BundleFile is the system's trusted roots plus the dev CA, for
	// SSL_CERT_FILE-style variables that replace the system bundle.
	BundleFile string
	CertFile   string
	KeyFile    string
}

// systemBundles are where Debian-like and Red Hat-like systems keep their roots.
var systemBundles = []string{"/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"}

// devServingNames are the names the dev serving certificate covers:
// loopback, and the host-style names of vaults ({vault}.vault.localhost)
// and storage accounts ({account}.blob.localhost).
var devServingNames = []string{"localhost", "*.localhost", "*.vault.localhost", "*.blob.localhost"}

// ensureDevTLS creates the dev CA on first start and (re)issues the serving
// certificate when it is missing, near expiry, or does not cover names.
func ensureDevTLS(dir string, now time.Time) (devTLS, error) {
	t := devTLS{
		CAFile:     filepath.Join(dir, "ca.pem"),
		BundleFile: filepath.Join(dir, "bundle.pem"),
		CertFile:   filepath.Join(dir, "server.pem"),
		KeyFile:    filepath.Join(dir, "server-key.pem"),
	}
	caKeyFile := filepath.Join(dir, "ca-key.pem")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return t, err
	}
	caCert, caKey, err := loadPair(t.CAFile, caKeyFile)
	if errors.Is(err, os.ErrNotExist) {
		caCert, caKey, err = newCA(now)
		if err == nil {
			err = writePair(t.CAFile, caKeyFile, caCert, caKey)
		}
	}
	if err != nil {
		return t, fmt.Errorf("dev CA: %w", err)
	}
	if err := writeBundle(t.BundleFile, caCert); err != nil {
		return t, fmt.Errorf("CA bundle: %w", err)
	}
	leaf, _, err := loadPair(t.CertFile, t.KeyFile)
	if err == nil && servingCertOK(leaf, caCert, now) {
		return t, nil
	}
	leaf, leafKey, err := newServingCert(caCert, caKey, now)
	if err != nil {
		return t, fmt.Errorf("dev serving certificate: %w", err)
	}
	return t, writePair(t.CertFile, t.KeyFile, leaf, leafKey)
}

func servingCertOK(leaf, ca *x509.Certificate, now time.Time) bool {
	if leaf.CheckSignatureFrom(ca) != nil || now.Add(30*24*time.Hour).After(leaf.NotAfter) {
		return false
	}
	for _, n := range devServingNames {
		if !slices.Contains(leaf.DNSNames, n) {
			return false
		}
	}
	return slices.ContainsFunc(leaf.IPAddresses, func(ip net.IP) bool { return ip.Equal(net.IPv4(127, 0, 0, 1)) })
}

func newCA(now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "Signet dev local CA", Organization: []string{"Signet"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func newServingCert(ca *x509.Certificate, caKey crypto.Signer, now time.Time) (*x509.Certificate, crypto.Signer, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(1, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     devServingNames,
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return n
}

func writePair(certFile, keyFile string, cert *x509.Certificate, key crypto.Signer) error {
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	return writeFileAtomic(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), 0o644)
}

func loadPair(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if _, statErr := os.Stat(certFile); errors.Is(statErr, os.ErrNotExist) {
			return nil, nil, statErr
		}
		return nil, nil, err
	}
	signer, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a signing key", keyFile)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	return cert, signer, err
}

// writeFileAtomic writes data to path through a synced temporary file and a
// rename, so a crash never leaves a torn file.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeBundle writes the system roots (when the system has a bundle) followed
// by the dev CA.
func writeBundle(path string, ca *x509.Certificate) error {
	var bundle []byte
	for _, f := range systemBundles {
		if b, err := os.ReadFile(f); err == nil {
			bundle = append(b, '\n')
			break
		}
	}
	bundle = append(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Raw})...)
	return writeFileAtomic(path, bundle, 0o644)
}
