package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// startTimeout bounds how long a server may take to accept connections.
const startTimeout = 60 * time.Second

var (
	// shared is the server Main started, nil outside Main.
	sharedMu sync.Mutex
	shared   *server
	inMain   atomic.Bool
	dbSeq    atomic.Int64
	// createMu serializes CREATE DATABASE: concurrent copies of the template
	// database can fail with "source database is being accessed".
	createMu sync.Mutex
)

// Main runs the tests with one PostgreSQL server shared by every Start call
// in the binary, stops it, and exits. Use it as
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// The server starts lazily, at the first Start, so a binary whose PostgreSQL
// tests are filtered out never starts one.
func Main(m *testing.M) {
	inMain.Store(true)
	code := m.Run()
	sharedMu.Lock()
	if shared != nil {
		shared.stop()
		shared = nil
	}
	sharedMu.Unlock()
	os.Exit(code)
}

// Start returns the connection string of a new, empty database owned by the
// test: postgres://postgres@127.0.0.1:PORT/NAME?sslmode=disable.
func Start(t testing.TB) (dsn string) {
	t.Helper()
	bin, err := findBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("pgtest: PostgreSQL is required in CI: %v", err)
		}
		t.Skipf("pgtest: skipping, PostgreSQL not installed: %v", err)
	}

	var srv *server
	if inMain.Load() {
		sharedMu.Lock()
		if shared == nil {
			shared, err = startServer(bin)
		}
		srv = shared
		sharedMu.Unlock()
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	} else {
		srv, err = startServer(bin)
		if err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		t.Cleanup(srv.stop)
	}

	name := fmt.Sprintf("test_%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	createMu.Lock()
	err = srv.admin(ctx, "CREATE DATABASE "+name)
	createMu.Unlock()
	if err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	if inMain.Load() {
		// Registered before the caller's cleanups, so it runs after them
		// (after the test's store is closed). FORCE ends any connection a
		// test leaked.
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := srv.admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
				t.Logf("pgtest: drop database %s: %v", name, err)
			}
		})
	}
	return srv.dsn(name)
}

type binaries struct{ initdb, pgCtl string }

// findBinaries looks on PATH first, then in Debian's versioned directories,
// newest version first.
func findBinaries() (binaries, error) {
	initdb, err1 := exec.LookPath("initdb")
	pgCtl, err2 := exec.LookPath("pg_ctl")
	_, err3 := exec.LookPath("postgres")
	if err1 == nil && err2 == nil && err3 == nil {
		return binaries{initdb: initdb, pgCtl: pgCtl}, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		b := binaries{initdb: filepath.Join(d, "initdb"), pgCtl: filepath.Join(d, "pg_ctl")}
		if isExec(b.initdb) && isExec(b.pgCtl) && isExec(filepath.Join(d, "postgres")) {
			return b, nil
		}
	}
	return binaries{}, errors.New("initdb, pg_ctl and postgres not found on PATH or under /usr/lib/postgresql/*/bin")
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

type server struct {
	bin     binaries
	dir     string // temp dir: data/, sock/, postgres-PORT.log
	sock    string
	port    int
	cred    *syscall.Credential // non-nil when running as root
	stopped atomic.Bool
}

func (s *server) dsn(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// socketDSN reaches the server through its private socket directory: unlike
// the TCP port, which another process may have taken between freePort and
// the server's bind, it cannot lead to someone else's server.
func (s *server) socketDSN(db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, s.sock, s.port)
}

func (s *server) admin(ctx context.Context, stmt string) error {
	conn, err := pgx.Connect(ctx, s.socketDSN("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, stmt)
	return err
}

func startServer(bin binaries) (*server, error) {
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, dir: dir}
	if os.Geteuid() == 0 {
		// initdb and postgres refuse to run as root.
		cred, err := postgresCredential()
		if err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		s.cred = cred
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	if out, err := s.run(bin.initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	sock := filepath.Join(dir, "sock")
	s.sock = sock
	if err := os.Mkdir(sock, 0o700); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if s.cred != nil {
		if err := os.Chown(sock, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}

	// The free port is found by binding and releasing it, so another process
	// may take it in between: try a few ports before giving up.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		s.port = port
		if lastErr = s.startOn(data, sock); lastErr == nil {
			return s, nil
		}
	}
	s.stop()
	return nil, lastErr
}

func (s *server) startOn(data, sock string) error {
	// One log per attempt: pg_ctl appends, and an earlier attempt's FATAL
	// must not fail this one.
	logFile := filepath.Join(s.dir, fmt.Sprintf("postgres-%d.log", s.port))
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB", s.port, sock)
	// -W: do not wait here; readiness is polled below with a deadline.
	if out, err := s.run(s.bin.pgCtl, "start", "-W", "-D", data, "-l", logFile, "-o", opts); err != nil {
		return fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, s.socketDSN("postgres"))
		if err == nil {
			conn.Close(ctx)
			// Our postmaster is up, so it holds the TCP port too: failing
			// to bind listen_addresses is fatal at startup.
			return nil
		}
		// A postmaster that failed to start (the port was taken after all)
		// logs its exit: give up on this port at once. (Not any FATAL line:
		// our own early connection attempts log "is starting up" ones.)
		if log, _ := os.ReadFile(logFile); bytes.Contains(log, []byte("database system is shut down")) {
			s.pgStop(data)
			return fmt.Errorf("PostgreSQL failed to start on port %d:\n%s", s.port, log)
		}
		select {
		case <-ctx.Done():
			log, _ := os.ReadFile(logFile)
			s.pgStop(data)
			return fmt.Errorf("PostgreSQL did not accept connections within %v: %v\n%s", startTimeout, err, log)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *server) pgStop(data string) {
	_, _ = s.run(s.bin.pgCtl, "stop", "-D", data, "-m", "immediate", "-w")
}

// stop stops the server and removes its files; safe to call more than once.
func (s *server) stop() {
	if s.stopped.Swap(true) {
		return
	}
	s.pgStop(filepath.Join(s.dir, "data"))
	os.RemoveAll(s.dir)
}

func (s *server) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = s.dir
	if s.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.Bytes(), err
}

func postgresCredential() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres user to run PostgreSQL as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort is a variable so that a test can hand out a taken port.
var freePort = func() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
