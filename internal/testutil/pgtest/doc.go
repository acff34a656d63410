// Package pgtest starts throwaway PostgreSQL servers for tests, from the
// PostgreSQL binaries installed on the machine (initdb, pg_ctl, postgres on
// PATH or under /usr/lib/postgresql/*/bin).
//
// One server serves a whole test binary when its TestMain calls Main; each
// Start then creates a fresh database on it, so tests stay isolated and fast.
// Without Main, Start runs a server per test and stops it in t.Cleanup.
//
// When the binaries are missing, Start skips the test, except under CI=true,
// where a missing PostgreSQL must fail loudly rather than pass by skipping.
//
// It imports no Signet package: it is test plumbing any package may use.
package pgtest
