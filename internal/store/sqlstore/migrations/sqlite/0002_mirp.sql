-- MIRP, the identity resource provider (SQLite). Keep in step with
-- postgres/0002_mirp.sql. Conventions as in 0001_init.sql.

CREATE TABLE mirp_cas (
	id                 TEXT PRIMARY KEY,
	certificate_der    BLOB NOT NULL,
	private_key_sealed BLOB NOT NULL,
	not_before         INTEGER,
	not_after          INTEGER,
	created_at         INTEGER
);

-- Only a SHA-256 hash of each token is kept.
CREATE TABLE mirp_join_tokens (
	hash         BLOB PRIMARY KEY,
	resource_key TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	expires_at   INTEGER NOT NULL,
	created_at   INTEGER,
	used_at      INTEGER,
	node_id      TEXT NOT NULL
);
CREATE INDEX mirp_join_tokens_expiry ON mirp_join_tokens (expires_at);

CREATE TABLE mirp_nodes (
	id           TEXT PRIMARY KEY,
	resource_key TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	created_at   INTEGER,
	removed_at   INTEGER
);
CREATE INDEX mirp_nodes_resource ON mirp_nodes (resource_key, created_at);

CREATE TABLE mirp_issued_certificates (
	serial            TEXT PRIMARY KEY,
	kind              TEXT NOT NULL,
	node_id           TEXT NOT NULL REFERENCES mirp_nodes (id),
	principal_key     TEXT NOT NULL,
	principal_id      TEXT NOT NULL,
	credential_id     TEXT NOT NULL,
	thumbprint_sha256 BLOB,
	not_after         INTEGER,
	created_at        INTEGER,
	revoked_at        INTEGER
);
CREATE INDEX mirp_issued_node ON mirp_issued_certificates (node_id, created_at);
CREATE INDEX mirp_issued_principal ON mirp_issued_certificates (principal_key, created_at);
CREATE INDEX mirp_issued_not_after ON mirp_issued_certificates (not_after);
