-- Blob storage (PostgreSQL). Keep in step with sqlite/0005_blobs.sql.
-- Conventions as in 0001_init.sql. Names compare by bytes (COLLATE "C").

CREATE TABLE blob_accounts (
	name         TEXT COLLATE "C" PRIMARY KEY,
	id           TEXT COLLATE "C" NOT NULL UNIQUE,
	resource_key TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	tenant_id    TEXT NOT NULL,
	key_sealed   BYTEA NOT NULL,
	created_at   BIGINT
);
CREATE INDEX blob_accounts_resource ON blob_accounts (resource_key);

CREATE TABLE blob_containers (
	account_id    TEXT COLLATE "C" NOT NULL REFERENCES blob_accounts (id) ON DELETE CASCADE,
	name          TEXT COLLATE "C" NOT NULL,
	metadata      TEXT NOT NULL,
	etag          TEXT NOT NULL,
	last_modified BIGINT,
	created_at    BIGINT,
	PRIMARY KEY (account_id, name)
);

CREATE TABLE blobs (
	account_id          TEXT COLLATE "C" NOT NULL,
	container           TEXT COLLATE "C" NOT NULL,
	name                TEXT COLLATE "C" NOT NULL,
	size                BIGINT NOT NULL,
	content_type        TEXT NOT NULL,
	content_encoding    TEXT NOT NULL,
	content_language    TEXT NOT NULL,
	content_disposition TEXT NOT NULL,
	cache_control       TEXT NOT NULL,
	content_md5         BYTEA,
	metadata            TEXT NOT NULL,
	etag                TEXT NOT NULL,
	created_at          BIGINT,
	last_modified       BIGINT,
	extents             TEXT NOT NULL,
	PRIMARY KEY (account_id, container, name),
	FOREIGN KEY (account_id, container) REFERENCES blob_containers (account_id, name) ON DELETE CASCADE
);

CREATE TABLE blob_uncommitted_blocks (
	account_id TEXT COLLATE "C" NOT NULL,
	container  TEXT COLLATE "C" NOT NULL,
	blob       TEXT COLLATE "C" NOT NULL,
	block_id   TEXT COLLATE "C" NOT NULL,
	file_id    TEXT NOT NULL,
	size       BIGINT NOT NULL,
	created_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, container, blob, block_id),
	FOREIGN KEY (account_id, container) REFERENCES blob_containers (account_id, name) ON DELETE CASCADE
);
CREATE INDEX blob_uncommitted_created ON blob_uncommitted_blocks (created_at);
