package sqlstore

import (
	"database/sql"
	"fmt"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Vaults, secrets and secret versions. Vault and secret names are compared
// case-insensitively (Key Vault's names are); versions are lower-case hex
// and compared exactly.

const defaultSecretLimit = 1000

const vaultCols = "name, resource_id, tenant_id, data_key_sealed, retention_days, purge_protection, created_at"

func scanVault(sc scanner) (store.Vault, error) {
	var v store.Vault
	var created sql.NullInt64
	err := sc.Scan(&v.Name, &v.ResourceID, &v.TenantID, &v.DataKeySealed, &v.RetentionDays, &v.PurgeProtection, &created)
	v.CreatedAt = fromMicros(created)
	return v, err
}

func (t *tx) CreateVault(v store.Vault) error {
	return t.changed(store.GenSecrets, t.insert("create vault "+v.Name,
		`INSERT INTO vaults (name_key, `+vaultCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		key(v.Name), v.Name, v.ResourceID, v.TenantID, v.DataKeySealed, v.RetentionDays, v.PurgeProtection, micros(v.CreatedAt)))
}

func (t *tx) UpdateVault(v store.Vault) error {
	return t.changed(store.GenSecrets, t.affect("update vault "+v.Name,
		`UPDATE vaults SET resource_id = ?, tenant_id = ?, retention_days = ?, purge_protection = ? WHERE name_key = ?`,
		v.ResourceID, v.TenantID, v.RetentionDays, v.PurgeProtection, key(v.Name)))
}

func (t *tx) GetVault(name string) (store.Vault, error) {
	return getOne(t, "get vault "+name, scanVault, "SELECT "+vaultCols+" FROM vaults WHERE name_key = ?", key(name))
}

// DeleteVault relies on the cascades: secrets reference their vault and
// versions their secret, so one statement removes everything.
func (t *tx) DeleteVault(name string) error {
	return t.changed(store.GenSecrets, t.affect("delete vault "+name, "DELETE FROM vaults WHERE name_key = ?", key(name)))
}

const secretCols = "vault_key, name, current_version, deleted_at, scheduled_purge_at"

func scanSecret(sc scanner) (store.Secret, error) {
	var v store.Secret
	var deleted, purge sql.NullInt64
	err := sc.Scan(&v.Vault, &v.Name, &v.CurrentVersion, &deleted, &purge)
	v.DeletedAt, v.ScheduledPurgeAt = fromMicros(deleted), fromMicros(purge)
	return v, err
}

func (t *tx) PutSecret(v store.Secret) error {
	what := "put secret " + v.Vault + "/" + v.Name
	_, err := t.exec(
		`INSERT INTO secrets (vault_key, name_key, name, current_version, deleted, deleted_at, scheduled_purge_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (vault_key, name_key) DO UPDATE SET name = excluded.name,
			current_version = excluded.current_version, deleted = excluded.deleted,
			deleted_at = excluded.deleted_at, scheduled_purge_at = excluded.scheduled_purge_at`,
		key(v.Vault), key(v.Name), v.Name, v.CurrentVersion, !v.DeletedAt.IsZero(), micros(v.DeletedAt), micros(v.ScheduledPurgeAt))
	return t.changed(store.GenSecrets, mapErr(err, what))
}

// The vault column reads back as its lookup key: vault names in secret and
// secret-version records are lower-case (vault names are DNS labels).
func (t *tx) GetSecret(vault, name string) (store.Secret, error) {
	return getOne(t, "get secret "+vault+"/"+name, scanSecret,
		"SELECT "+secretCols+" FROM secrets WHERE vault_key = ? AND name_key = ?", key(vault), key(name))
}

func (t *tx) ListSecrets(f store.SecretFilter) ([]store.Secret, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = defaultSecretLimit
	}
	return list(t, "list secrets", scanSecret,
		"SELECT "+secretCols+` FROM secrets WHERE vault_key = ? AND deleted = ? AND name_key > ?
		ORDER BY name_key LIMIT ?`, key(f.Vault), f.Deleted, key(f.After), limit)
}

func (t *tx) ListSecretsPurgeDue(before time.Time, limit int) ([]store.Secret, error) {
	if limit <= 0 {
		limit = defaultSecretLimit
	}
	return list(t, "list secrets due for purge", scanSecret,
		"SELECT "+secretCols+` FROM secrets WHERE deleted = ? AND scheduled_purge_at < ?
		ORDER BY scheduled_purge_at, vault_key, name_key LIMIT ?`, true, before.UnixMicro(), limit)
}

func (t *tx) PurgeSecret(vault, name string) error {
	return t.changed(store.GenSecrets, t.affect("purge secret "+vault+"/"+name,
		"DELETE FROM secrets WHERE vault_key = ? AND name_key = ?", key(vault), key(name)))
}

const secretVersionCols = "vault_key, name_key, version, value_sealed, content_type, tags, enabled, not_before, expires, created_at, updated_at"

// secretVersionSelect reads versions with their secret's name as set (the
// versions table keeps only its lookup key).
const secretVersionSelect = `SELECT v.vault_key, s.name, v.version, v.value_sealed, v.content_type, v.tags, v.enabled,
	v.not_before, v.expires, v.created_at, v.updated_at
	FROM secret_versions v JOIN secrets s ON s.vault_key = v.vault_key AND s.name_key = v.name_key`

func scanSecretVersion(sc scanner) (store.SecretVersion, error) {
	var v store.SecretVersion
	var tags string
	var nbf, exp, created, updated sql.NullInt64
	err := sc.Scan(&v.Vault, &v.Name, &v.Version, &v.ValueSealed, &v.ContentType, &tags, &v.Enabled, &nbf, &exp, &created, &updated)
	if err != nil {
		return v, err
	}
	v.NotBefore, v.Expires, v.CreatedAt, v.UpdatedAt = fromMicros(nbf), fromMicros(exp), fromMicros(created), fromMicros(updated)
	if err := fromJSON(tags, &v.Tags); err != nil {
		return v, fmt.Errorf("secret version tags: %w", err)
	}
	return v, nil
}

func (t *tx) CreateSecretVersion(v store.SecretVersion) error {
	tags, err := toJSON(v.Tags)
	if err != nil {
		return err
	}
	return t.changed(store.GenSecrets, t.insert("create secret version "+v.Vault+"/"+v.Name+"/"+v.Version,
		`INSERT INTO secret_versions (`+secretVersionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		key(v.Vault), key(v.Name), v.Version, v.ValueSealed, v.ContentType, tags, v.Enabled,
		micros(v.NotBefore), micros(v.Expires), micros(v.CreatedAt), micros(v.UpdatedAt)))
}

func (t *tx) UpdateSecretVersion(v store.SecretVersion) error {
	tags, err := toJSON(v.Tags)
	if err != nil {
		return err
	}
	return t.changed(store.GenSecrets, t.affect("update secret version "+v.Vault+"/"+v.Name+"/"+v.Version,
		`UPDATE secret_versions SET content_type = ?, tags = ?, enabled = ?, not_before = ?, expires = ?, updated_at = ?
		WHERE vault_key = ? AND name_key = ? AND version = ?`,
		v.ContentType, tags, v.Enabled, micros(v.NotBefore), micros(v.Expires), micros(v.UpdatedAt),
		key(v.Vault), key(v.Name), v.Version))
}

func (t *tx) GetSecretVersion(vault, name, version string) (store.SecretVersion, error) {
	return getOne(t, "get secret version "+vault+"/"+name+"/"+version, scanSecretVersion,
		secretVersionSelect+" WHERE v.vault_key = ? AND v.name_key = ? AND v.version = ?",
		key(vault), key(name), version)
}

func (t *tx) ListSecretVersions(vault, name, after string, limit int) ([]store.SecretVersion, error) {
	if limit <= 0 {
		limit = defaultSecretLimit
	}
	return list(t, "list secret versions", scanSecretVersion,
		secretVersionSelect+` WHERE v.vault_key = ? AND v.name_key = ? AND v.version > ?
		ORDER BY v.version LIMIT ?`, key(vault), key(name), after, limit)
}
