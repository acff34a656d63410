// Package sqlstore is the one SQL implementation of store.Store, over
// database/sql, for SQLite (modernc.org/sqlite, pure Go, the embedded default)
// and PostgreSQL (pgx v5 through its database/sql driver, for several server
// replicas sharing state).
//
// Queries are written once, with "?" placeholders; a small dialect struct
// rebinds them to "$n" for PostgreSQL and maps each driver's errors to the
// store sentinels. The only per-dialect SQL is the schema, because column types
// differ (BLOB/BYTEA, collations): migrations/sqlite and migrations/postgres
// carry the same versions and must stay in step.
//
// Concurrency: SQLite runs in WAL mode with one writer connection (writes are
// serialized in-process and begin IMMEDIATE, so they never deadlock on lock
// upgrades) and a pool of query_only reader connections, each Read seeing one
// snapshot. The writer never checkpoints: a timer on a connection of its own
// copies the WAL into the database once a second after commits and rewinds
// it under the write slot (checkpoint.go). PostgreSQL writes run SERIALIZABLE and are retried on
// serialization failures and deadlocks (SQLSTATE 40001, 40P01), which is why
// store.Store documents that a Write callback may run more than once; reads
// run REPEATABLE READ, READ ONLY. Never call Write from inside a Write
// callback: on SQLite the inner one waits for the outer one forever.
//
// Encoding: times are integer unix microseconds in UTC (NULL for the zero
// time); maps and slices are JSON text; resource ids, scopes and GUIDs are
// matched through a lower-cased key column stored beside the original.
//
// Audit logs: each stream is a hash chain (audit_chain.go). Sign-ins and
// activity are one row per record; the data-access log, appended on every
// Key Vault and Blob read, is stored in pages of up to 256 records with
// per-page lookup entries (access.go, migration 0010); a record writes only
// the fields that differ from its predecessor's. That costs the audit writer
// about a fifth of the CPU per record that a row with its indexes did
// (BenchmarkAppendAccess: 3.3 against 16.0 µs at 256 records a commit).
//
// It must import no Signet package but store: it is a leaf below every server
// part, and all of them reach it only through the store.Store contract.
package sqlstore
