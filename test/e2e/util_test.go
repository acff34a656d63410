package e2e

import (
	"crypto/sha256"
	"crypto/x509"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func toCerts(c *x509.Certificate) []*x509.Certificate { return []*x509.Certificate{c} }

func tokenOpts(scope string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{scope}}
}
