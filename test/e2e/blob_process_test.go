package e2e

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/server"
)

// These tests run `signet dev` as a child process, so that it can be
// killed with SIGKILL and its memory measured from /proc.

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// signetBinary builds cmd/signet once per test run.
func signetBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "signet-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "signet")
		out, err := exec.Command("go", "build", "-o", builtBin, "../../cmd/signet").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("building signet: %v", buildErr)
	}
	return builtBin
}

// addrFlag matches a listen-address flag in `signet dev -h`.
var addrFlag = regexp.MustCompile(`(?m)^\s+-([a-z-]+-addr) string`)

// proc is one `signet dev` child process and a signet view of it that the
// in-process helpers (createStorageAccount, grant, blobClient) accept.
type proc struct {
	*signet
	cmd *exec.Cmd
}

// startProcess runs `signet dev` on dataDir with every listener on a free
// port and waits for the env file it writes once it serves.
func startProcess(t *testing.T, dataDir string) *proc {
	t.Helper()
	bin := signetBinary(t)
	envFile := filepath.Join(dataDir, "env")
	os.Remove(envFile)
	// Every listener on a free port (whatever listeners this build has),
	// so that this process never collides with another Signet.
	args := []string{"dev", "--data-dir", dataDir, "--no-agent"}
	help, _ := exec.Command(bin, "dev", "-h").CombinedOutput()
	for _, m := range addrFlag.FindAllStringSubmatch(string(help), -1) {
		args = append(args, "--"+m[1], "127.0.0.1:0")
	}
	cmd := exec.Command(bin, args...)
	logFile, err := os.Create(filepath.Join(t.TempDir(), "signet.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(30 * time.Second)
	var env map[string]string
	for {
		if env = readEnvFile(envFile); env["SIGNET_URL"] != "" {
			break
		}
		if time.Now().After(deadline) || cmd.ProcessState != nil {
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("signet dev did not write %s in time; log:\n%s", envFile, log)
		}
		time.Sleep(50 * time.Millisecond) // polling a file another process writes
	}
	caFile := filepath.Join(dataDir, "tls", "ca.pem")
	p.signet = &signet{
		Running: &server.Running{STSURL: env["AZURE_AUTHORITY_HOST"], ARMURL: env["SIGNET_URL"], CAFile: caFile,
			Dev: &server.DevBootstrap{TenantID: env["AZURE_TENANT_ID"], SubscriptionID: env["SIGNET_SUBSCRIPTION_ID"],
				ResourceGroup: env["SIGNET_RESOURCE_GROUP"], ClientID: env["SIGNET_CLIENT_ID"],
				ClientSecret: env["SIGNET_CLIENT_SECRET"]}},
		dataDir: dataDir,
		http:    trustingClient(t, caFile),
	}
	p.signet.http.Timeout = 5 * time.Minute
	// The env file has no object id; the admin's token does.
	tok := getToken(t, p.adminCredential(t), "https://management.azure.com/.default")
	payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok.Token, ".")[1])
	var claims struct {
		OID string `json:"oid"`
	}
	json.Unmarshal(payload, &claims)
	p.Dev.ObjectID = claims.OID
	return p
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

func readEnvFile(path string) map[string]string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "export ")
		if !ok {
			continue
		}
		k, v, _ := strings.Cut(line, "=")
		out[k] = strings.ReplaceAll(strings.Trim(v, "'"), `'\''`, "'")
	}
	return out
}

// rss is the process's resident set size in bytes, from /proc.
func (p *proc) rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// genReader is a seekable stream of size deterministic bytes, so a GiB can
// be sent without holding it.
type genReader struct {
	off, size int64
	seed      byte
}

func genByte(i int64, seed byte) byte { return byte(i*131+(i>>9)*7) ^ seed }

func (g *genReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), g.size-g.off))
	for i := range n {
		p[i] = genByte(g.off+int64(i), g.seed)
	}
	g.off += int64(n)
	return n, nil
}

func (g *genReader) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
		g.off = off
	case io.SeekCurrent:
		g.off += off
	case io.SeekEnd:
		g.off = g.size + off
	}
	return g.off, nil
}

func (g *genReader) Close() error { return nil }
