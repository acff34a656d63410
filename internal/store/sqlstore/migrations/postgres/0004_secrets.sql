-- Key Vault-compatible secrets (PostgreSQL). Keep in step with
-- sqlite/0004_secrets.sql. Conventions as in 0001_init.sql: *_key columns
-- hold the lower-cased lookup form, times are unix microseconds. Secret
-- values are stored only sealed under their vault's data key.

CREATE TABLE vaults (
	name_key         TEXT COLLATE "C" PRIMARY KEY,
	name             TEXT NOT NULL,
	resource_id      TEXT NOT NULL,
	tenant_id        TEXT NOT NULL,
	data_key_sealed  BYTEA NOT NULL,
	retention_days   BIGINT NOT NULL,
	purge_protection BOOLEAN NOT NULL,
	created_at       BIGINT
);

CREATE TABLE secrets (
	vault_key          TEXT COLLATE "C" NOT NULL REFERENCES vaults (name_key) ON DELETE CASCADE,
	name_key           TEXT COLLATE "C" NOT NULL,
	name               TEXT NOT NULL,
	current_version    TEXT NOT NULL,
	deleted            BOOLEAN NOT NULL,
	deleted_at         BIGINT,
	scheduled_purge_at BIGINT,
	PRIMARY KEY (vault_key, name_key)
);
CREATE INDEX secrets_list ON secrets (vault_key, deleted, name_key);
CREATE INDEX secrets_purge_due ON secrets (deleted, scheduled_purge_at);

CREATE TABLE secret_versions (
	vault_key    TEXT COLLATE "C" NOT NULL,
	name_key     TEXT COLLATE "C" NOT NULL,
	version      TEXT COLLATE "C" NOT NULL,
	value_sealed BYTEA NOT NULL,
	content_type TEXT NOT NULL,
	tags         TEXT NOT NULL,
	enabled      BOOLEAN NOT NULL,
	not_before   BIGINT,
	expires      BIGINT,
	created_at   BIGINT,
	updated_at   BIGINT,
	PRIMARY KEY (vault_key, name_key, version),
	FOREIGN KEY (vault_key, name_key) REFERENCES secrets (vault_key, name_key) ON DELETE CASCADE
);
