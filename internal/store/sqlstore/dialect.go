package sqlstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/signet-platform/signet/internal/store"
)

// dialect is everything that differs between the SQL engines. Queries are
// shared; only placeholders, error codes and the schema differ.
type dialect struct {
	name   string // "sqlite" or "postgres": also the migrations directory
	driver string // database/sql driver name
	// numbered placeholders ($1, $2, ...) instead of "?".
	numbered bool
}

var (
	sqliteDialect   = dialect{name: "sqlite", driver: "sqlite"}
	postgresDialect = dialect{name: "postgres", driver: "pgx", numbered: true}
)

// rebind rewrites "?" placeholders to "$n" for dialects that number them.
// Queries in this package never contain a literal "?" inside a string, so a
// plain scan is enough.
func (d dialect) rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// Error classes the store cares about.
type errClass int

const (
	errOther errClass = iota
	errUnique
	errForeignKey
	errRetry // serialization failure or deadlock: the whole transaction may be retried
)

func classify(err error) errClass {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505":
			return errUnique
		case "23503":
			return errForeignKey
		case "40001", "40P01":
			return errRetry
		}
		return errOther
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return errUnique
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return errForeignKey
		}
	}
	return errOther
}

// mapErr wraps a driver error so that errors.Is matches the store sentinels.
// what names the operation for the message (e.g. "create tenant t1").
func mapErr(err error, what string) error {
	if err == nil {
		return nil
	}
	switch classify(err) {
	case errUnique:
		return fmt.Errorf("%s: %w (%w)", what, store.ErrConflict, err)
	case errForeignKey:
		// The only foreign keys point from owned records to their owner, so a
		// violation means the owner does not exist.
		return fmt.Errorf("%s: referenced record: %w (%w)", what, store.ErrNotFound, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// isBusy reports SQLite's "database is locked" family of errors.
func isBusy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff { // primary code, without the extended bits
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return true
	}
	return false
}
