package pgtest

import (
	"context"
	"net"
	"os"
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

// TestStartRetriesTakenPort gives the server a port another process holds,
// as happens when that process binds it between freePort and the server's
// start: the server must move to another port, not fail or wait out its
// start timeout.
func TestStartRetriesTakenPort(t *testing.T) {
	bin, err := findBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err) // .ci/run installs PostgreSQL
		}
		t.Skip(err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	real := freePort
	calls := 0
	freePort = func() (int, error) {
		calls++
		if calls == 1 {
			return takenPort, nil
		}
		return real()
	}
	defer func() { freePort = real }()

	srv, err := startServer(bin)
	if err != nil {
		t.Fatalf("startServer: %v", err)
	}
	defer srv.stop()
	if srv.port == takenPort || calls != 2 {
		t.Errorf("server on port %d after %d tries; want a port other than the taken %d, on the second try", srv.port, calls, takenPort)
	}
	c := connect(t, t.Context(), srv.dsn("postgres"))
	var one int
	if err := c.QueryRow(t.Context(), "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("query over TCP: %d, %v", one, err)
	}
}
