-- Tamper evidence for the audit logs (SQLite). Keep in step with
-- postgres/0006_audit_chain.sql.
--
-- Every record of a stream gets a sequence number and a hash chained to the
-- previous record of its stream:
--   hash = SHA-256(prev_hash || field(stream) || field(seq) || field(col)...)
-- where field(x) is x's decimal or UTF-8 text prefixed by its byte length as
-- a big-endian int64 (sqlstore/audit_chain.go has the column lists and the
-- Go side; signet_audit_hash and signet_key are Go functions the store
-- registers with the SQLite driver). audit_heads holds each stream's last
-- sequence number and hash (the row appenders lock) and the checkpoint of
-- the last record retention deleted. Existing rows are numbered and hashed
-- in (time, id) order.

ALTER TABLE sign_ins ADD COLUMN seq INTEGER;
ALTER TABLE sign_ins ADD COLUMN prev_hash BLOB;
ALTER TABLE sign_ins ADD COLUMN hash BLOB;
ALTER TABLE activity ADD COLUMN seq INTEGER;
ALTER TABLE activity ADD COLUMN prev_hash BLOB;
ALTER TABLE activity ADD COLUMN hash BLOB;
ALTER TABLE activity ADD COLUMN resource_key TEXT NOT NULL DEFAULT '';
ALTER TABLE access_log ADD COLUMN seq INTEGER;
ALTER TABLE access_log ADD COLUMN prev_hash BLOB;
ALTER TABLE access_log ADD COLUMN hash BLOB;

UPDATE activity SET resource_key = signet_key(resource_id);

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
	SELECT 0, NULL, zeroblob(32)
	UNION ALL
	SELECT s.seq, chain.hash, signet_audit_hash(chain.hash, 'signins', s.seq, s.id, s.time, s.tenant_id,
		s.principal_id, s.client_id, s.resource, s.result, s.error_code, s.reason, s.caller_address,
		s.credential_type, s.token_id)
	FROM chain JOIN sign_ins AS s ON s.seq = chain.seq + 1
)
UPDATE sign_ins SET prev_hash = chain.prev, hash = chain.hash FROM chain WHERE sign_ins.seq = chain.seq;

WITH RECURSIVE chain (seq, prev, hash) AS (
	SELECT 0, NULL, zeroblob(32)
	UNION ALL
	SELECT s.seq, chain.hash, signet_audit_hash(chain.hash, 'activity', s.seq, s.id, s.time, s.tenant_id,
		s.caller_id, s.operation, s.resource_id, s.result, s.status, s.message, s.caller_address)
	FROM chain JOIN activity AS s ON s.seq = chain.seq + 1
)
UPDATE activity SET prev_hash = chain.prev, hash = chain.hash FROM chain WHERE activity.seq = chain.seq;

WITH RECURSIVE chain (seq, prev, hash) AS (
	SELECT 0, NULL, zeroblob(32)
	UNION ALL
	SELECT s.seq, chain.hash, signet_audit_hash(chain.hash, 'access', s.seq, s.id, s.time, s.tenant_id,
		s.caller_id, s.client_id, s.service, s.resource_id, s.item, s.action, s.result, s.status, s.error_code,
		s.caller_address, s.token_id)
	FROM chain JOIN access_log AS s ON s.seq = chain.seq + 1
)
UPDATE access_log SET prev_hash = chain.prev, hash = chain.hash FROM chain WHERE access_log.seq = chain.seq;

CREATE TABLE audit_heads (
	stream      TEXT PRIMARY KEY,
	seq         INTEGER NOT NULL, -- the last record's sequence number, 0 when none yet
	hash        BLOB NOT NULL,    -- the last record's hash (32 zero bytes when none)
	pruned_seq  INTEGER NOT NULL, -- the last record retention deleted, 0 when none
	pruned_hash BLOB NOT NULL     -- its hash: the prev_hash the oldest kept record must carry
);
INSERT INTO audit_heads (stream, seq, hash, pruned_seq, pruned_hash)
SELECT 'signins', COALESCE(MAX(seq), 0),
	COALESCE((SELECT hash FROM sign_ins WHERE seq = (SELECT MAX(seq) FROM sign_ins)), zeroblob(32)), 0, zeroblob(32)
FROM sign_ins;
INSERT INTO audit_heads (stream, seq, hash, pruned_seq, pruned_hash)
SELECT 'activity', COALESCE(MAX(seq), 0),
	COALESCE((SELECT hash FROM activity WHERE seq = (SELECT MAX(seq) FROM activity)), zeroblob(32)), 0, zeroblob(32)
FROM activity;
INSERT INTO audit_heads (stream, seq, hash, pruned_seq, pruned_hash)
SELECT 'access', COALESCE(MAX(seq), 0),
	COALESCE((SELECT hash FROM access_log WHERE seq = (SELECT MAX(seq) FROM access_log)), zeroblob(32)), 0, zeroblob(32)
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
