package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// tx implements store.Tx over one database/sql transaction. Its methods use
// the context given to Read or Write.
type tx struct {
	ctx context.Context
	tx  *sql.Tx
	d   dialect
	// stmts holds the prepared statements of the pool tx runs on; nil
	// while migrating, when statements run unprepared (migrations are
	// multi-statement scripts, run once).
	stmts *stmtCache
	// unprepared lists the texts this transaction ran unprepared and is
	// to prepare once it has ended (see stmtCache).
	unprepared []string
	// bumped holds the generations this transaction moved, with their new
	// values, to announce once it commits.
	bumped map[store.Generation]int64
}

var _ store.Tx = (*tx)(nil)

// scanner is *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// stmt returns q's prepared statement bound to this transaction, or nil
// when q is not prepared (yet).
func (t *tx) stmt(q string) *sql.Stmt {
	if t.stmts == nil {
		return nil
	}
	st, claimed := t.stmts.get(q)
	if claimed {
		t.unprepared = append(t.unprepared, q)
	}
	if st == nil {
		return nil
	}
	return t.tx.StmtContext(t.ctx, st)
}

func (t *tx) exec(q string, args ...any) (sql.Result, error) {
	if st := t.stmt(q); st != nil {
		return st.ExecContext(t.ctx, args...)
	}
	return t.tx.ExecContext(t.ctx, t.d.rebind(q), args...)
}

func (t *tx) query(q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(q); st != nil {
		return st.QueryContext(t.ctx, args...)
	}
	return t.tx.QueryContext(t.ctx, t.d.rebind(q), args...)
}

func (t *tx) queryRow(q string, args ...any) *sql.Row {
	if st := t.stmt(q); st != nil {
		return st.QueryRowContext(t.ctx, args...)
	}
	return t.tx.QueryRowContext(t.ctx, t.d.rebind(q), args...)
}

// execGuarded runs a statement that may break a constraint. PostgreSQL aborts
// the whole transaction on any error, while SQLite carries on; a savepoint
// makes PostgreSQL behave like SQLite, so a caller that handles ErrConflict
// can keep using the transaction on both.
func (t *tx) execGuarded(q string, args ...any) (sql.Result, error) {
	if t.d != postgresDialect {
		return t.exec(q, args...)
	}
	if _, err := t.exec("SAVEPOINT sqlstore_guard"); err != nil {
		return nil, err
	}
	res, err := t.exec(q, args...)
	if err != nil {
		if _, rerr := t.exec("ROLLBACK TO SAVEPOINT sqlstore_guard"); rerr != nil {
			return nil, errors.Join(err, rerr)
		}
		return nil, err
	}
	if _, err := t.exec("RELEASE SAVEPOINT sqlstore_guard"); err != nil {
		return nil, err
	}
	return res, nil
}

// insert runs an INSERT ... ON CONFLICT DO NOTHING and reports a row that was
// not inserted as ErrConflict. Skipping the row instead of raising a unique
// violation keeps a PostgreSQL transaction usable after the conflict.
func (t *tx) insert(what, q string, args ...any) error {
	res, err := t.exec(q, args...)
	if err != nil {
		return mapErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrConflict)
	}
	return nil
}

// affect runs an UPDATE or DELETE and reports "no row matched" as ErrNotFound.
func (t *tx) affect(what, q string, args ...any) error {
	n, err := t.count(what, q, args...)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return nil
}

// count runs a statement and returns how many rows it changed.
func (t *tx) count(what, q string, args ...any) (int, error) {
	res, err := t.exec(q, args...)
	if err != nil {
		return 0, mapErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", what, err)
	}
	return int(n), nil
}

// getOne runs a query for one row; no row is ErrNotFound.
func getOne[T any](t *tx, what string, scan func(scanner) (T, error), q string, args ...any) (T, error) {
	v, err := scan(t.queryRow(q, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return v, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	if err != nil {
		return v, mapErr(err, what)
	}
	return v, nil
}

// list runs a query and scans every row. It returns an empty, non-nil slice
// when nothing matches, so that callers encoding JSON write [] and not null.
func list[T any](t *tx, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := t.query(q, args...)
	if err != nil {
		return nil, mapErr(err, what)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err, what)
	}
	return out, nil
}

// key is the lookup form of an identifier that Azure compares
// case-insensitively (resource ids, names, GUIDs).
func key(s string) string { return strings.ToLower(s) }

// scopeKey is the lookup form of an RBAC scope: lower-cased, without a
// trailing slash, with "/" (the root, above every subscription) kept as is.
func scopeKey(s string) string {
	k := strings.TrimRight(strings.ToLower(s), "/")
	if k == "" {
		return "/"
	}
	return k
}

// scopeAncestors lists a scope key and every scope above it, root first:
// "/a/b/c" gives "/", "/a", "/a/b", "/a/b/c".
func scopeAncestors(k string) []string {
	out := []string{"/"}
	if k == "/" {
		return out
	}
	for i := 1; i < len(k); i++ {
		if k[i] == '/' {
			out = append(out, k[:i])
		}
	}
	return append(out, k)
}

// micros encodes a time as unix microseconds, NULL for the zero time.
func micros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// fromMicros decodes micros: a UTC time, or the zero time for NULL.
func fromMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMicro(n.Int64).UTC()
}

// blob stores an empty byte slice as NULL, so that nil and empty read back
// the same way (as nil) on every backend.
func blob(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func fromJSON(s string, v any) error {
	return json.Unmarshal([]byte(s), v)
}

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
