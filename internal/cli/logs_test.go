package cli

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLogsFiltersAndPaging(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	var queries []url.Values
	// Three pages of two; --top 3 must stop after the second.
	f.routes["GET /subscriptions/sub-1/providers/Signet.Audit/accessLogs"] = func(w http.ResponseWriter, r *http.Request) {
		queries = append(queries, r.URL.Query())
		q := r.URL.Query()
		n := len(queries)
		body := map[string]any{"value": []any{
			map[string]any{"id": fmt.Sprint("a", 2*n-1), "time": "2025-06-01T11:00:00Z", "result": "success", "tokenId": "uti-1"},
			map[string]any{"id": fmt.Sprint("a", 2*n), "time": "2025-06-01T10:00:00Z", "result": "success", "tokenId": "uti-1"},
		}}
		if n < 3 {
			q.Set("$skiptoken", fmt.Sprint("page", n+1))
			body["nextLink"] = "https://" + r.Host + r.URL.Path + "?" + q.Encode()
		}
		writeFakeJSON(w, 200, body)
	}
	out := mustRun(t, env, "logs", "access", "--token-id", "uti-1", "--resource", "/subscriptions/sub-1/resourceGroups/rg",
		"--operation", "Microsoft.KeyVault/vaults/secrets/getSecret/action", "--until", "2025-06-02T00:00:00Z", "--top", "3",
		"--output", "table")
	if n := strings.Count(out, "\n"); n != 4 {
		t.Errorf("table has %d lines, want a header and 3 entries:\n%s", n, out)
	}
	if len(queries) != 2 {
		t.Fatalf("%d requests, want 2 (stop once --top entries are in)", len(queries))
	}
	q := queries[0]
	got := []string{q.Get("tokenId"), q.Get("resourceId"), q.Get("operation"), q.Get("until"), q.Get("top")}
	want := []string{"uti-1", "/subscriptions/sub-1/resourceGroups/rg", "Microsoft.KeyVault/vaults/secrets/getSecret/action", "2025-06-02T00:00:00Z", "3"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("query (-want +got):\n%s", d)
	}
	if queries[1].Get("$skiptoken") != "page2" || queries[1].Get("tokenId") != "uti-1" {
		t.Errorf("second request %v, want the nextLink's query", queries[1])
	}
	for _, args := range [][]string{
		{"logs", "access", "--result", "maybe"},
		{"logs", "signins", "--until", "yesterday"},
		{"logs", "export"},
		{"logs", "export", "--stream", "nope"},
		{"logs", "verify", "--stream", "nope"},
	} {
		if res := run(t, env, args...); res.code != exitUsage {
			t.Errorf("signet %s: exit %d, want %d", strings.Join(args, " "), res.code, exitUsage)
		}
	}
}

func TestLogsExport(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	lines := `{"id":"s2","seq":2}` + "\n" + `{"id":"s1","seq":1}` + "\n"
	var query url.Values
	f.routes["GET /subscriptions/sub-1/providers/Signet.Audit/export"] = func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		w.Header().Set("Content-Type", "application/x-ndjson")
		fmt.Fprint(w, lines)
	}
	out := mustRun(t, env, "logs", "export", "--stream", "signins", "--since", "2025-06-01T00:00:00Z", "--principal", "p-1")
	if out != lines {
		t.Errorf("export wrote %q, want the server's lines unchanged %q", out, lines)
	}
	if got := []string{query.Get("stream"), query.Get("since"), query.Get("principalId"), query.Get("top")}; !cmp.Equal(got, []string{"signins", "2025-06-01T00:00:00Z", "p-1", ""}) {
		t.Errorf("export query = %v", query)
	}
}

func TestLogsVerify(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	broken := false
	f.routes["POST /subscriptions/sub-1/providers/Signet.Audit/verify"] = func(w http.ResponseWriter, r *http.Request) {
		bad := map[string]any{"ok": true, "checked": 2, "headSeq": 2}
		if broken {
			bad = map[string]any{"ok": false, "checked": 1, "headSeq": 3,
				"firstBad": map[string]any{"seq": 2, "id": "s2", "reason": "altered: hash does not match the record's fields"}}
		}
		writeFakeJSON(w, 200, map[string]any{
			"signins":  bad,
			"activity": map[string]any{"ok": true, "checked": 5, "headSeq": 5},
			"access":   map[string]any{"ok": true, "checked": 0, "headSeq": 0},
		})
	}
	out := mustRun(t, env, "logs", "verify", "--output", "table")
	if !strings.Contains(out, "signins   true") {
		t.Errorf("intact chains:\n%s", out)
	}
	broken = true
	res := run(t, env, "logs", "verify", "--output", "table")
	if res.code != exitError {
		t.Errorf("broken chain: exit %d, want %d", res.code, exitError)
	}
	if want := "signet: audit log chain broken: signins: record seq 2 (id s2): altered"; !strings.HasPrefix(res.stderr, want) {
		t.Errorf("stderr %q, want it to start %q", res.stderr, want)
	}
	if !strings.Contains(res.stdout, "false") {
		t.Errorf("the table should still be printed:\n%s", res.stdout)
	}
}
