// Package storetest is the conformance suite for store.Store: the executable
// form of the contract in package store. Every backend runs it (sqlstore on
// SQLite always, on PostgreSQL whenever PostgreSQL is installed, and in CI),
// so behaviour the suite pins is behaviour callers may rely on, and a
// backend that passes it may replace another.
//
// Beyond the interface's doc comments, the suite pins: lookups by id, name
// and scope are case-insensitive; times come back in UTC at microsecond
// precision; a missing record is store.ErrNotFound and a duplicate
// store.ErrConflict (wrapped); a transaction stays usable after a conflict;
// Read sees one snapshot and cannot write; concurrent Writes lose no update.
//
// It imports no Signet package but store, and no backend: backends import it
// from their tests.
package storetest
