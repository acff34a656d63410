package mirp

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/store"
)

// Host resource types a node can be bound to.
const (
	typeVM      = "Microsoft.Compute/virtualMachines"
	typeMachine = "Microsoft.HybridCompute/machines"
	typeSite    = "Microsoft.Web/sites"
)

// MaxJoinTokenTTL bounds how long a join token may stay usable: it is a
// bearer secret that buys a node identity.
const MaxJoinTokenTTL = 30 * 24 * time.Hour

// Errors CreateJoinToken returns for a request it refuses. An unknown
// resource is store.ErrNotFound.
var (
	ErrNotHost    = errors.New("mirp: the resource is not a virtual machine or hybrid machine")
	ErrInvalidTTL = fmt.Errorf("mirp: the join token lifetime must be positive and at most %v", MaxJoinTokenTTL)
)

func isHostType(typ string) bool {
	return strings.EqualFold(typ, typeVM) || strings.EqualFold(typ, typeMachine)
}

func hashJoinToken(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// CreateJoinToken makes a one-time token that enrolls one node for the host
// resource resourceID until it expires ttl from now. Only its hash is
// stored: the token is shown once, to the operator.
func (s *Server) CreateJoinToken(ctx context.Context, resourceID string, ttl time.Duration) (token string, expires time.Time, err error) {
	if ttl <= 0 || ttl > MaxJoinTokenTTL {
		return "", time.Time{}, ErrInvalidTTL
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", time.Time{}, fmt.Errorf("mirp: join token: %w", err)
	}
	token = base64.RawURLEncoding.EncodeToString(raw)
	now := s.now()
	expires = now.Add(ttl)
	err = s.Store.Write(ctx, func(tx store.Tx) error {
		res, err := tx.GetResource(resourceID)
		if err != nil {
			return err
		}
		if !isHostType(res.Type) {
			return fmt.Errorf("%w: %s is a %s", ErrNotHost, res.ID, res.Type)
		}
		return tx.CreateJoinToken(store.JoinToken{
			Hash: hashJoinToken(token), ResourceID: res.ID, ExpiresAt: expires, CreatedAt: now,
		})
	})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("mirp: create join token for %s: %w", resourceID, err)
	}
	s.logger().Info("mirp: join token created", "resource_id", resourceID, "expires", expires)
	return token, expires, nil
}

type enrollRequest struct {
	JoinToken string `json:"joinToken"`
	CSR       string `json:"csr"`
}

// enroll trades a join token and a CSR for a node certificate. It needs no
// client certificate: the token is the proof. Consuming the token, creating
// the node and recording its certificate are one transaction, so a failure
// leaves the token usable and two uses cannot both succeed.
func (s *Server) enroll(w http.ResponseWriter, r *http.Request) error {
	var req enrollRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	pub, err := parseCSR(req.CSR, nodeKeys)
	if err != nil {
		return newError(http.StatusBadRequest, codeBadRequest, "Invalid csr: "+err.Error())
	}
	invalid := newError(http.StatusUnauthorized, codeInvalidJoinToken, "The join token is unknown, used or expired.")
	if req.JoinToken == "" || len(req.JoinToken) > 256 {
		return invalid
	}
	a, err := s.authority(r.Context())
	if err != nil {
		return internalError(err)
	}
	now := s.now()
	nodeID := uuid.NewString()
	var iss issued
	err = s.Store.Write(r.Context(), func(tx store.Tx) error {
		tok, err := tx.ConsumeJoinToken(hashJoinToken(req.JoinToken), nodeID, now)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return invalid.with(errors.New("unknown join token"))
		case errors.Is(err, store.ErrConflict) && !tok.UsedAt.IsZero():
			return invalid.with(fmt.Errorf("join token for %s already used by node %s", tok.ResourceID, tok.NodeID))
		case errors.Is(err, store.ErrConflict):
			return invalid.with(fmt.Errorf("join token for %s expired at %v", tok.ResourceID, tok.ExpiresAt))
		case err != nil:
			return err
		}
		host, err := tx.GetResource(tok.ResourceID)
		if errors.Is(err, store.ErrNotFound) {
			return newError(http.StatusConflict, codeInvalidJoinToken,
				"The resource the join token is bound to no longer exists.").with(err)
		}
		if err != nil {
			return err
		}
		// One active node per host: a re-enrolled host (reinstalled, disk
		// lost) must not leave the old node able to get credentials.
		nodes, err := tx.ListMIRPNodes(host.ID)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if n.RemovedAt.IsZero() {
				if _, err := removeNodeTx(tx, n.ID, now); err != nil {
					return err
				}
			}
		}
		if err := tx.CreateMIRPNode(store.MIRPNode{ID: nodeID, ResourceID: host.ID, CreatedAt: now}); err != nil {
			return err
		}
		iss, err = a.sign(leaf{cn: nodeID, uris: nodeURIs(nodeID, host.ID), pub: pub, lifetime: s.nodeLifetime()}, now)
		if err != nil {
			return err
		}
		return tx.CreateIssuedCertificate(store.IssuedCertificate{Serial: iss.serial, Kind: store.IssuedNode,
			NodeID: nodeID, ThumbprintSHA256: iss.thumbprint, NotAfter: iss.cert.NotAfter, CreatedAt: now})
	})
	if err != nil {
		return err
	}
	s.logger().Info("mirp: node enrolled", "node_id", nodeID, "serial", iss.serial)
	writeJSON(w, http.StatusOK, certificateResponse{NodeID: nodeID, Certificate: certPEM(iss.cert.Raw),
		CACertificates: string(a.rootPEM)})
	return nil
}

func nodeURIs(nodeID, resourceID string) []*url.URL {
	return []*url.URL{nodeURI(nodeID), resourceURI(resourceID)}
}

// renewNode issues a fresh node certificate to an authenticated node. The
// certificate it replaces stays valid until it expires: revoking it here
// would lock the node out if this response were lost on the way.
func (s *Server) renewNode(w http.ResponseWriter, r *http.Request, node store.MIRPNode) error {
	var req csrRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	pub, err := parseCSR(req.CSR, nodeKeys)
	if err != nil {
		return newError(http.StatusBadRequest, codeBadRequest, "Invalid csr: "+err.Error())
	}
	a, err := s.authority(r.Context())
	if err != nil {
		return internalError(err)
	}
	now := s.now()
	var iss issued
	err = s.Store.Write(r.Context(), func(tx store.Tx) error {
		// Re-read inside the write: a concurrent RemoveNode either sees this
		// certificate or makes this fail.
		n, err := tx.GetMIRPNode(node.ID)
		if err != nil {
			return err
		}
		if !n.RemovedAt.IsZero() {
			return errNotANode(fmt.Errorf("node %s was removed", n.ID))
		}
		iss, err = a.sign(leaf{cn: n.ID, uris: nodeURIs(n.ID, n.ResourceID), pub: pub, lifetime: s.nodeLifetime()}, now)
		if err != nil {
			return err
		}
		return tx.CreateIssuedCertificate(store.IssuedCertificate{Serial: iss.serial, Kind: store.IssuedNode,
			NodeID: n.ID, ThumbprintSHA256: iss.thumbprint, NotAfter: iss.cert.NotAfter, CreatedAt: now})
	})
	if err != nil {
		return err
	}
	s.logger().Info("mirp: node certificate renewed", "node_id", node.ID, "serial", iss.serial)
	writeJSON(w, http.StatusOK, certificateResponse{NodeID: node.ID, Certificate: certPEM(iss.cert.Raw),
		CACertificates: string(a.rootPEM)})
	return nil
}
