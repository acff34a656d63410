-- Per-domain change counters (PostgreSQL). Keep in step with
-- sqlite/0007_generations.sql. Every write method that changes role
-- assignments or definitions moves 'rbac', every one that changes vaults,
-- secrets or versions moves 'secrets', in the same transaction; replicas
-- poll this table to know when their caches are out of date.

CREATE TABLE generations (
	name  TEXT COLLATE "C" PRIMARY KEY,
	value BIGINT NOT NULL
);

INSERT INTO generations (name, value) VALUES ('rbac', 0), ('secrets', 0);
