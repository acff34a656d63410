-- Signet schema, version 1 (SQLite). Keep in step with postgres/0001_init.sql.
-- Conventions: *_key columns hold the lower-cased form of an identifier Azure
-- compares case-insensitively, beside the original; times are unix
-- microseconds (NULL: zero time); maps and lists are JSON text.

CREATE TABLE tenants (
	id_key       TEXT PRIMARY KEY,
	id           TEXT NOT NULL,
	display_name TEXT NOT NULL,
	created_at   INTEGER
);

CREATE TABLE subscriptions (
	id_key       TEXT PRIMARY KEY,
	id           TEXT NOT NULL,
	tenant_key   TEXT NOT NULL,
	tenant_id    TEXT NOT NULL,
	display_name TEXT NOT NULL,
	state        TEXT NOT NULL,
	created_at   INTEGER
);
CREATE INDEX subscriptions_tenant ON subscriptions (tenant_key, id_key);

CREATE TABLE resource_groups (
	subscription_key TEXT NOT NULL,
	name_key         TEXT NOT NULL,
	subscription_id  TEXT NOT NULL,
	name             TEXT NOT NULL,
	location         TEXT NOT NULL,
	tags             TEXT NOT NULL,
	created_at       INTEGER,
	PRIMARY KEY (subscription_key, name_key)
);

CREATE TABLE resources (
	id_key                       TEXT PRIMARY KEY,
	id                           TEXT NOT NULL,
	subscription_key             TEXT NOT NULL,
	subscription_id              TEXT NOT NULL,
	rg_key                       TEXT NOT NULL,
	resource_group               TEXT NOT NULL,
	type_key                     TEXT NOT NULL,
	type                         TEXT NOT NULL,
	name                         TEXT NOT NULL,
	location                     TEXT NOT NULL,
	tags                         TEXT NOT NULL,
	properties                   TEXT,
	system_assigned_principal_id TEXT NOT NULL,
	created_at                   INTEGER,
	created_by                   TEXT NOT NULL,
	updated_at                   INTEGER,
	updated_by                   TEXT NOT NULL
);
CREATE INDEX resources_scope ON resources (subscription_key, rg_key, type_key, id_key);
CREATE INDEX resources_type ON resources (subscription_key, type_key, id_key);

CREATE TABLE resource_identities (
	resource_key TEXT NOT NULL,
	identity_key TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	identity_id  TEXT NOT NULL,
	PRIMARY KEY (resource_key, identity_key)
);
CREATE INDEX resource_identities_identity ON resource_identities (identity_key, resource_key);

CREATE TABLE principals (
	object_key   TEXT PRIMARY KEY,
	object_id    TEXT NOT NULL,
	client_key   TEXT NOT NULL,
	client_id    TEXT NOT NULL,
	tenant_key   TEXT NOT NULL,
	tenant_id    TEXT NOT NULL,
	kind         TEXT NOT NULL,
	display_name TEXT NOT NULL,
	resource_key TEXT NOT NULL,
	resource_id  TEXT NOT NULL,
	enabled      BOOLEAN NOT NULL,
	created_at   INTEGER
);
-- A client id names one principal in a tenant, and a resource has at most one
-- identity of each kind: lookups by either must never be ambiguous.
CREATE UNIQUE INDEX principals_client ON principals (tenant_key, client_key) WHERE client_key <> '';
CREATE UNIQUE INDEX principals_resource ON principals (kind, resource_key) WHERE resource_key <> '';
CREATE INDEX principals_tenant ON principals (tenant_key, object_key);

CREATE TABLE credentials (
	id_key            TEXT PRIMARY KEY,
	id                TEXT NOT NULL,
	principal_key     TEXT NOT NULL REFERENCES principals (object_key) ON DELETE CASCADE,
	principal_id      TEXT NOT NULL,
	kind              TEXT NOT NULL,
	secret_hash       BLOB,
	hint              TEXT NOT NULL,
	certificate_der   BLOB,
	thumbprint_sha256 BLOB,
	not_before        INTEGER,
	not_after         INTEGER,
	created_at        INTEGER
);
CREATE INDEX credentials_principal ON credentials (principal_key, created_at);
-- A certificate identifies one credential, hence one principal.
CREATE UNIQUE INDEX credentials_thumbprint ON credentials (thumbprint_sha256) WHERE thumbprint_sha256 IS NOT NULL;

CREATE TABLE role_definitions (
	id_key            TEXT PRIMARY KEY,
	id                TEXT NOT NULL,
	role_name         TEXT NOT NULL,
	description       TEXT NOT NULL,
	role_type         TEXT NOT NULL,
	assignable_scopes TEXT NOT NULL,
	permissions       TEXT NOT NULL,
	created_at        INTEGER,
	updated_at        INTEGER
);

CREATE TABLE role_assignments (
	id_key              TEXT PRIMARY KEY,
	id                  TEXT NOT NULL,
	scope_key           TEXT NOT NULL,
	scope               TEXT NOT NULL,
	role_definition_key TEXT NOT NULL,
	role_definition_id  TEXT NOT NULL,
	principal_key       TEXT NOT NULL,
	principal_id        TEXT NOT NULL,
	principal_type      TEXT NOT NULL,
	description         TEXT NOT NULL,
	created_at          INTEGER,
	created_by          TEXT NOT NULL
);
-- Also the scope index: AtScope, UnderScope (a range on scope_key) and
-- AboveScope (scope_key IN ancestors) all use its first column.
CREATE UNIQUE INDEX role_assignments_triple ON role_assignments (scope_key, role_definition_key, principal_key);
CREATE INDEX role_assignments_principal ON role_assignments (principal_key, id_key);

CREATE TABLE signing_keys (
	kid                TEXT PRIMARY KEY,
	private_key_sealed BLOB,
	public_key_der     BLOB,
	certificate_der    BLOB,
	publish_at         INTEGER,
	active_at          INTEGER,
	retired_at         INTEGER,
	unpublish_at       INTEGER,
	created_at         INTEGER
);

CREATE TABLE assertion_markers (
	issuer     TEXT NOT NULL,
	jti        TEXT NOT NULL,
	expires_at INTEGER NOT NULL,
	PRIMARY KEY (issuer, jti)
);
CREATE INDEX assertion_markers_expires ON assertion_markers (expires_at);

CREATE TABLE sign_ins (
	id              TEXT PRIMARY KEY,
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
	token_id        TEXT NOT NULL
);
CREATE INDEX sign_ins_time ON sign_ins (time, id);
CREATE INDEX sign_ins_tenant ON sign_ins (tenant_key, time);
CREATE INDEX sign_ins_principal ON sign_ins (principal_key, time);

CREATE TABLE activity (
	id             TEXT PRIMARY KEY,
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
	caller_address TEXT NOT NULL
);
CREATE INDEX activity_time ON activity (time, id);
CREATE INDEX activity_tenant ON activity (tenant_key, time);
CREATE INDEX activity_caller ON activity (caller_key, time);
