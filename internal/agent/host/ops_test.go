package host_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/metrics"
)

func opsGet(t *testing.T, base, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The operations endpoint: alive, ready while MIRP answers syncs, the
// cache counters moving with requests; and not ready once MIRP drops the
// node.
func TestOpsEndpoint(t *testing.T) {
	w := newWorld(t)
	join, _, err := w.MIRP.CreateJoinToken(t.Context(), w.vmID, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	cfg := w.config(t, t.TempDir(), join)
	cfg.OpsAddr = "127.0.0.1:0"
	m := metrics.New()
	cfg.Metrics = m.AgentHandler
	cfg.Middleware = m.AgentMiddleware(discard())
	cfg.ReadyWithin = time.Millisecond // raised to three sync intervals
	a := start(t, cfg)
	ops := a.OpsURL()
	if ops == "" {
		t.Fatal("no operations endpoint")
	}

	if code, body := opsGet(t, ops, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := opsGet(t, ops, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %q, want 200 after a good sync", code, body)
	}

	hits := func() string {
		_, body := opsGet(t, ops, "/metrics")
		for _, l := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(l, "signet_agent_token_cache_hits_total "); ok {
				return v
			}
		}
		t.Fatalf("no signet_agent_token_cache_hits_total in /metrics")
		return ""
	}
	if got := hits(); got != "0" {
		t.Errorf("hits before any request = %s, want 0", got)
	}
	for range 2 {
		req, _ := http.NewRequest(http.MethodGet, a.IMDSURL()+"/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+
			url.QueryEscape("https://management.azure.com/"), nil)
		req.Header.Set("Metadata", "true")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("IMDS token: %s", resp.Status)
		}
		if resp.Header.Get("x-ms-request-id") == "" {
			t.Error("no x-ms-request-id on the IMDS answer")
		}
	}
	if got := hits(); got != "1" {
		t.Errorf("hits after two requests for one token = %s, want 1", got)
	}

	// MIRP drops the node: syncs fail, and within a few sync intervals the
	// agent says it is not ready (it still serves what it has).
	if err := w.MIRP.RemoveNode(t.Context(), a.Stats().NodeID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := opsGet(t, ops, "/readyz")
		if code == http.StatusServiceUnavailable && strings.Contains(body, "sync") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz = %d %q ten seconds after the node was removed, want 503", code, body)
		}
		time.Sleep(50 * time.Millisecond) // polling a real agent's sync loop; no fake clock reaches it
	}
	if code, _ := opsGet(t, ops, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200: the process is alive", code)
	}
}
