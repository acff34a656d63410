package mirp

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// keyPolicy says which public keys a certificate may carry.
type keyPolicy int

const (
	// nodeKeys: anything Go's TLS client authentication accepts at a sound
	// strength.
	nodeKeys keyPolicy = iota
	// identityKeys: RSA only, because the STS verifies client assertions
	// signed with PS256 or RS256 (RFC 7518 §3.3, §3.5).
	identityKeys
)

// maxCSR bounds a CSR's encoded size; an RSA-8192 request is ~2 KiB.
const maxCSR = 16 << 10

// parseCSR decodes a PKCS#10 request sent as PEM ("CERTIFICATE REQUEST")
// or base64 DER (standard or URL alphabet, padded or not), verifies its
// self-signature, the proof that the requester holds the private key
// (RFC 2986 §3), and checks the key against policy. Only the public key is
// used afterwards: subject, SANs and extensions asked for are ignored.
func parseCSR(s string, policy keyPolicy) (crypto.PublicKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the csr is missing")
	}
	if len(s) > maxCSR {
		return nil, errors.New("the csr is too large")
	}
	var der []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		block, rest := pem.Decode([]byte(s))
		if block == nil || (block.Type != "CERTIFICATE REQUEST" && block.Type != "NEW CERTIFICATE REQUEST") {
			return nil, errors.New("the csr is not a PEM CERTIFICATE REQUEST")
		}
		if len(strings.TrimSpace(string(rest))) != 0 {
			return nil, errors.New("the csr has data after its PEM block")
		}
		der = block.Bytes
	} else {
		var err error
		if der, err = decodeBase64(s); err != nil {
			return nil, errors.New("the csr is neither PEM nor base64 DER")
		}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		return nil, fmt.Errorf("the csr does not parse: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("the csr signature does not verify: %w", err)
	}
	if err := checkKey(csr.PublicKey, policy); err != nil {
		return nil, err
	}
	return csr.PublicKey, nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

func checkKey(pub crypto.PublicKey, policy keyPolicy) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 8192 {
			return fmt.Errorf("the csr has an RSA key of %d bits; want 2048 to 8192", n)
		}
		return nil
	case *ecdsa.PublicKey:
		if policy == identityKeys {
			return errors.New("identity certificates need an RSA key: the STS accepts PS256 and RS256 assertions")
		}
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return errors.New("the csr has an ECDSA key on an unsupported curve; want P-256 or P-384")
		}
		return nil
	case ed25519.PublicKey:
		if policy == identityKeys {
			return errors.New("identity certificates need an RSA key: the STS accepts PS256 and RS256 assertions")
		}
		return nil
	}
	return fmt.Errorf("the csr has an unsupported key type %T", pub)
}
