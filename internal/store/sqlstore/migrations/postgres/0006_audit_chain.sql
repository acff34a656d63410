-- Tamper evidence for the audit logs (PostgreSQL). Keep in step with
-- sqlite/0006_audit_chain.sql.
--
-- Every record of a stream gets a sequence number and a hash chained to the
-- previous record of its stream:
--   hash = SHA-256(prev_hash || field(stream) || field(seq) || field(col)...)
-- where field(x) is x's decimal or UTF-8 text prefixed by its byte length as
-- a big-endian int64 (signet_audit_field below; sqlstore/audit_chain.go has
-- the column lists and the Go side, which must agree byte for byte).
-- audit_heads holds each stream's last sequence number and hash (the row
-- appenders lock with SELECT ... FOR UPDATE) and the checkpoint of the last
-- record retention deleted. Existing rows are numbered and hashed in
-- (time, id) order.

CREATE FUNCTION signet_audit_field(v TEXT) RETURNS BYTEA LANGUAGE sql IMMUTABLE STRICT AS $$
	SELECT int8send(octet_length(convert_to(v, 'UTF8'))::BIGINT) || convert_to(v, 'UTF8')
$$;

-- access_log (0003) was created without byte-wise collation; listing pages
-- through (time, id) and scope prefixes are byte ranges, so compare bytes
-- as the other logs (and SQLite) do.
ALTER TABLE access_log
	ALTER COLUMN id TYPE TEXT COLLATE "C",
	ALTER COLUMN tenant_key TYPE TEXT COLLATE "C",
	ALTER COLUMN caller_key TYPE TEXT COLLATE "C",
	ALTER COLUMN resource_key TYPE TEXT COLLATE "C";

ALTER TABLE sign_ins ADD COLUMN seq BIGINT, ADD COLUMN prev_hash BYTEA, ADD COLUMN hash BYTEA;
ALTER TABLE activity ADD COLUMN seq BIGINT, ADD COLUMN prev_hash BYTEA, ADD COLUMN hash BYTEA,
	ADD COLUMN resource_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE access_log ADD COLUMN seq BIGINT, ADD COLUMN prev_hash BYTEA, ADD COLUMN hash BYTEA;

UPDATE activity SET resource_key = lower(resource_id);

UPDATE sign_ins SET seq = n.rn
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY time, id) AS rn FROM sign_ins) AS n WHERE sign_ins.id = n.id;
UPDATE activity SET seq = n.rn
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY time, id) AS rn FROM activity) AS n WHERE activity.id = n.id;
UPDATE access_log SET seq = n.rn
FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY time, id) AS rn FROM access_log) AS n WHERE access_log.id = n.id;

CREATE UNIQUE INDEX sign_ins_seq ON sign_ins (seq);
CREATE UNIQUE INDEX activity_seq ON activity (seq);
CREATE UNIQUE INDEX access_log_seq ON access_log (seq);

WITH RECURSIVE chain (seq, prev, hash) AS (
	SELECT 0::BIGINT, NULL::BYTEA, decode(repeat('00', 32), 'hex')
	UNION ALL
	SELECT s.seq, chain.hash, sha256(chain.hash || signet_audit_field('signins') || signet_audit_field(s.seq::TEXT)
		|| signet_audit_field(s.id) || signet_audit_field(s.time::TEXT) || signet_audit_field(s.tenant_id)
		|| signet_audit_field(s.principal_id) || signet_audit_field(s.client_id) || signet_audit_field(s.resource)
		|| signet_audit_field(s.result) || signet_audit_field(s.error_code) || signet_audit_field(s.reason)
		|| signet_audit_field(s.caller_address) || signet_audit_field(s.credential_type)
		|| signet_audit_field(s.token_id))
	FROM chain JOIN sign_ins AS s ON s.seq = chain.seq + 1
)
UPDATE sign_ins SET prev_hash = chain.prev, hash = chain.hash FROM chain WHERE sign_ins.seq = chain.seq;

WITH RECURSIVE chain (seq, prev, hash) AS (
	SELECT 0::BIGINT, NULL::BYTEA, decode(repeat('00', 32), 'hex')
	UNION ALL
	SELECT s.seq, chain.hash, sha256(chain.hash || signet_audit_field('activity') || signet_audit_field(s.seq::TEXT)
		|| signet_audit_field(s.id) || signet_audit_field(s.time::TEXT) || signet_audit_field(s.tenant_id)
		|| signet_audit_field(s.caller_id) || signet_audit_field(s.operation) || signet_audit_field(s.resource_id)
		|| signet_audit_field(s.result) || signet_audit_field(s.status::TEXT) || signet_audit_field(s.message)
		|| signet_audit_field(s.caller_address))
	FROM chain JOIN activity AS s ON s.seq = chain.seq + 1
)
UPDATE activity SET prev_hash = chain.prev, hash = chain.hash FROM chain WHERE activity.seq = chain.seq;

WITH RECURSIVE chain (seq, prev, hash) AS (
	SELECT 0::BIGINT, NULL::BYTEA, decode(repeat('00', 32), 'hex')
	UNION ALL
	SELECT s.seq, chain.hash, sha256(chain.hash || signet_audit_field('access') || signet_audit_field(s.seq::TEXT)
		|| signet_audit_field(s.id) || signet_audit_field(s.time::TEXT) || signet_audit_field(s.tenant_id)
		|| signet_audit_field(s.caller_id) || signet_audit_field(s.client_id) || signet_audit_field(s.service)
		|| signet_audit_field(s.resource_id) || signet_audit_field(s.item) || signet_audit_field(s.action)
		|| signet_audit_field(s.result) || signet_audit_field(s.status::TEXT) || signet_audit_field(s.error_code)
		|| signet_audit_field(s.caller_address) || signet_audit_field(s.token_id))
	FROM chain JOIN access_log AS s ON s.seq = chain.seq + 1
)
UPDATE access_log SET prev_hash = chain.prev, hash = chain.hash FROM chain WHERE access_log.seq = chain.seq;

CREATE TABLE audit_heads (
	stream      TEXT COLLATE "C" PRIMARY KEY,
	seq         BIGINT NOT NULL, -- the last record's sequence number, 0 when none yet
	hash        BYTEA NOT NULL,  -- the last record's hash (32 zero bytes when none)
	pruned_seq  BIGINT NOT NULL, -- the last record retention deleted, 0 when none
	pruned_hash BYTEA NOT NULL   -- its hash: the prev_hash the oldest kept record must carry
);
INSERT INTO audit_heads (stream, seq, hash, pruned_seq, pruned_hash)
SELECT 'signins', COALESCE(MAX(seq), 0),
	COALESCE((SELECT hash FROM sign_ins WHERE seq = (SELECT MAX(seq) FROM sign_ins)), decode(repeat('00', 32), 'hex')),
	0, decode(repeat('00', 32), 'hex')
FROM sign_ins;
INSERT INTO audit_heads (stream, seq, hash, pruned_seq, pruned_hash)
SELECT 'activity', COALESCE(MAX(seq), 0),
	COALESCE((SELECT hash FROM activity WHERE seq = (SELECT MAX(seq) FROM activity)), decode(repeat('00', 32), 'hex')),
	0, decode(repeat('00', 32), 'hex')
FROM activity;
INSERT INTO audit_heads (stream, seq, hash, pruned_seq, pruned_hash)
SELECT 'access', COALESCE(MAX(seq), 0),
	COALESCE((SELECT hash FROM access_log WHERE seq = (SELECT MAX(seq) FROM access_log)), decode(repeat('00', 32), 'hex')),
	0, decode(repeat('00', 32), 'hex')
FROM access_log;

-- Query indexes. Listing is newest first by (time, id), so each filter's
-- index ends in (time, id) and a page is read straight off the index.
DROP INDEX sign_ins_tenant;
DROP INDEX sign_ins_principal;
CREATE INDEX sign_ins_tenant ON sign_ins (tenant_key, time, id);
CREATE INDEX sign_ins_principal ON sign_ins (principal_key, time, id);
CREATE INDEX sign_ins_token ON sign_ins (token_id);
DROP INDEX activity_tenant;
DROP INDEX activity_caller;
CREATE INDEX activity_tenant ON activity (tenant_key, time, id);
CREATE INDEX activity_caller ON activity (caller_key, time, id);
CREATE INDEX activity_resource ON activity (resource_key, time, id);
DROP INDEX access_log_tenant;
DROP INDEX access_log_caller;
DROP INDEX access_log_resource;
CREATE INDEX access_log_tenant ON access_log (tenant_key, time, id);
CREATE INDEX access_log_caller ON access_log (caller_key, time, id);
CREATE INDEX access_log_resource ON access_log (resource_key, time, id);
