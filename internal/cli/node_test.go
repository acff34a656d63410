package cli

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const machineID = groupID + "/providers/Microsoft.HybridCompute/machines/m1"

// joinTokens serves the join-token endpoint of every host in the fake and
// records the ttl asked for.
func joinTokens(f *armFake, ttls *[]string) {
	for _, host := range []string{vmID, machineID} {
		f.routes["POST "+host+"/providers/Signet.Identity/joinTokens"] = func(w http.ResponseWriter, r *http.Request) {
			*ttls = append(*ttls, r.URL.Query().Get("ttl"))
			writeFakeJSON(w, 200, map[string]any{"token": "join-secret", "expiresOn": "2026-05-01T13:00:00Z", "resourceId": host})
		}
	}
}

func TestNodeJoinToken(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantTTL string
		wantID  string
	}{
		{"VM by name", []string{"--vm", "vm1", "--group", "rg"}, "1h0m0s", vmID},
		{"resource id and ttl", []string{"--resource", machineID, "--ttl", "15m"}, "15m0s", machineID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newARMFake(t)
			var ttls []string
			joinTokens(f, &ttls)
			out := mustRun(t, f.env(), append([]string{"node", "join-token"}, tt.args...)...)
			var got map[string]any
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("stdout %q: %v", out, err)
			}
			want := map[string]any{"token": "join-secret", "expiresOn": "2026-05-01T13:00:00Z", "resourceId": tt.wantID}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("JSON output (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{tt.wantTTL}, ttls); diff != "" {
				t.Errorf("ttl sent (-want +got):\n%s", diff)
			}
		})
	}

	f := newARMFake(t)
	var ttls []string
	joinTokens(f, &ttls)
	if got := mustRun(t, f.env(), "node", "join-token", "--vm", "vm1", "--group", "rg", "--output", "table"); got != "join-secret\n" {
		t.Errorf("table output = %q, want just the token", got)
	}
}

func TestNodeJoinTokenUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no host", nil, "--resource or --vm is required"},
		{"both", []string{"--resource", vmID, "--vm", "vm1", "--group", "rg"}, "not both"},
		{"vm without group", []string{"--vm", "vm1"}, "--group is required with --vm"},
		{"name as resource", []string{"--resource", "vm1"}, "is not a resource id"},
		{"bad ttl", []string{"--vm", "vm1", "--group", "rg", "--ttl", "1d"}, "invalid value"},
		{"zero ttl", []string{"--vm", "vm1", "--group", "rg", "--ttl", "0s"}, "--ttl must be positive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newARMFake(t)
			res := run(t, f.env(), append([]string{"node", "join-token"}, tt.args...)...)
			if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) {
				t.Errorf("exit %d stderr %q, want usage error with %q", res.code, res.stderr, tt.want)
			}
			if n := len(f.armRequests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

func TestNodeListAndRemove(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	f.routes["GET /subscriptions/sub-1/providers/Signet.Identity/nodes"] = func(w http.ResponseWriter, r *http.Request) {
		writeFakeJSON(w, 200, map[string]any{"value": []any{
			map[string]any{"id": "n1", "hostResourceId": vmID, "createdAt": "2026-05-01T12:00:00Z"},
			map[string]any{"id": "n2", "hostResourceId": machineID, "createdAt": "2026-05-01T12:00:01Z", "removedAt": "2026-05-01T12:30:00Z"},
		}})
	}
	f.routes["DELETE /subscriptions/sub-1/providers/Signet.Identity/nodes/n1"] = func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(200)
	}
	f.fail["DELETE /subscriptions/sub-1/providers/Signet.Identity/nodes/nope"] = armError{404, "ResourceNotFound", "The node 'nope' could not be found."}

	got := mustRun(t, env, "node", "list", "--output", "table")
	want := "" +
		"ID  HOST  GROUP  CREATED               REMOVED\n" +
		"n1  vm1   rg     2026-05-01T12:00:00Z  -\n" +
		"n2  m1    rg     2026-05-01T12:00:01Z  2026-05-01T12:30:00Z\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("node list table (-want +got):\n%s", diff)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "node", "list")), &list); err != nil || len(list) != 2 || list[1]["removedAt"] != "2026-05-01T12:30:00Z" {
		t.Errorf("node list JSON = %v (%v), want both nodes as served", list, err)
	}

	if out := mustRun(t, env, "node", "remove", "--id", "n1"); out != "" {
		t.Errorf("node remove printed %q, want nothing", out)
	}
	res := run(t, env, "node", "remove", "--id", "nope")
	if res.code != exitError || res.stderr != "signet: ResourceNotFound: The node 'nope' could not be found.\n" {
		t.Errorf("removing an unknown node: exit %d stderr %q", res.code, res.stderr)
	}
	if res := run(t, env, "node", "remove"); res.code != exitUsage {
		t.Errorf("node remove without --id: exit %d, want %d", res.code, exitUsage)
	}
	reqs := f.armRequests()
	if last := reqs[len(reqs)-1]; last.Method != "DELETE" || !strings.HasSuffix(last.Path, "/nodes/nope") {
		t.Errorf("last request %s %s, want the DELETE of node nope", last.Method, last.Path)
	} else if q, _ := url.ParseQuery(last.Query); q.Get("api-version") == "" {
		t.Errorf("DELETE without api-version")
	}
}
