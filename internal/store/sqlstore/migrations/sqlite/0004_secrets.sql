-- Key Vault-compatible secrets (SQLite). Keep in step with
-- postgres/0004_secrets.sql. Conventions as in 0001_init.sql: *_key columns
-- hold the lower-cased lookup form, times are unix microseconds. Secret
-- values are stored only sealed under their vault's data key.

CREATE TABLE vaults (
	name_key         TEXT PRIMARY KEY,
	name             TEXT NOT NULL,
	resource_id      TEXT NOT NULL,
	tenant_id        TEXT NOT NULL,
	data_key_sealed  BLOB NOT NULL,
	retention_days   INTEGER NOT NULL,
	purge_protection BOOLEAN NOT NULL,
	created_at       INTEGER
);

CREATE TABLE secrets (
	vault_key          TEXT NOT NULL REFERENCES vaults (name_key) ON DELETE CASCADE,
	name_key           TEXT NOT NULL,
	name               TEXT NOT NULL,
	current_version    TEXT NOT NULL,
	deleted            BOOLEAN NOT NULL,
	deleted_at         INTEGER,
	scheduled_purge_at INTEGER,
	PRIMARY KEY (vault_key, name_key)
);
CREATE INDEX secrets_list ON secrets (vault_key, deleted, name_key);
CREATE INDEX secrets_purge_due ON secrets (deleted, scheduled_purge_at);

CREATE TABLE secret_versions (
	vault_key    TEXT NOT NULL,
	name_key     TEXT NOT NULL,
	version      TEXT NOT NULL,
	value_sealed BLOB NOT NULL,
	content_type TEXT NOT NULL,
	tags         TEXT NOT NULL,
	enabled      BOOLEAN NOT NULL,
	not_before   INTEGER,
	expires      INTEGER,
	created_at   INTEGER,
	updated_at   INTEGER,
	PRIMARY KEY (vault_key, name_key, version),
	FOREIGN KEY (vault_key, name_key) REFERENCES secrets (vault_key, name_key) ON DELETE CASCADE
);
