package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"sync"
)

// stmtCache prepares each distinct query text once per *sql.DB, so that the
// engine parses and plans it once rather than on every call (on the Key
// Vault GET path, SQLite's parser was a fifth of all CPU). database/sql keeps
// a *sql.Stmt's per-connection prepared statements, and Tx.StmtContext
// re-uses the one on the transaction's connection, preparing it there on
// first use.
//
// A miss never prepares inside the transaction: DB.PrepareContext takes a
// connection from the pool, and a transaction asking for one while holding
// one would wait forever on SQLite's single writer connection (or on a pool
// fully held by transactions). The statement runs unprepared this once and
// the transaction's own goroutine prepares it once the transaction has
// ended and its connection is back in the pool. (Not a goroutine of its
// own: that one would hand connections to waiters in other synctest
// bubbles, and outlive the call that caused it.)
type stmtCache struct {
	db *sql.DB
	// stmts maps the query text as written in this package (before
	// rebinding: the dialect is fixed per Store, so the key is as unique
	// and costs no rebind on a hit) to its *sql.Stmt.
	stmts sync.Map

	mu sync.Mutex
	// claimed holds every text whose preparation was claimed by a
	// transaction, successful or not: a text the driver refuses to prepare
	// runs unprepared from then on, without retrying.
	claimed map[string]bool
	closed  bool
}

// maxCachedStatements bounds the cache. Queries here are constants or are
// built from a bounded set of shapes (IN lists one per scope depth), so the
// bound is never reached in practice; past it texts simply run unprepared.
const maxCachedStatements = 1024

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, claimed: make(map[string]bool)}
}

// get returns the prepared statement for q, or nil when it is not (yet)
// prepared; claimed reports that the caller is to prepare it (with
// prepare) once its transaction is over.
func (c *stmtCache) get(q string) (st *sql.Stmt, claimed bool) {
	if v, ok := c.stmts.Load(q); ok {
		return v.(*sql.Stmt), false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.claimed[q] || len(c.claimed) >= maxCachedStatements {
		return nil, false
	}
	c.claimed[q] = true
	return nil, true
}

// prepare prepares texts claimed through get; rebind turns each into the
// dialect's placeholders. Call it with no transaction open on c's pool.
func (c *stmtCache) prepare(ctx context.Context, texts []string, rebind func(string) string) {
	for _, q := range texts {
		st, err := c.db.PrepareContext(ctx, rebind(q))
		c.mu.Lock()
		switch {
		case err != nil && ctx.Err() != nil:
			delete(c.claimed, q) // not the text's fault: another caller may try
		case err != nil:
			// Stays claimed: run unprepared from now on.
		case c.closed:
			st.Close()
		default:
			c.stmts.Store(q, st)
		}
		c.mu.Unlock()
	}
}

// unclaim gives up claims taken through get, for another caller to take.
func (c *stmtCache) unclaim(texts []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, q := range texts {
		delete(c.claimed, q)
	}
}

// close closes every statement; call it before closing the database.
func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	var errs []error
	c.stmts.Range(func(k, v any) bool {
		errs = append(errs, v.(*sql.Stmt).Close())
		c.stmts.Delete(k)
		return true
	})
	return errors.Join(errs...)
}
