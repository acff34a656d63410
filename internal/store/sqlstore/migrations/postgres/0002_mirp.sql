-- MIRP, the identity resource provider (PostgreSQL). Keep in step with
-- sqlite/0002_mirp.sql. Conventions as in 0001_init.sql.

CREATE TABLE mirp_cas (
	id                 TEXT COLLATE "C" PRIMARY KEY,
	certificate_der    BYTEA NOT NULL,
	private_key_sealed BYTEA NOT NULL,
	not_before         BIGINT,
	not_after          BIGINT,
	created_at         BIGINT
);

-- Only a SHA-256 hash of each token is kept.
CREATE TABLE mirp_join_tokens (
	hash         BYTEA PRIMARY KEY,
	resource_key TEXT COLLATE "C" NOT NULL,
	resource_id  TEXT NOT NULL,
	expires_at   BIGINT NOT NULL,
	created_at   BIGINT,
	used_at      BIGINT,
	node_id      TEXT NOT NULL
);
CREATE INDEX mirp_join_tokens_expiry ON mirp_join_tokens (expires_at);

CREATE TABLE mirp_nodes (
	id           TEXT COLLATE "C" PRIMARY KEY,
	resource_key TEXT COLLATE "C" NOT NULL,
	resource_id  TEXT NOT NULL,
	created_at   BIGINT,
	removed_at   BIGINT
);
CREATE INDEX mirp_nodes_resource ON mirp_nodes (resource_key, created_at);

CREATE TABLE mirp_issued_certificates (
	serial            TEXT COLLATE "C" PRIMARY KEY,
	kind              TEXT NOT NULL,
	node_id           TEXT COLLATE "C" NOT NULL REFERENCES mirp_nodes (id),
	principal_key     TEXT COLLATE "C" NOT NULL,
	principal_id      TEXT NOT NULL,
	credential_id     TEXT NOT NULL,
	thumbprint_sha256 BYTEA,
	not_after         BIGINT,
	created_at        BIGINT,
	revoked_at        BIGINT
);
CREATE INDEX mirp_issued_node ON mirp_issued_certificates (node_id, created_at);
CREATE INDEX mirp_issued_principal ON mirp_issued_certificates (principal_key, created_at);
CREATE INDEX mirp_issued_not_after ON mirp_issued_certificates (not_after);
