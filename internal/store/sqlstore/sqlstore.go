package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/signet-platform/signet/internal/store"
)

// Store is a store.Store over SQLite or PostgreSQL.
type Store struct {
	d dialect
	// write runs Write transactions. For SQLite it holds exactly one
	// connection; for PostgreSQL it is the only pool and read == write.
	write *sql.DB
	read  *sql.DB
	// writeSlot serializes SQLite writers in-process, so they queue in Go
	// rather than spinning on SQLITE_BUSY; a channel rather than a mutex so
	// that a caller whose context ends stops waiting. Nil for PostgreSQL.
	writeSlot chan struct{}
	// readStmts and writeStmts cache prepared statements per pool (the
	// same cache for PostgreSQL's one pool). Set once migrated.
	readStmts, writeStmts *stmtCache
	// checkpoint syncs SQLite's WAL into the database off the writer's
	// path (checkpoint.go). Nil for PostgreSQL.
	checkpoint *checkpointer

	// subs hear of every committed write that moved a generation.
	subsMu sync.Mutex
	subs   map[*func(map[store.Generation]int64)]struct{}
}

var _ store.GenerationNotifier = (*Store)(nil)

// NotifyGenerations calls fn, before Write returns, after every committed
// write transaction that moved a generation (store.GenerationNotifier).
func (s *Store) NotifyGenerations(fn func(map[store.Generation]int64)) (cancel func()) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	if s.subs == nil {
		s.subs = make(map[*func(map[store.Generation]int64)]struct{})
	}
	key := &fn
	s.subs[key] = struct{}{}
	return func() {
		s.subsMu.Lock()
		defer s.subsMu.Unlock()
		delete(s.subs, key)
	}
}

func (s *Store) notifyGenerations(gens map[store.Generation]int64) {
	s.subsMu.Lock()
	defer s.subsMu.Unlock()
	for fn := range s.subs {
		(*fn)(gens)
	}
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) and migrates the store named by dsn:
//
//	sqlite:/path/to/signet.db   SQLite (also sqlite:///abs/path, or a plain file path)
//	postgres://user@host/db     PostgreSQL (also postgresql://; any pgx connection string)
//
// In-memory SQLite is not supported: readers and the writer use separate
// connections, which would each see their own empty database.
func Open(ctx context.Context, dsn string) (*Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return openPostgres(ctx, dsn)
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		path = strings.TrimPrefix(path, "//") // sqlite:///abs/path
		return openSQLite(ctx, path)
	case strings.Contains(dsn, "://"):
		return nil, fmt.Errorf("sqlstore: unsupported store URL scheme in %q: want sqlite: or postgres://", redact(dsn))
	default:
		return openSQLite(ctx, dsn)
	}
}

// redact keeps passwords out of error messages.
func redact(dsn string) string {
	if i := strings.Index(dsn, "://"); i >= 0 {
		if j := strings.LastIndex(dsn, "@"); j > i {
			return dsn[:i+3] + "…" + dsn[j:]
		}
	}
	return dsn
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("sqlstore: SQLite store needs a plain file path, got %q", path)
	}
	// The database holds sealed keys and secret hashes: create it private.
	// SQLite gives its -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open SQLite database: %w", err)
	}
	f.Close()

	// busy_timeout covers other processes on the same file (a second signet,
	// the sqlite3 shell); in-process writers queue on wmu instead.
	const common = "_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	// The writer never checkpoints: the checkpointer does (checkpoint.go).
	w, err := sql.Open("sqlite", path+"?"+common+"&_txlock=immediate&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open SQLite writer: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{d: sqliteDialect, write: w, writeSlot: make(chan struct{}, 1)}
	// The writer connects first so the file is in WAL mode before any reader.
	if err := enableWAL(ctx, w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open SQLite database %s: %w", path, err)
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	r, err := sql.Open("sqlite", path+"?"+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlstore: open SQLite readers: %w", err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	s.read = r
	s.readStmts, s.writeStmts = newStmtCache(r), newStmtCache(w)
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: open SQLite readers: %w", err)
	}
	if s.checkpoint, err = startCheckpointer(path, s.writeSlot); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlstore: %w", err)
	}
	return s, nil
}

// enableWAL switches the database file to WAL mode (a persistent setting).
// The switch takes an exclusive lock and SQLite answers SQLITE_BUSY at once,
// without its busy handler, when another connection holds the file (a second
// process opening it at the same moment), so it is retried here.
func enableWAL(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		var mode string
		err := db.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode)
		if err == nil {
			if !strings.EqualFold(mode, "wal") {
				return fmt.Errorf("enable WAL: journal mode is still %q", mode)
			}
			return nil
		}
		if !isBusy(err) || time.Now().After(deadline) {
			return fmt.Errorf("enable WAL: %w", err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("enable WAL: %w", ctx.Err())
		case <-time.After(5*time.Millisecond + rand.N(10*time.Millisecond)):
		}
	}
}

func openPostgres(ctx context.Context, dsn string) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open PostgreSQL %s: %w", redact(dsn), err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlstore: connect to PostgreSQL %s: %w", redact(dsn), err)
	}
	s := &Store{d: postgresDialect, write: db, read: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	s.writeStmts = newStmtCache(db)
	s.readStmts = s.writeStmts
	return s, nil
}

// Close releases the connections.
func (s *Store) Close() error {
	var errs []error
	if s.checkpoint != nil {
		errs = append(errs, s.checkpoint.close())
	}
	if s.readStmts != nil && s.readStmts != s.writeStmts {
		errs = append(errs, s.readStmts.close())
	}
	if s.writeStmts != nil {
		errs = append(errs, s.writeStmts.close())
	}
	if s.read != nil && s.read != s.write {
		errs = append(errs, s.read.Close())
	}
	errs = append(errs, s.write.Close())
	return errors.Join(errs...)
}

// Ping reports whether the database answers. It uses the read pool so that a
// long write does not make the store look down.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlstore: ping: %w", err)
	}
	return nil
}

// Read runs fn over one consistent, read-only snapshot.
func (s *Store) Read(ctx context.Context, fn func(store.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.d == postgresDialect {
		// REPEATABLE READ: every statement sees the snapshot taken at the
		// first one. (SQLite's deferred transactions in WAL mode behave so
		// already.)
		opts.Isolation = sql.LevelRepeatableRead
	}
	return s.run(ctx, s.read, opts, false, fn)
}

// maxWriteAttempts bounds retries of a PostgreSQL write that keeps losing
// serialization conflicts; the last error is returned.
const maxWriteAttempts = 20

// Write runs fn in a read-write transaction, all or nothing. On PostgreSQL a
// serialization failure or deadlock reruns fn on a fresh transaction.
func (s *Store) Write(ctx context.Context, fn func(store.Tx) error) error {
	if s.writeSlot != nil {
		select {
		case s.writeSlot <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("sqlstore: waiting to write: %w", ctx.Err())
		}
		defer func() { <-s.writeSlot }()
		return s.run(ctx, s.write, nil, true, fn)
	}
	opts := &sql.TxOptions{Isolation: sql.LevelSerializable}
	backoff := 2 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := s.run(ctx, s.write, opts, true, fn)
		if err == nil || classify(err) != errRetry || attempt == maxWriteAttempts {
			return err
		}
		// Full jitter, so that the transactions that collided do not collide
		// again in lockstep.
		wait := rand.N(backoff) + time.Millisecond
		backoff = min(backoff*2, 250*time.Millisecond)
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqlstore: write retry: %w (after %w)", ctx.Err(), err)
		case <-time.After(wait):
		}
	}
}

func (s *Store) run(ctx context.Context, db *sql.DB, opts *sql.TxOptions, write bool, fn func(store.Tx) error) (err error) {
	sqlTx, err := db.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("sqlstore: begin transaction: %w", err)
	}
	done := false
	defer func() {
		if !done {
			// fn panicked: do not leave the connection inside a transaction.
			_ = sqlTx.Rollback()
		}
	}()
	stmts := s.writeStmts
	if db == s.read {
		stmts = s.readStmts
	}
	t := &tx{ctx: ctx, tx: sqlTx, d: s.d, stmts: stmts}
	// Deferred, so it runs once Commit or Rollback below has ended the
	// transaction and given its connection back for the preparations. Not
	// while fn panics: the transaction still holds its connection then.
	defer func() {
		if len(t.unprepared) == 0 {
			return
		}
		if !done {
			stmts.unclaim(t.unprepared)
			return
		}
		stmts.prepare(ctx, t.unprepared, s.d.rebind)
	}()
	if err := fn(t); err != nil {
		done = true
		_ = sqlTx.Rollback()
		return err
	}
	done = true
	if !write {
		// Nothing to keep; rolling back also ends the snapshot.
		if err := sqlTx.Rollback(); err != nil {
			return fmt.Errorf("sqlstore: end read transaction: %w", err)
		}
		return nil
	}
	if err := sqlTx.Commit(); err != nil {
		return mapErr(err, "sqlstore: commit")
	}
	if s.checkpoint != nil {
		s.checkpoint.commits.Add(1)
	}
	if len(t.bumped) > 0 {
		s.notifyGenerations(t.bumped)
	}
	return nil
}
