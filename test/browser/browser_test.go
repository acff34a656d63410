package browser

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/signet-platform/signet/client"
)

// TestConsoleInChromium: sign in with the one-time link, create a
// user-assigned identity, assign it to the dev host, grant it a role, get
// a token for it through the dev agent, and see that sign-in in the log.
func TestConsoleInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	chromium := lookTool(t, os.Getenv("CHROMIUM"), "/usr/bin/chromium", "chromium")
	node := lookTool(t, "", "", "node")
	npm := lookTool(t, "", "", "npm")

	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	artifacts := filepath.Join(here, "artifacts")
	if err := os.RemoveAll(artifacts); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(here, "node_modules", "playwright-core")); err != nil {
		run(t, here, nil, npm, "ci", "--no-audit", "--no-fund")
	}

	dev := startDev(t, filepath.Join(here, "..", ".."), artifacts)
	vars, err := client.LoadEnvFile(filepath.Join(dev.dataDir, "env"))
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"SIGNET_CONSOLE_LOGIN_URL="+dev.lines["console"],
		"SIGNET_DEV_HOST_ID="+dev.lines["dev host"],
		"SIGNET_SERVER_SPKI="+serverSPKI(t, filepath.Join(dev.dataDir, "tls", "server.pem")),
		"IDENTITY_ENDPOINT="+vars["IDENTITY_ENDPOINT"],
		"IDENTITY_HEADER="+vars["IDENTITY_HEADER"],
		"CHROMIUM="+chromium,
		"ARTIFACTS="+artifacts,
	)
	run(t, here, env, node, "console.spec.mjs")
}

// lookTool finds a program: explicit, then a fixed path, then PATH. Under
// CI a missing tool fails the test (CI installs them); elsewhere it skips.
func lookTool(t *testing.T, explicit, fixed, name string) string {
	t.Helper()
	for _, p := range []string{explicit, fixed} {
		if p == "" {
			continue
		}
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
	}
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed (.ci/run installs it)", name)
	}
	t.Skipf("%s is not installed", name)
	return ""
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s:\n%s", filepath.Base(name), strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("%s %s: %v", filepath.Base(name), strings.Join(args, " "), err)
	}
}

type devServer struct {
	dataDir string
	// lines are the values `signet dev` printed at start, by label.
	lines map[string]string
}

// startDev builds signet and runs `signet dev` on free ports until the
// test ends; its log goes to artifacts/signet.log.
func startDev(t *testing.T, root, artifacts string) devServer {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "signet")
	run(t, root, os.Environ(), "go", "build", "-o", bin, "./cmd/signet")
	dataDir := t.TempDir()
	args := []string{"dev", "--data-dir", dataDir,
		"--login-addr", "127.0.0.1:0", "--management-addr", "127.0.0.1:0", "--mirp-addr", "127.0.0.1:0",
		"--vault-addr", "127.0.0.1:0", "--blob-addr", "127.0.0.1:0",
		"--imds-addr", "127.0.0.1:0", "--appservice-addr", "127.0.0.1:0", "--arc-addr="}
	logFile, err := os.Create(filepath.Join(artifacts, "signet.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	cmd := exec.Command(bin, args...)
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	// `signet dev` prints "  label: value" lines once ready, the console
	// link last; read them, then keep draining stdout.
	lines := make(chan map[string]string, 1)
	go func() {
		got := map[string]string{}
		sc := bufio.NewScanner(stdout)
		sent := false
		for sc.Scan() {
			label, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
			if !ok || sent {
				continue
			}
			value = strings.TrimSpace(value)
			if label == "console" {
				value, _, _ = strings.Cut(value, " ")
			}
			got[label] = value
			if label == "console" {
				lines <- got
				sent = true
			}
		}
		if !sent {
			close(lines)
		}
	}()
	select {
	case got, ok := <-lines:
		if !ok {
			t.Fatal("signet dev exited before it was ready; see artifacts/signet.log")
		}
		for _, k := range []string{"console", "dev host"} {
			if got[k] == "" {
				t.Fatalf("signet dev did not print %q", k)
			}
		}
		return devServer{dataDir: dataDir, lines: got}
	case <-time.After(2 * time.Minute):
		t.Fatal("signet dev did not become ready in 2 minutes")
	}
	return devServer{}
}

// serverSPKI is the base64 SHA-256 of the serving certificate's public
// key, the form chromium's --ignore-certificate-errors-spki-list takes.
func serverSPKI(t *testing.T, certFile string) string {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatal(errors.New("no PEM block in " + certFile))
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}
