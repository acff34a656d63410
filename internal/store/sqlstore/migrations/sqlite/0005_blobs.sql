-- Blob storage (SQLite). Keep in step with postgres/0005_blobs.sql.
-- Conventions as in 0001_init.sql. Names compare by bytes (BINARY).

CREATE TABLE blob_accounts (
	name         TEXT PRIMARY KEY,
	id           TEXT NOT NULL UNIQUE,
	resource_key TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	tenant_id    TEXT NOT NULL,
	key_sealed   BLOB NOT NULL,
	created_at   INTEGER
);
CREATE INDEX blob_accounts_resource ON blob_accounts (resource_key);

CREATE TABLE blob_containers (
	account_id    TEXT NOT NULL REFERENCES blob_accounts (id) ON DELETE CASCADE,
	name          TEXT NOT NULL,
	metadata      TEXT NOT NULL,
	etag          TEXT NOT NULL,
	last_modified INTEGER,
	created_at    INTEGER,
	PRIMARY KEY (account_id, name)
);

CREATE TABLE blobs (
	account_id          TEXT NOT NULL,
	container           TEXT NOT NULL,
	name                TEXT NOT NULL,
	size                INTEGER NOT NULL,
	content_type        TEXT NOT NULL,
	content_encoding    TEXT NOT NULL,
	content_language    TEXT NOT NULL,
	content_disposition TEXT NOT NULL,
	cache_control       TEXT NOT NULL,
	content_md5         BLOB,
	metadata            TEXT NOT NULL,
	etag                TEXT NOT NULL,
	created_at          INTEGER,
	last_modified       INTEGER,
	extents             TEXT NOT NULL,
	PRIMARY KEY (account_id, container, name),
	FOREIGN KEY (account_id, container) REFERENCES blob_containers (account_id, name) ON DELETE CASCADE
);

CREATE TABLE blob_uncommitted_blocks (
	account_id TEXT NOT NULL,
	container  TEXT NOT NULL,
	blob       TEXT NOT NULL,
	block_id   TEXT NOT NULL,
	file_id    TEXT NOT NULL,
	size       INTEGER NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, container, blob, block_id),
	FOREIGN KEY (account_id, container) REFERENCES blob_containers (account_id, name) ON DELETE CASCADE
);
CREATE INDEX blob_uncommitted_created ON blob_uncommitted_blocks (created_at);
