package e2e

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Every Signet the suite starts logs into suiteLog; when the suite is done,
// TestMain checks that no token, key or client secret reached any of it.
var (
	suiteLog     lockedBuffer
	suiteServers atomic.Int64 // Signets started; with none, nothing was logged
	suiteSecrets struct {
		sync.Mutex
		values []string
	}
)

// suiteLogger is the logger each test server (and agent) writes to.
func suiteLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(&suiteLog, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// noteSecret names a value that must never appear in any log line.
func noteSecret(v string) {
	if len(v) < 8 {
		return
	}
	suiteSecrets.Lock()
	suiteSecrets.values = append(suiteSecrets.values, v)
	suiteSecrets.Unlock()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := checkSuiteLog(suiteLog.String()); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL: the end-to-end suite's logs leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func checkSuiteLog(out string) error {
	if len(out) == 0 && suiteServers.Load() > 0 {
		return fmt.Errorf("no log output was captured at all (is the harness logging to suiteLog?)")
	}
	if m := jwtShape.FindString(out); m != "" {
		return fmt.Errorf("a JWT appears in the logs: %.40s…", m)
	}
	for _, marker := range []string{"PRIVATE KEY", "Bearer ey", "client_secret=", "client_assertion="} {
		if strings.Contains(out, marker) {
			return fmt.Errorf("%q appears in the logs", marker)
		}
	}
	suiteSecrets.Lock()
	defer suiteSecrets.Unlock()
	for _, v := range suiteSecrets.values {
		if strings.Contains(out, v) {
			return fmt.Errorf("a secret noted by a test (%.4s…) appears in the logs", v)
		}
	}
	return nil
}

// The end-of-suite check refuses what it must: a JWT, a key, a noted secret.
func TestSuiteLogCheckCatchesLeaks(t *testing.T) {
	noteSecret("s3cr3t-noted-by-a-test")
	for name, leak := range map[string]string{
		"jwt":    "msg=x token=eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwcyJ9.c2lnbmF0dXJl\n",
		"key":    "-----BEGIN PRIVATE KEY-----\n",
		"bearer": "authorization=\"Bearer eyJhbGci\"\n",
		"noted":  "msg=oops value=s3cr3t-noted-by-a-test\n",
	} {
		if checkSuiteLog("level=INFO msg=fine\n"+leak) == nil {
			t.Errorf("%s leak not caught", name)
		}
	}
	if err := checkSuiteLog("level=INFO msg=fine\n"); err != nil {
		t.Errorf("clean log refused: %v", err)
	}
}
