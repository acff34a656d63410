package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// MIRP's records. Node ids, serials and CA ids are opaque and compared
// exactly; resource and principal ids are compared case-insensitively.

func scanMIRPCA(sc scanner) (store.MIRPCA, error) {
	var v store.MIRPCA
	var nb, na, created sql.NullInt64
	err := sc.Scan(&v.ID, &v.CertificateDER, &v.PrivateKeySealed, &nb, &na, &created)
	v.NotBefore, v.NotAfter, v.CreatedAt = fromMicros(nb), fromMicros(na), fromMicros(created)
	return v, err
}

func (t *tx) CreateMIRPCA(v store.MIRPCA) error {
	return t.insert("create MIRP CA "+v.ID,
		`INSERT INTO mirp_cas (id, certificate_der, private_key_sealed, not_before, not_after, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.ID, v.CertificateDER, v.PrivateKeySealed, micros(v.NotBefore), micros(v.NotAfter), micros(v.CreatedAt))
}

// ListMIRPCAs lists every CA ordered by NotBefore, then ID.
func (t *tx) ListMIRPCAs() ([]store.MIRPCA, error) {
	return list(t, "list MIRP CAs", scanMIRPCA,
		`SELECT id, certificate_der, private_key_sealed, not_before, not_after, created_at
		FROM mirp_cas ORDER BY not_before, id`)
}

const joinTokenCols = "hash, resource_id, expires_at, created_at, used_at, node_id"

func scanJoinToken(sc scanner) (store.JoinToken, error) {
	var v store.JoinToken
	var exp, created, used sql.NullInt64
	err := sc.Scan(&v.Hash, &v.ResourceID, &exp, &created, &used, &v.NodeID)
	v.ExpiresAt, v.CreatedAt, v.UsedAt = fromMicros(exp), fromMicros(created), fromMicros(used)
	return v, err
}

func (t *tx) CreateJoinToken(v store.JoinToken) error {
	if len(v.Hash) == 0 {
		return errors.New("create join token: empty hash")
	}
	return t.insert("create join token",
		`INSERT INTO mirp_join_tokens (hash, resource_key, resource_id, expires_at, created_at, used_at, node_id)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.Hash, key(v.ResourceID), v.ResourceID, v.ExpiresAt.UnixMicro(), micros(v.CreatedAt), micros(v.UsedAt), v.NodeID)
}

// ConsumeJoinToken is one conditional UPDATE: the row changes only while it
// is unused and unexpired, so of two concurrent consumers (in SQLite's
// serialized writers or PostgreSQL's row lock) exactly one sees a change.
func (t *tx) ConsumeJoinToken(hash []byte, nodeID string, now time.Time) (store.JoinToken, error) {
	what := "consume join token"
	n, err := t.count(what,
		`UPDATE mirp_join_tokens SET used_at = ?, node_id = ?
		WHERE hash = ? AND used_at IS NULL AND expires_at > ?`,
		now.UnixMicro(), nodeID, hash, now.UnixMicro())
	if err != nil {
		return store.JoinToken{}, err
	}
	v, err := getOne(t, what, scanJoinToken, "SELECT "+joinTokenCols+" FROM mirp_join_tokens WHERE hash = ?", hash)
	if err != nil {
		return store.JoinToken{}, err
	}
	if n == 0 {
		return v, fmt.Errorf("%s: already used or expired: %w", what, store.ErrConflict)
	}
	return v, nil
}

func (t *tx) PruneJoinTokens(before time.Time) (int, error) {
	return t.count("prune join tokens", "DELETE FROM mirp_join_tokens WHERE expires_at < ?", before.UnixMicro())
}

const nodeCols = "id, resource_id, created_at, removed_at"

func scanMIRPNode(sc scanner) (store.MIRPNode, error) {
	var v store.MIRPNode
	var created, removed sql.NullInt64
	err := sc.Scan(&v.ID, &v.ResourceID, &created, &removed)
	v.CreatedAt, v.RemovedAt = fromMicros(created), fromMicros(removed)
	return v, err
}

func (t *tx) CreateMIRPNode(v store.MIRPNode) error {
	return t.insert("create node "+v.ID,
		`INSERT INTO mirp_nodes (id, resource_key, resource_id, created_at, removed_at)
		VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.ID, key(v.ResourceID), v.ResourceID, micros(v.CreatedAt), micros(v.RemovedAt))
}

func (t *tx) GetMIRPNode(id string) (store.MIRPNode, error) {
	return getOne(t, "get node "+id, scanMIRPNode, "SELECT "+nodeCols+" FROM mirp_nodes WHERE id = ?", id)
}

func (t *tx) ListMIRPNodes(resourceID string) ([]store.MIRPNode, error) {
	if resourceID == "" {
		return list(t, "list nodes", scanMIRPNode, "SELECT "+nodeCols+" FROM mirp_nodes ORDER BY created_at, id")
	}
	return list(t, "list nodes", scanMIRPNode,
		"SELECT "+nodeCols+" FROM mirp_nodes WHERE resource_key = ? ORDER BY created_at, id", key(resourceID))
}

func (t *tx) MarkMIRPNodeRemoved(id string, at time.Time) error {
	what := "remove node " + id
	n, err := t.count(what, "UPDATE mirp_nodes SET removed_at = ? WHERE id = ? AND removed_at IS NULL", at.UnixMicro(), id)
	if err != nil || n > 0 {
		return err
	}
	_, err = t.GetMIRPNode(id) // already removed (nil) or missing (ErrNotFound)
	return err
}

const issuedCols = `serial, kind, node_id, principal_id, credential_id, thumbprint_sha256, not_after, created_at,
	revoked_at`

func scanIssued(sc scanner) (store.IssuedCertificate, error) {
	var v store.IssuedCertificate
	var kind string
	var na, created, revoked sql.NullInt64
	err := sc.Scan(&v.Serial, &kind, &v.NodeID, &v.PrincipalID, &v.CredentialID, &v.ThumbprintSHA256,
		&na, &created, &revoked)
	v.Kind = store.IssuedCertKind(kind)
	v.NotAfter, v.CreatedAt, v.RevokedAt = fromMicros(na), fromMicros(created), fromMicros(revoked)
	return v, err
}

func (t *tx) CreateIssuedCertificate(v store.IssuedCertificate) error {
	return t.insert("create issued certificate "+v.Serial,
		`INSERT INTO mirp_issued_certificates (serial, kind, node_id, principal_key, principal_id, credential_id,
			thumbprint_sha256, not_after, created_at, revoked_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.Serial, string(v.Kind), v.NodeID, key(v.PrincipalID), v.PrincipalID, v.CredentialID,
		blob(v.ThumbprintSHA256), micros(v.NotAfter), micros(v.CreatedAt), micros(v.RevokedAt))
}

func (t *tx) GetIssuedCertificate(serial string) (store.IssuedCertificate, error) {
	return getOne(t, "get issued certificate "+serial, scanIssued,
		"SELECT "+issuedCols+" FROM mirp_issued_certificates WHERE serial = ?", serial)
}

func (t *tx) ListIssuedCertificates(f store.IssuedCertificateFilter) ([]store.IssuedCertificate, error) {
	var where []string
	var args []any
	if f.Kind != "" {
		where, args = append(where, "kind = ?"), append(args, string(f.Kind))
	}
	if f.NodeID != "" {
		where, args = append(where, "node_id = ?"), append(args, f.NodeID)
	}
	if f.PrincipalID != "" {
		where, args = append(where, "principal_key = ?"), append(args, key(f.PrincipalID))
	}
	if f.Active {
		where = append(where, "revoked_at IS NULL")
	}
	q := "SELECT " + issuedCols + " FROM mirp_issued_certificates"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return list(t, "list issued certificates", scanIssued, q+" ORDER BY created_at, serial", args...)
}

func (t *tx) RevokeIssuedCertificate(serial string, at time.Time) error {
	what := "revoke issued certificate " + serial
	n, err := t.count(what, "UPDATE mirp_issued_certificates SET revoked_at = ? WHERE serial = ? AND revoked_at IS NULL",
		at.UnixMicro(), serial)
	if err != nil || n > 0 {
		return err
	}
	_, err = t.GetIssuedCertificate(serial)
	return err
}

func (t *tx) PruneIssuedCertificates(before time.Time) (int, error) {
	return t.count("prune issued certificates", "DELETE FROM mirp_issued_certificates WHERE not_after < ?",
		before.UnixMicro())
}
