-- The data-access log: every secret or blob touched, or refused.
CREATE TABLE access_log (
	id             TEXT PRIMARY KEY,
	time           BIGINT NOT NULL,
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
	token_id       TEXT NOT NULL
);
CREATE INDEX access_log_time ON access_log (time, id);
CREATE INDEX access_log_tenant ON access_log (tenant_key, time);
CREATE INDEX access_log_caller ON access_log (caller_key, time);
CREATE INDEX access_log_resource ON access_log (resource_key, time);
CREATE INDEX access_log_token ON access_log (token_id);
