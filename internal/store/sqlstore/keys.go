package sqlstore

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

const signingKeyCols = `kid, private_key_sealed, public_key_der, certificate_der, publish_at, active_at, retired_at,
	unpublish_at, created_at`

func scanSigningKey(sc scanner) (store.SigningKey, error) {
	var v store.SigningKey
	var publish, active, retired, unpublish, created sql.NullInt64
	err := sc.Scan(&v.KID, &v.PrivateKeySealed, &v.PublicKeyDER, &v.CertificateDER,
		&publish, &active, &retired, &unpublish, &created)
	v.PublishAt, v.ActiveAt, v.RetiredAt = fromMicros(publish), fromMicros(active), fromMicros(retired)
	v.UnpublishAt, v.CreatedAt = fromMicros(unpublish), fromMicros(created)
	return v, err
}

func (t *tx) CreateSigningKey(v store.SigningKey) error {
	return t.insert("create signing key "+v.KID,
		`INSERT INTO signing_keys (kid, private_key_sealed, public_key_der, certificate_der, publish_at, active_at,
			retired_at, unpublish_at, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		v.KID, blob(v.PrivateKeySealed), blob(v.PublicKeyDER), blob(v.CertificateDER), micros(v.PublishAt),
		micros(v.ActiveAt), micros(v.RetiredAt), micros(v.UnpublishAt), micros(v.CreatedAt))
}

// UpdateSigningKey replaces every field of the key with the same KID (KIDs
// are compared exactly: they are opaque).
func (t *tx) UpdateSigningKey(v store.SigningKey) error {
	return t.affect("update signing key "+v.KID,
		`UPDATE signing_keys SET private_key_sealed = ?, public_key_der = ?, certificate_der = ?, publish_at = ?,
			active_at = ?, retired_at = ?, unpublish_at = ?, created_at = ?
		WHERE kid = ?`,
		blob(v.PrivateKeySealed), blob(v.PublicKeyDER), blob(v.CertificateDER), micros(v.PublishAt),
		micros(v.ActiveAt), micros(v.RetiredAt), micros(v.UnpublishAt), micros(v.CreatedAt), v.KID)
}

// ListSigningKeys lists every key, ordered by PublishAt, then KID.
func (t *tx) ListSigningKeys() ([]store.SigningKey, error) {
	return list(t, "list signing keys", scanSigningKey,
		"SELECT "+signingKeyCols+" FROM signing_keys ORDER BY publish_at, kid")
}

func (t *tx) DeleteSigningKey(kid string) error {
	return t.affect("delete signing key "+kid, "DELETE FROM signing_keys WHERE kid = ?", kid)
}

// MarkAssertionUsed records (issuer, jti) until expires. A marker whose
// expiry has passed is replaced in the same statement, so the check and the
// record are one atomic step on every backend: two concurrent presentations
// of one assertion cannot both succeed.
func (t *tx) MarkAssertionUsed(issuer, jti string, expires time.Time) error {
	what := "mark assertion used"
	// time.Now, not the database clock: callers' clocks (and synctest
	// bubbles in tests) decide what has expired.
	now := time.Now().UnixMicro()
	n, err := t.count(what,
		`INSERT INTO assertion_markers (issuer, jti, expires_at) VALUES (?, ?, ?)
		ON CONFLICT (issuer, jti) DO UPDATE SET expires_at = excluded.expires_at
		WHERE assertion_markers.expires_at <= ?`,
		issuer, jti, expires.UnixMicro(), now)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: assertion already presented: %w", what, store.ErrConflict)
	}
	return nil
}

// PruneAssertions deletes markers that expired before the given time.
func (t *tx) PruneAssertions(before time.Time) (int, error) {
	return t.count("prune assertions", "DELETE FROM assertion_markers WHERE expires_at < ?", before.UnixMicro())
}
