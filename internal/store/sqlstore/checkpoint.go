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
// wait hours for its sync. A timer does neither: a commit is synced within
// about this long, and pages rewritten by many commits in between are
// copied to the database once.
//
// Each run is two checkpoints. A PASSIVE one copies the bulk of the WAL
// while the writer goes on. It cannot finish under a steady write load (the
// writer appends as it copies), and a WAL that is never wholly copied is
// never rewound: it would grow without end, and every write would extend
// the file. So a RESTART follows, holding the store's write slot: it
// copies what the writer added meanwhile, a few pages, and lets the next
// transaction write the WAL from its start again. The writer waits for
// that short step only, once a run.
var checkpointEvery = time.Second // a variable for tests

// testHookAfterPassive, when set, runs between a run's two steps (a test
// writes there, as a steady writer would during the copy).
var testHookAfterPassive func()

// checkpointer runs the checkpoints on a connection of its own.
type checkpointer struct {
	db *sql.DB
	// slot is the store's write slot: held for the RESTART step, so that
	// no writer is inside a transaction then and none contends for
	// SQLite's lock while it runs.
	slot    chan struct{}
	commits atomic.Int64 // write transactions committed since the last run
	stop    chan struct{}
	done    sync.WaitGroup
	closed  sync.Once
	err     error // close's
}

func startCheckpointer(path string, slot chan struct{}) (*checkpointer, error) {
	// synchronous=NORMAL: a checkpoint syncs the WAL before it copies and
	// the database after. A short busy timeout: RESTART waits for readers
	// still using the WAL, and it holds the write slot while it waits, so
	// it gives up soon (the next run tries again) rather than stall
	// writers behind a long read (an export, a verification).
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(50)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, fmt.Errorf("open SQLite checkpointer: %w", err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	c := &checkpointer{db: db, slot: slot, stop: make(chan struct{})}
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
			if err := c.runOnce(); err != nil {
				// The next tick tries again; the WAL only grows meanwhile.
				c.commits.Add(1)
				slog.Warn("sqlstore: WAL checkpoint failed", slog.String("cause", err.Error()))
			}
		}
	}
}

// runOnce copies the WAL into the database and rewinds it (see
// checkpointEvery).
func (c *checkpointer) runOnce() error {
	ctx := context.Background()
	busy, err := c.checkpoint(ctx, "PASSIVE")
	if err != nil {
		return err
	}
	if testHookAfterPassive != nil {
		testHookAfterPassive()
	}
	select {
	case c.slot <- struct{}{}:
	case <-c.stop:
		return nil // closing
	}
	defer func() { <-c.slot }()
	restartBusy, err := c.checkpoint(ctx, "RESTART")
	if busy || restartBusy {
		// A reader held on to part of the WAL: the next tick runs again,
		// commits or not.
		c.commits.Add(1)
	}
	return err
}

// checkpoint runs one checkpoint. SQLite does not fail one that a reader
// or writer held up: it reports busy, having done what it could.
func (c *checkpointer) checkpoint(ctx context.Context, mode string) (busy bool, err error) {
	var b, logFrames, checkpointed int
	err = c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&b, &logFrames, &checkpointed)
	if err != nil {
		return false, fmt.Errorf("wal_checkpoint(%s): %w", mode, err)
	}
	return b != 0, nil
}

// close stops the timer and checkpoints what is left, so the database file
// is whole and the WAL synced once Close returns. Later calls return the
// first one's result.
func (c *checkpointer) close() error {
	c.closed.Do(func() {
		close(c.stop)
		c.done.Wait()
		// Writers are done; the last connection's close checkpoints
		// whatever this leaves.
		_, c.err = c.checkpoint(context.Background(), "PASSIVE")
		if err := c.db.Close(); c.err == nil {
			c.err = err
		}
	})
	return c.err
}
