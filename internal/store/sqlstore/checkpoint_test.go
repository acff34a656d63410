package sqlstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// bigWrite commits an 8 MB row (about 2,000 pages) in one Write.
func bigWrite(t *testing.T, s *Store) {
	t.Helper()
	err := s.Write(t.Context(), func(stx store.Tx) error {
		_, err := stx.(*tx).exec("CREATE TABLE IF NOT EXISTS scratch (b BLOB)")
		if err == nil {
			_, err = stx.(*tx).exec("INSERT INTO scratch VALUES (randomblob(8000000))")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// dbSize is the size of the database file itself: what checkpoints have
// copied out of the WAL.
func dbSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// The writer never checkpoints, however big the WAL grows (SQLite's own
// policy would at 1,000 pages); Close checkpoints what is left.
func TestWriterLeavesCheckpointsToTheCheckpointer(t *testing.T) {
	defer func(d time.Duration) { checkpointEvery = d }(checkpointEvery)
	checkpointEvery = time.Hour
	path := filepath.Join(t.TempDir(), "signet.db")
	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	bigWrite(t, s)
	bigWrite(t, s)
	if got := dbSize(t, path); got >= 8_000_000 {
		t.Errorf("database file is %d bytes after two 8 MB commits with no checkpointer tick: the writer checkpointed", got)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if got := dbSize(t, path); got < 16_000_000 {
		t.Errorf("database file is %d bytes after Close, want both 8 MB rows in it", got)
	}
}

// With commits since its last run, the checkpointer copies the WAL into
// the database on its next tick.
func TestCheckpointerRunsAfterCommits(t *testing.T) {
	defer func(d time.Duration) { checkpointEvery = d }(checkpointEvery)
	checkpointEvery = 10 * time.Millisecond
	path := filepath.Join(t.TempDir(), "signet.db")
	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bigWrite(t, s)
	deadline := time.Now().Add(10 * time.Second)
	for dbSize(t, path) < 8_000_000 {
		if time.Now().After(deadline) {
			t.Fatal("the commit was not checkpointed into the database within 10 s")
		}
		time.Sleep(time.Millisecond) // polling the file, not guessing a duration
	}
}

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	return dbSize(t, path+"-wal")
}

// A write that lands between a run's two steps (as under a steady load) is
// copied by the second, and the WAL is rewound: the next commit writes it
// from its start instead of growing it. (What the write slot adds, that no
// writer can slip in during the second step, needs a steady concurrent
// writer to show; bench/keyvault's rounds show it: without it each round
// slows as the WAL grows.)
func TestCheckpointRewindsTheWALUnderWrites(t *testing.T) {
	defer func(d time.Duration) { checkpointEvery = d }(checkpointEvery)
	checkpointEvery = time.Hour // runs only when the test says
	path := filepath.Join(t.TempDir(), "signet.db")
	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bigWrite(t, s)
	testHookAfterPassive = func() { bigWrite(t, s) }
	defer func() { testHookAfterPassive = nil }()
	if err := s.checkpoint.runOnce(); err != nil {
		t.Fatal(err)
	}
	testHookAfterPassive = nil
	before := walSize(t, path)
	bigWrite(t, s)
	if after := walSize(t, path); after > before {
		t.Errorf("WAL grew from %d to %d bytes: it was not rewound", before, after)
	}
}

// A reader that holds on to the WAL makes the RESTART step report busy
// (SQLite does not fail it): the checkpointer runs again on its next tick
// even if nothing is committed meanwhile, so the WAL is still synced and
// rewound soon after the reader lets go.
func TestCheckpointHeldByAReaderRunsAgain(t *testing.T) {
	defer func(d time.Duration) { checkpointEvery = d }(checkpointEvery)
	checkpointEvery = time.Hour // runs only when the test says
	path := filepath.Join(t.TempDir(), "signet.db")
	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	bigWrite(t, s)
	rtx, err := s.read.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := rtx.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM scratch").Scan(&n); err != nil {
		t.Fatal(err)
	}
	bigWrite(t, s) // past the reader's snapshot
	s.checkpoint.commits.Store(0)
	if err := s.checkpoint.runOnce(); err != nil {
		t.Fatalf("runOnce with a reader holding on: %v", err)
	}
	if s.checkpoint.commits.Load() == 0 {
		t.Error("after a busy checkpoint the next tick would skip: no retry was scheduled")
	}
	rtx.Rollback()
	s.checkpoint.commits.Store(0)
	if err := s.checkpoint.runOnce(); err != nil {
		t.Fatal(err)
	}
	if s.checkpoint.commits.Load() != 0 {
		t.Error("a checkpoint with no reader holding on still scheduled a retry")
	}
}
