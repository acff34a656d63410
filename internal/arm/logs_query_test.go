package arm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/store"
)

// pages follows nextLink from target and returns every page's ids, failing
// on a link that leaves the path or does not end.
func pages[T any](t *testing.T, e *env, token, target string, id func(T) string) []string {
	t.Helper()
	var ids []string
	for range 100 {
		var l list[T]
		e.must(http.StatusOK, token, http.MethodGet, target, nil).decode(t, &l)
		for _, v := range l.Value {
			ids = append(ids, id(v))
		}
		if l.NextLink == "" {
			return ids
		}
		u, err := url.Parse(l.NextLink)
		if err != nil || u.Scheme != "https" || u.Host != "management.signet.test" {
			t.Fatalf("nextLink %q: want an https link on the control plane", l.NextLink)
		}
		target = u.RequestURI()
	}
	t.Fatal("paging does not end")
	return nil
}

func TestAuditQueryPaging(t *testing.T) {
	e := newEnv(t)
	base := e.now.Add(-2 * time.Hour)
	var ins []store.SignIn
	for i := range 30 {
		ins = append(ins, store.SignIn{
			ID: fmt.Sprintf("s%02d", i), Time: base.Add(time.Duration(i/2) * time.Minute), // pairs share a time
			TenantID: tenant1, PrincipalID: []string{"p1", "p2", "p3"}[i%3], Result: []string{"success", "failure"}[i%2],
			TokenID: fmt.Sprintf("uti-%d", i),
		})
	}
	ins = append(ins, store.SignIn{ID: "other-tenant", Time: base, TenantID: tenant2, PrincipalID: "p1", Result: "success"})
	e.write(func(tx store.Tx) error { return tx.AppendSignIns(ins) })

	// want lists the ids of tenant one's records that keep selects, newest first.
	want := func(keep func(store.SignIn) bool) []string {
		var out []string
		for i := len(ins) - 2; i >= 0; i-- {
			if keep(ins[i]) {
				out = append(out, ins[i].ID)
			}
		}
		return out
	}
	since, until := base.Add(3*time.Minute), base.Add(11*time.Minute)
	cases := []struct {
		name, query string
		keep        func(store.SignIn) bool
	}{
		{"all", "", func(store.SignIn) bool { return true }},
		{"principal", "&principalId=P2", func(r store.SignIn) bool { return r.PrincipalID == "p2" }},
		{"principal, result and window",
			"&principalId=p1&result=success&since=" + since.Format(time.RFC3339) + "&until=" + until.Format(time.RFC3339),
			func(r store.SignIn) bool {
				return r.PrincipalID == "p1" && r.Result == "success" && !r.Time.Before(since) && r.Time.Before(until)
			}},
		{"token", "&tokenId=uti-7", func(r store.SignIn) bool { return r.TokenID == "uti-7" }},
	}
	for _, c := range cases {
		for _, top := range []int{1, 4, 1000} {
			got := pages(t, e, "admin", fmt.Sprintf("/subscriptions/%s/providers/Signet.Audit/signIns%s%s&top=%d", sub1, api, c.query, top),
				func(v signInJSON) string { return v.ID })
			if d := cmp.Diff(want(c.keep), got); d != "" {
				t.Errorf("%s, top %d (-want +got):\n%s", c.name, top, d)
			}
		}
	}
}

func TestAuditScopesAndPermissions(t *testing.T) {
	e := newEnv(t)
	rg1, rg2 := groupPath("rg1"), groupPath("rg2")
	vault := rg1 + "/providers/Microsoft.KeyVault/vaults/v1"
	e.write(func(tx store.Tx) error {
		return tx.AppendAccess([]store.Access{
			{ID: "a1", Time: e.now, TenantID: tenant1, CallerID: "p1", Service: "keyvault", ResourceID: vault, Action: "getSecret", Result: "success", TokenID: "uti-1"},
			{ID: "a2", Time: e.now, TenantID: tenant1, CallerID: "p1", Service: "blob", ResourceID: rg2 + "/providers/Microsoft.Storage/storageAccounts/s", Action: "read", Result: "success", TokenID: "uti-2"},
			{ID: "a3", Time: e.now, TenantID: tenant2, CallerID: "p9", Service: "blob", ResourceID: "/subscriptions/" + sub2 + "/resourceGroups/x", Action: "read", Result: "success", TokenID: "uti-1"},
		})
	})
	e.principal("rg1-logs", tenant1, authz.LogReaderRoleID, rg1)
	e.principal("sub-logs", tenant1, authz.LogReaderRoleID, "/subscriptions/"+sub1)
	e.principal("nobody", tenant1, "", "")
	accessPath := "/subscriptions/" + sub1 + "/providers/Signet.Audit/accessLogs" + api
	id := func(v accessJSON) string { return v.ID }

	if got := pages(t, e, "sub-logs", accessPath, id); !cmp.Equal(got, []string{"a2", "a1"}) {
		t.Errorf("subscription's access log = %v, want a2 a1 (not the other tenant's)", got)
	}
	if got := pages(t, e, "rg1-logs", accessPath+"&resourceId="+url.QueryEscape(rg1), id); !cmp.Equal(got, []string{"a1"}) {
		t.Errorf("rg1's access log = %v, want a1", got)
	}
	if got := pages(t, e, "sub-logs", accessPath+"&tokenId=uti-1", id); !cmp.Equal(got, []string{"a1"}) {
		t.Errorf("access by token = %v, want a1", got)
	}
	for _, c := range []struct {
		name, token, query string
		status             int
	}{
		{"a group's reader, whole subscription", "rg1-logs", "", http.StatusForbidden},
		{"a group's reader, another group", "rg1-logs", "&resourceId=" + url.QueryEscape(rg2), http.StatusForbidden},
		{"no role", "nobody", "", http.StatusForbidden},
		{"a scope outside the subscription", "sub-logs", "&resourceId=/subscriptions/" + sub2, http.StatusBadRequest},
		{"not a scope", "sub-logs", "&resourceId=nope", http.StatusBadRequest},
		{"bad result", "sub-logs", "&result=maybe", http.StatusBadRequest},
		{"bad until", "sub-logs", "&until=yesterday", http.StatusBadRequest},
		{"bad top", "sub-logs", "&top=0", http.StatusBadRequest},
		{"bad skiptoken", "sub-logs", "&$skiptoken=!!", http.StatusBadRequest},
	} {
		if r := e.do(c.token, http.MethodGet, accessPath+c.query, nil); r.status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, r.status, c.status, r.body)
		}
	}
	signIns := "/subscriptions/" + sub1 + "/providers/Signet.Audit/signIns" + api
	if r := e.do("sub-logs", http.MethodGet, signIns+"&operation=x", nil); r.status != http.StatusBadRequest {
		t.Errorf("operation on sign-ins: status %d, want 400", r.status)
	}
	e.must(http.StatusOK, "sub-logs", http.MethodGet, signIns, nil)
	e.must(http.StatusForbidden, "nobody", http.MethodGet, signIns, nil)
}

func TestAuditExport(t *testing.T) {
	e := newEnv(t)
	var recs []store.Activity
	for i := range 2500 { // more than one internal page
		recs = append(recs, store.Activity{ID: fmt.Sprintf("x%04d", i), Time: e.now.Add(time.Duration(i) * time.Millisecond),
			TenantID: tenant1, CallerID: "p1", Operation: "op", ResourceID: groupPath("rg"), Result: "success", Status: 200})
	}
	e.write(func(tx store.Tx) error { return tx.AppendActivity(recs) })
	r := e.must(http.StatusOK, "admin", http.MethodGet, "/subscriptions/"+sub1+"/providers/Signet.Audit/export"+api+"&stream=activity", nil)
	if ct := r.header.Get("Content-Type"); ct != ndjsonType {
		t.Errorf("Content-Type %q, want %s", ct, ndjsonType)
	}
	sc := bufio.NewScanner(bytes.NewReader(r.body))
	n := 0
	for sc.Scan() {
		var v activityJSON
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %d: %v", n+1, err)
		}
		if want := fmt.Sprintf("x%04d", len(recs)-1-n); v.ID != want || v.Seq == 0 || len(v.Hash) != 32 {
			t.Fatalf("line %d = %s seq %d, want %s with its chain fields", n+1, v.ID, v.Seq, want)
		}
		n++
	}
	if n != len(recs) {
		t.Errorf("%d lines, want %d", n, len(recs))
	}
	if r := e.do("admin", http.MethodGet, "/subscriptions/"+sub1+"/providers/Signet.Audit/export"+api+"&stream=nope", nil); r.status != http.StatusBadRequest {
		t.Errorf("unknown stream: status %d, want 400", r.status)
	}
}

func TestAuditVerifyEndpoint(t *testing.T) {
	e := newEnv(t)
	e.write(func(tx store.Tx) error {
		return tx.AppendSignIns([]store.SignIn{{ID: "s1", Time: e.now, TenantID: tenant1, Result: "success"}})
	})
	path := "/subscriptions/" + sub1 + "/providers/Signet.Audit/verify" + api
	// The chains hold every tenant's records: a subscription owner may not
	// verify them.
	e.must(http.StatusForbidden, "admin", http.MethodPost, path, nil)
	e.principal("root", tenant1, authz.OwnerRoleID, "/")
	var got map[string]verifyJSON
	e.must(http.StatusOK, "root", http.MethodPost, path, nil).decode(t, &got)
	if len(got) != 3 || !got["signins"].OK || got["signins"].Checked != 1 || got["signins"].HeadSeq != 1 || !got["access"].OK {
		t.Errorf("verify = %+v, want all three streams OK and one sign-in checked", got)
	}
	var one map[string]verifyJSON
	e.must(http.StatusOK, "root", http.MethodPost, path+"&stream=signIns", nil).decode(t, &one)
	if _, ok := one["signins"]; len(one) != 1 || !ok {
		t.Errorf("verify ?stream=signIns = %v, want only signins", one)
	}
	if body := e.must(http.StatusOK, "root", http.MethodPost, path, nil).body; strings.Contains(string(body), `"firstBad"`) {
		t.Errorf("an intact chain reports firstBad: %s", body)
	}
}
