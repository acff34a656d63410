package pgtest

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// TestStartGivesFreshDatabases checks that each Start hands out its own empty,
// writable database on the shared server.
func TestStartGivesFreshDatabases(t *testing.T) {
	ctx := t.Context()
	a, b := Start(t), Start(t)
	if a == b {
		t.Fatalf("Start returned the same database twice: %s", a)
	}
	ca := connect(t, ctx, a)
	if _, err := ca.Exec(ctx, "CREATE TABLE marker (x int)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	cb := connect(t, ctx, b)
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'marker'").Scan(&n); err != nil {
		t.Fatalf("query: %v", err)
	}
	if n != 0 {
		t.Errorf("second database sees the first one's table: count = %d, want 0", n)
	}
}

func connect(t *testing.T, ctx context.Context, dsn string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}
