package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointEvery is how often the SQLite checkpointer runs when there
// were commits since its last run.
//
// In WAL mode with synchronous=NORMAL a commit is durable against a crash
// of the process at once, and against a power cut once a checkpoint has
// synced the WAL. SQLite's own policy checkpoints inside the committing
// transaction when the WAL passes 1,000 pages: under load the writer stops
// for it every few hundred commits, and when writes are rare the WAL can
// wait hours for its sync. A timer off the writer's path does neither:
// the writer never checkpoints, a commit is synced within about this long,
// and pages rewritten by many commits in between are copied to the
// database once.
var checkpointEvery = time.Second // a variable for tests

// checkpointer runs PASSIVE checkpoints (they wait for no reader or
// writer) on a connection of its own.
type checkpointer struct {
	db      *sql.DB
	commits atomic.Int64 // write transactions committed since the last run
	stop    chan struct{}
	done    sync.WaitGroup
	closed  sync.Once
	err     error // close's
}

func startCheckpointer(path, dsnParams string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", path+"?"+dsnParams)
	if err != nil {
		return nil, fmt.Errorf("open SQLite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, stop: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.done.Done()
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			if c.commits.Swap(0) == 0 {
				continue
			}
			if err := c.checkpoint(context.Background(), "PASSIVE"); err != nil {
				// The next tick tries again; the WAL only grows meanwhile.
				c.commits.Add(1)
				slog.Warn("sqlstore: WAL checkpoint failed", slog.String("cause", err.Error()))
			}
		}
	}
}

func (c *checkpointer) checkpoint(ctx context.Context, mode string) error {
	var busy, logFrames, checkpointed int
	err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&busy, &logFrames, &checkpointed)
	if err != nil {
		return fmt.Errorf("wal_checkpoint(%s): %w", mode, err)
	}
	return nil
}

// close stops the timer and checkpoints what is left, so the database file
// is whole and the WAL synced once Close returns. Later calls return the
// first one's result.
func (c *checkpointer) close() error {
	c.closed.Do(func() {
		close(c.stop)
		c.done.Wait()
		c.err = c.checkpoint(context.Background(), "PASSIVE")
		if err := c.db.Close(); c.err == nil {
			c.err = err
		}
	})
	return c.err
}
