package mirp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// pruneGrace is how long records of expired certificates and join tokens
// are kept before Run deletes them, for operators looking into a failure.
const pruneGrace = 24 * time.Hour

// revokeTx revokes one issued certificate: the credential the STS would
// accept goes first, so the certificate stops working in this transaction.
func revokeTx(tx store.Tx, c store.IssuedCertificate, now time.Time) error {
	if c.CredentialID != "" {
		// Already gone when the principal was deleted (with its credentials).
		if err := tx.DeleteCredential(c.CredentialID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("mirp: delete credential %s: %w", c.CredentialID, err)
		}
	}
	if err := tx.RevokeIssuedCertificate(c.Serial, now); err != nil {
		return fmt.Errorf("mirp: revoke certificate %s: %w", c.Serial, err)
	}
	return nil
}

// removeNodeTx marks a node removed and revokes every certificate issued to
// it, node and identity alike. It returns how many it revoked.
func removeNodeTx(tx store.Tx, nodeID string, now time.Time) (int, error) {
	if err := tx.MarkMIRPNodeRemoved(nodeID, now); err != nil {
		return 0, err
	}
	certs, err := tx.ListIssuedCertificates(store.IssuedCertificateFilter{NodeID: nodeID, Active: true})
	if err != nil {
		return 0, err
	}
	for _, c := range certs {
		if err := revokeTx(tx, c, now); err != nil {
			return 0, err
		}
	}
	return len(certs), nil
}

// RevokeUnassigned revokes, inside the caller's transaction, every issued
// certificate that is no longer entitled: identity certificates whose
// identity is no longer assigned to the node's host or to an app placed on
// it (or whose principal is gone), and everything issued to a node whose
// host resource was deleted, which is then removed. It returns how many
// certificates it revoked.
//
// The control plane calls it in every write that changes an identity
// block, a placement or a resource's existence, so revocation takes effect
// in the same commit; Server.Run calls it periodically as a safety net.
func RevokeUnassigned(tx store.Tx, now time.Time) (int, error) {
	nodes, err := tx.ListMIRPNodes("")
	if err != nil {
		return 0, fmt.Errorf("mirp: list nodes: %w", err)
	}
	revoked := 0
	byID := make(map[string]store.MIRPNode, len(nodes))
	for _, n := range nodes {
		if n.RemovedAt.IsZero() {
			_, err := tx.GetResource(n.ResourceID)
			if errors.Is(err, store.ErrNotFound) {
				k, err := removeNodeTx(tx, n.ID, now)
				if err != nil {
					return revoked, err
				}
				revoked += k
				n.RemovedAt = now
			} else if err != nil {
				return revoked, err
			}
		}
		byID[n.ID] = n
	}
	certs, err := tx.ListIssuedCertificates(store.IssuedCertificateFilter{Kind: store.IssuedIdentity, Active: true})
	if err != nil {
		return revoked, fmt.Errorf("mirp: list issued certificates: %w", err)
	}
	entitled := map[string]map[string]bool{} // node id → principal ids
	for _, c := range certs {
		allowed, ok := entitled[c.NodeID]
		if !ok {
			allowed = map[string]bool{}
			if n, ok := byID[c.NodeID]; ok {
				ids, err := entitledIdentities(tx, n)
				if err != nil {
					return revoked, fmt.Errorf("mirp: identities of node %s: %w", c.NodeID, err)
				}
				for _, id := range ids {
					allowed[id.ObjectID] = true
				}
			}
			entitled[c.NodeID] = allowed
		}
		if allowed[c.PrincipalID] {
			continue
		}
		if err := revokeTx(tx, c, now); err != nil {
			return revoked, err
		}
		revoked++
	}
	return revoked, nil
}

// ListNodes lists every node, removed ones included, oldest first.
func (s *Server) ListNodes(ctx context.Context) ([]store.MIRPNode, error) {
	var nodes []store.MIRPNode
	err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		nodes, err = tx.ListMIRPNodes("")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mirp: list nodes: %w", err)
	}
	return nodes, nil
}

// RemoveNode removes a node: its certificate and every identity
// certificate issued to it are revoked at once (their credentials deleted).
// Removing a removed node revokes anything left and is not an error; an
// unknown node is store.ErrNotFound.
func (s *Server) RemoveNode(ctx context.Context, nodeID string) error {
	now := s.now()
	var n int
	err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
		n, err = removeNodeTx(tx, nodeID, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("mirp: remove node %s: %w", nodeID, err)
	}
	s.logger().Info("mirp: node removed", "node_id", nodeID, "revoked", n)
	return nil
}

// Run reconciles until ctx ends: it revokes what is no longer entitled and
// prunes expired records. The control plane's own call to RevokeUnassigned
// makes revocation immediate; this catches any write path that missed it.
func (s *Server) Run(ctx context.Context) error {
	interval := s.ReconcileInterval
	if interval <= 0 {
		interval = DefaultReconcileInterval
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := s.Reconcile(ctx); err != nil && ctx.Err() == nil {
			s.logger().Error("mirp: reconcile failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Reconcile is one pass of Run.
func (s *Server) Reconcile(ctx context.Context) error {
	now := s.now()
	var revoked, pruned int
	err := s.Store.Write(ctx, func(tx store.Tx) (err error) {
		if revoked, err = RevokeUnassigned(tx, now); err != nil {
			return err
		}
		if _, err = tx.PruneJoinTokens(now.Add(-pruneGrace)); err != nil {
			return err
		}
		// An expired identity certificate's credential is refused by the STS
		// already; delete it with the record.
		certs, err := tx.ListIssuedCertificates(store.IssuedCertificateFilter{Kind: store.IssuedIdentity, Active: true})
		if err != nil {
			return err
		}
		for _, c := range certs {
			if c.NotAfter.Before(now.Add(-pruneGrace)) {
				if err := revokeTx(tx, c, now); err != nil {
					return err
				}
			}
		}
		pruned, err = tx.PruneIssuedCertificates(now.Add(-pruneGrace))
		return err
	})
	if err != nil {
		return fmt.Errorf("mirp: reconcile: %w", err)
	}
	if revoked > 0 || pruned > 0 {
		s.logger().Info("mirp: reconciled", "revoked", revoked, "pruned", pruned)
	}
	return nil
}
