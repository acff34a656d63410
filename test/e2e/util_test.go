package e2e

import (
	"crypto/sha256"
	"crypto/x509"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/signet-platform/signet/internal/store"
)

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func toCerts(c *x509.Certificate) []*x509.Certificate { return []*x509.Certificate{c} }

func tokenOpts(scope string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{scope}}
}

type storeTx = store.Tx

// waitABit paces a retry loop that has its own bound.
func waitABit() { time.Sleep(100 * time.Millisecond) }
