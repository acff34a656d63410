-- Cheaper audit appends (SQLite). Keep in step with
-- postgres/0009_audit_append.sql.
--
-- Under a Key Vault read load the audit writer appends thousands of
-- access records a second, and each row cost eight b-tree inserts: the
-- table under a hidden rowid, the primary key on the random id, seq, and
-- five query indexes. Each log is rebuilt here with seq as its INTEGER
-- PRIMARY KEY: the table is stored in chain order, appends go to the end of
-- its b-tree, no separate seq index is kept, and verifying or pruning a
-- chain reads the table in order instead of looking every row up through an
-- index. The id stays unique (a duplicate is the store's ErrConflict) under
-- its own index. The tenant indexes of the activity and access logs go: the
-- control plane always narrows those logs to a resource scope, and then
-- keeps the tenant off its index (auditWhere); a tenant-only listing reads
-- the time index newest first instead, in the listing order.
--
-- Rows keep their seq, prev_hash and hash, so every chain verifies as it
-- did. A row without a seq (written behind the store's back; VerifyAudit
-- reports it as inserted) cannot keep a NULL primary key: it is given a
-- seq below every other, where VerifyAudit still reports it as inserted
-- and appends, which continue after the head, never meet it.

CREATE TABLE sign_ins_0009 (
	id              TEXT,
	time            INTEGER NOT NULL,
	tenant_key      TEXT NOT NULL,
	tenant_id       TEXT NOT NULL,
	principal_key   TEXT NOT NULL,
	principal_id    TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	resource        TEXT NOT NULL,
	result          TEXT NOT NULL,
	error_code      TEXT NOT NULL,
	reason          TEXT NOT NULL,
	caller_address  TEXT NOT NULL,
	credential_type TEXT NOT NULL,
	token_id        TEXT NOT NULL,
	seq             INTEGER PRIMARY KEY,
	prev_hash       BLOB,
	hash            BLOB
);
INSERT INTO sign_ins_0009 (id, time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource, result,
	error_code, reason, caller_address, credential_type, token_id, seq, prev_hash, hash)
SELECT id, time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource, result,
	error_code, reason, caller_address, credential_type, token_id, seq, prev_hash, hash
FROM sign_ins WHERE seq IS NOT NULL ORDER BY seq;
INSERT INTO sign_ins_0009 (id, time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource, result,
	error_code, reason, caller_address, credential_type, token_id, seq, prev_hash, hash)
SELECT id, time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource, result,
	error_code, reason, caller_address, credential_type, token_id,
	(SELECT MIN(COALESCE(MIN(seq), 0), 0) FROM sign_ins) - ROW_NUMBER() OVER (ORDER BY time, id), prev_hash, hash
FROM sign_ins WHERE seq IS NULL;
DROP TABLE sign_ins;
ALTER TABLE sign_ins_0009 RENAME TO sign_ins;
CREATE UNIQUE INDEX sign_ins_id ON sign_ins (id);
CREATE INDEX sign_ins_time ON sign_ins (time, id);
CREATE INDEX sign_ins_tenant ON sign_ins (tenant_key, time, id);
CREATE INDEX sign_ins_principal ON sign_ins (principal_key, time, id);
CREATE INDEX sign_ins_token ON sign_ins (token_id);

CREATE TABLE activity_0009 (
	id             TEXT,
	time           INTEGER NOT NULL,
	tenant_key     TEXT NOT NULL,
	tenant_id      TEXT NOT NULL,
	caller_key     TEXT NOT NULL,
	caller_id      TEXT NOT NULL,
	operation      TEXT NOT NULL,
	resource_id    TEXT NOT NULL,
	result         TEXT NOT NULL,
	status         INTEGER NOT NULL,
	message        TEXT NOT NULL,
	caller_address TEXT NOT NULL,
	seq            INTEGER PRIMARY KEY,
	prev_hash      BLOB,
	hash           BLOB,
	resource_key   TEXT NOT NULL DEFAULT ''
);
INSERT INTO activity_0009 (id, time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id, result,
	status, message, caller_address, seq, prev_hash, hash, resource_key)
SELECT id, time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id, result,
	status, message, caller_address, seq, prev_hash, hash, resource_key
FROM activity WHERE seq IS NOT NULL ORDER BY seq;
INSERT INTO activity_0009 (id, time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id, result,
	status, message, caller_address, seq, prev_hash, hash, resource_key)
SELECT id, time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id, result,
	status, message, caller_address,
	(SELECT MIN(COALESCE(MIN(seq), 0), 0) FROM activity) - ROW_NUMBER() OVER (ORDER BY time, id), prev_hash, hash,
	resource_key
FROM activity WHERE seq IS NULL;
DROP TABLE activity;
ALTER TABLE activity_0009 RENAME TO activity;
CREATE UNIQUE INDEX activity_id ON activity (id);
CREATE INDEX activity_time ON activity (time, id);
CREATE INDEX activity_caller ON activity (caller_key, time, id);
CREATE INDEX activity_resource ON activity (resource_key, time, id);

CREATE TABLE access_log_0009 (
	id             TEXT,
	time           INTEGER NOT NULL,
	tenant_key     TEXT NOT NULL,
	tenant_id      TEXT NOT NULL,
	caller_key     TEXT NOT NULL,
	caller_id      TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	service        TEXT NOT NULL,
	resource_key   TEXT NOT NULL,
	resource_id    TEXT NOT NULL,
	item           TEXT NOT NULL,
	action         TEXT NOT NULL,
	result         TEXT NOT NULL,
	status         INTEGER NOT NULL,
	error_code     TEXT NOT NULL,
	caller_address TEXT NOT NULL,
	token_id       TEXT NOT NULL,
	seq            INTEGER PRIMARY KEY,
	prev_hash      BLOB,
	hash           BLOB
);
INSERT INTO access_log_0009 (id, time, tenant_key, tenant_id, caller_key, caller_id, client_id, service, resource_key,
	resource_id, item, action, result, status, error_code, caller_address, token_id, seq, prev_hash, hash)
SELECT id, time, tenant_key, tenant_id, caller_key, caller_id, client_id, service, resource_key,
	resource_id, item, action, result, status, error_code, caller_address, token_id, seq, prev_hash, hash
FROM access_log WHERE seq IS NOT NULL ORDER BY seq;
INSERT INTO access_log_0009 (id, time, tenant_key, tenant_id, caller_key, caller_id, client_id, service, resource_key,
	resource_id, item, action, result, status, error_code, caller_address, token_id, seq, prev_hash, hash)
SELECT id, time, tenant_key, tenant_id, caller_key, caller_id, client_id, service, resource_key,
	resource_id, item, action, result, status, error_code, caller_address, token_id,
	(SELECT MIN(COALESCE(MIN(seq), 0), 0) FROM access_log) - ROW_NUMBER() OVER (ORDER BY time, id), prev_hash, hash
FROM access_log WHERE seq IS NULL;
DROP TABLE access_log;
ALTER TABLE access_log_0009 RENAME TO access_log;
CREATE UNIQUE INDEX access_log_id ON access_log (id);
CREATE INDEX access_log_time ON access_log (time, id);
CREATE INDEX access_log_caller ON access_log (caller_key, time, id);
CREATE INDEX access_log_resource ON access_log (resource_key, time, id);
CREATE INDEX access_log_token ON access_log (token_id);
