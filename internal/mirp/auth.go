package mirp

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

// errNotANode is the one answer to every failed node authentication, so a
// caller learns nothing about which check failed; the cause is logged.
func errNotANode(cause error) *apiError {
	return newError(http.StatusUnauthorized, codeUnauthenticated,
		"A valid, unrevoked MIRP node client certificate is required.").with(cause)
}

// nodeOnly authenticates the caller as an active node before h runs: the
// TLS client certificate must chain to the MIRP CA (checked here, not only
// by the listener, which may be configured to let enrollment through), be
// a node certificate MIRP recorded and has not revoked, for a node that has
// not been removed.
func (s *Server) nodeOnly(h func(http.ResponseWriter, *http.Request, store.MIRPNode) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			return errNotANode(errors.New("no client certificate"))
		}
		a, err := s.authority(r.Context())
		if err != nil {
			return internalError(err)
		}
		leaf := r.TLS.PeerCertificates[0]
		// MIRP issues leaves directly under its root: intermediates the
		// client sends are ignored.
		if _, err := leaf.Verify(x509.VerifyOptions{
			Roots: a.roots, CurrentTime: s.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		}); err != nil {
			return errNotANode(fmt.Errorf("verify client certificate: %w", err))
		}
		nodeID, err := nodeIDOf(leaf)
		if err != nil {
			return errNotANode(err)
		}
		var node store.MIRPNode
		err = s.Store.Read(r.Context(), func(tx store.Tx) error {
			ic, err := tx.GetIssuedCertificate(serialKey(leaf.SerialNumber))
			if err != nil {
				return err
			}
			sum := sha256.Sum256(leaf.Raw)
			switch {
			case ic.Kind != store.IssuedNode || ic.NodeID != nodeID || !bytes.Equal(ic.ThumbprintSHA256, sum[:]):
				return errNotANode(fmt.Errorf("certificate %s does not match its issuance record", ic.Serial))
			case !ic.RevokedAt.IsZero():
				return errNotANode(fmt.Errorf("node certificate %s was revoked at %v", ic.Serial, ic.RevokedAt))
			}
			node, err = tx.GetMIRPNode(nodeID)
			if err != nil {
				return err
			}
			if !node.RemovedAt.IsZero() {
				return errNotANode(fmt.Errorf("node %s was removed at %v", nodeID, node.RemovedAt))
			}
			return nil
		})
		switch {
		case errors.Is(err, store.ErrNotFound):
			return errNotANode(err)
		case err != nil:
			return err
		}
		return h(w, r, node)
	}
}

// nodeIDOf reads the node id from a node certificate: its CN and its
// signet://node/{id} URI SAN must agree.
func nodeIDOf(cert *x509.Certificate) (string, error) {
	for _, u := range cert.URIs {
		if u.Scheme == "signet" && u.Host == "node" {
			id := strings.TrimPrefix(u.Path, "/")
			if id == "" || id != cert.Subject.CommonName {
				return "", errors.New("node certificate CN and URI SAN disagree")
			}
			return id, nil
		}
	}
	return "", errors.New("not a node certificate: no signet://node URI SAN")
}
