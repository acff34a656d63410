package cli

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestTokenGet(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	var got map[string]any
	if err := json.Unmarshal([]byte(mustRun(t, env, "token", "get", "--resource", "https://vault.azure.net")), &got); err != nil {
		t.Fatal(err)
	}
	exp, err := time.Parse(time.RFC3339, got["expiresOn"].(string))
	if err != nil || time.Until(exp) < 59*time.Minute || int64(got["expires_on"].(float64)) != exp.Unix() {
		t.Errorf("expiresOn %v expires_on %v (%v), want ~1h ahead and equal", got["expiresOn"], got["expires_on"], err)
	}
	delete(got, "expiresOn")
	delete(got, "expires_on")
	want := map[string]any{"accessToken": fakeToken, "tokenType": "Bearer", "tenant": fakeTenant, "subscription": fakeSub}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("token get (-want +got):\n%s", diff)
	}
	f.mu.Lock()
	form, _ := url.ParseQuery(f.requests[len(f.requests)-1].Body)
	f.mu.Unlock()
	if got := form.Get("scope"); got != "https://vault.azure.net/.default" {
		t.Errorf("scope = %q", got)
	}
	if got := mustRun(t, env, "token", "get", "--output", "table"); got != fakeToken+"\n" {
		t.Errorf("table output = %q, want just the token", got)
	}
}

func TestLogs(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	var query url.Values
	f.routes["GET /subscriptions/sub-1/providers/Signet.Audit/signIns"] = func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		writeFakeJSON(w, 200, map[string]any{"value": []any{
			map[string]any{"id": "s2", "time": "2025-06-01T11:00:00Z", "principalId": "p-1", "clientId": "c-1", "resource": "https://vault.azure.net", "result": "failure", "errorCode": "AADSTS7000215", "reason": "bad secret", "future": true},
			map[string]any{"id": "s1", "time": "2025-06-01T10:00:00Z", "principalId": "p-1", "clientId": "c-1", "resource": "https://management.azure.com/", "result": "success"},
		}})
	}
	f.routes["GET /subscriptions/sub-1/providers/Microsoft.Insights/eventtypes/management/values"] = func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.Query()
		writeFakeJSON(w, 200, map[string]any{"value": []any{
			map[string]any{"id": "e1", "time": "2025-06-01T11:00:00Z", "callerId": "p-1", "operation": "Microsoft.Compute/virtualMachines/write", "resourceId": vmID, "result": "success", "status": 201},
		}})
	}

	before := time.Now()
	out := mustRun(t, env, "logs", "signins", "--since", "2h", "--principal", "p-1", "--result", "failure", "--top", "5")
	since, err := time.Parse(time.RFC3339, query.Get("since"))
	if err != nil || since.After(before.Add(-2*time.Hour)) || since.Before(before.Add(-2*time.Hour-time.Minute)) {
		t.Errorf("since = %q (%v), want two hours ago", query.Get("since"), err)
	}
	if got, want := []string{query.Get("principalId"), query.Get("result"), query.Get("top")}, []string{"p-1", "failure", "5"}; !cmp.Equal(got, want) {
		t.Errorf("query %v, want %v", got, want)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(out), &entries); err != nil || len(entries) != 2 || entries[0]["future"] != true {
		t.Errorf("signins JSON = %s (%v), want the server's objects unchanged", out, err)
	}

	got := mustRun(t, env, "logs", "signins", "--output", "table")
	want := "" +
		"TIME                  RESULT   PRINCIPAL ID  CLIENT ID  RESOURCE                       ERROR          REASON\n" +
		"2025-06-01T11:00:00Z  failure  p-1           c-1        https://vault.azure.net        AADSTS7000215  bad secret\n" +
		"2025-06-01T10:00:00Z  success  p-1           c-1        https://management.azure.com/  -              -\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("signins table (-want +got):\n%s", diff)
	}

	got = mustRun(t, env, "logs", "activity", "--since", "2025-06-01T00:00:00Z", "--principal", "p-1", "--result", "success", "--top", "10", "--output", "table")
	want = "" +
		"TIME                  RESULT   STATUS  CALLER  OPERATION                                RESOURCE\n" +
		"2025-06-01T11:00:00Z  success  201     p-1     Microsoft.Compute/virtualMachines/write  " + vmID + "\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("activity table (-want +got):\n%s", diff)
	}
	if got, want := query.Encode(), "api-version=2015-04-01&principalId=p-1&result=success&since=2025-06-01T00%3A00%3A00Z&top=10"; got != want {
		t.Errorf("activity query = %q, want %q", got, want)
	}
}

func TestKeysRotate(t *testing.T) {
	f := newARMFake(t)
	env := f.env()
	f.routes["POST /providers/Signet.Keys/rotate"] = func(w http.ResponseWriter, r *http.Request) {
		writeFakeJSON(w, 200, map[string]any{"kid": "k2", "publishAt": "2025-06-01T12:00:00Z", "activeAt": "2025-06-02T12:00:00Z"})
	}
	got := mustRun(t, env, "keys", "rotate", "--output", "table")
	want := "KID  PUBLISH AT            ACTIVE AT\nk2   2025-06-01T12:00:00Z  2025-06-02T12:00:00Z\n"
	if got != want {
		t.Errorf("keys rotate:\n%s\nwant:\n%s", got, want)
	}
	f.fail["POST /providers/Signet.Keys/rotate"] = armError{403, "AuthorizationFailed", "The client 'admin' does not have authorization to perform action 'Signet.Keys/rotate/action'."}
	res := run(t, env, "keys", "rotate")
	if res.code != exitError || !strings.HasPrefix(res.stderr, "signet: AuthorizationFailed: The client") || res.stdout != "" {
		t.Errorf("forbidden rotate: %+v", res)
	}
}
