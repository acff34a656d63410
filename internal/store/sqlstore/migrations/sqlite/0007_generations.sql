-- Per-domain change counters (SQLite). Keep in step with
-- postgres/0007_generations.sql. Every write method that changes role
-- assignments or definitions moves 'rbac', every one that changes vaults,
-- secrets or versions moves 'secrets', in the same transaction; replicas
-- poll this table to know when their caches are out of date.

CREATE TABLE generations (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
);

INSERT INTO generations (name, value) VALUES ('rbac', 0), ('secrets', 0);
