package arm

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/store"
)

func TestActivityRecordsEveryAuthenticatedWrite(t *testing.T) {
	e := newEnv(t)
	e.principal("reader", tenant1, authz.ReaderRoleID, "/subscriptions/"+sub1)
	// Each step a second later: the log orders by time.
	step := func() { e.now = e.now.Add(time.Second) }
	e.group("rg") // success
	step()
	e.must(http.StatusForbidden, "reader", http.MethodDelete, groupPath("rg")+api, nil) // denied
	step()
	e.must(http.StatusBadRequest, "admin", http.MethodPut, vmPath("rg", "v")+api, `{`) // bad input
	step()
	e.must(http.StatusOK, "admin", http.MethodGet, groupPath("rg")+api, nil) // a read: not recorded
	step()
	e.must(http.StatusNoContent, "admin", http.MethodDelete, vmPath("rg", "v")+api, nil) // nothing to delete

	var got []store.Activity
	e.read(func(tx store.Tx) error {
		var err error
		got, err = tx.ListActivity(store.AuditFilter{TenantID: tenant1})
		return err
	})
	slices.Reverse(got) // oldest first
	admin, reader := e.tokens["admin"].ObjectID, e.tokens["reader"].ObjectID
	want := []store.Activity{
		{TenantID: tenant1, CallerID: admin, Operation: "Microsoft.Resources/subscriptions/resourceGroups/write", ResourceID: groupPath("rg"), Result: "success", Status: 201},
		{TenantID: tenant1, CallerID: reader, Operation: "Microsoft.Resources/subscriptions/resourceGroups/delete", ResourceID: groupPath("rg"), Result: "failure", Status: 403},
		{TenantID: tenant1, CallerID: admin, Operation: "Microsoft.Compute/virtualMachines/write", ResourceID: vmPath("rg", "v"), Result: "failure", Status: 400},
		{TenantID: tenant1, CallerID: admin, Operation: "Microsoft.Compute/virtualMachines/delete", ResourceID: vmPath("rg", "v"), Result: "success", Status: 204},
	}
	opts := cmpopts.IgnoreFields(store.Activity{}, "ID", "Time", "Message", "CallerAddress", "Seq", "PrevHash", "Hash")
	if diff := cmp.Diff(want, got, opts); diff != "" {
		t.Errorf("activity (-want +got):\n%s", diff)
	}
	if len(got) == 4 && (!strings.Contains(got[1].Message, codeAuthorizationFailed) || got[0].CallerAddress == "") {
		t.Errorf("denial record = %+v, want the code in the message and the caller address", got[1])
	}

	// The activity endpoint serves them, newest first, and honours top.
	var l list[activityJSON]
	e.must(http.StatusOK, "admin", http.MethodGet, "/subscriptions/"+sub1+"/providers/Microsoft.Insights/eventtypes/management/values"+api+"&top=2", nil).decode(t, &l)
	if len(l.Value) != 2 || l.Value[0].Status != 204 {
		t.Errorf("activity endpoint = %+v, want the 2 newest", l.Value)
	}
	e.principal("nobody", tenant1, "", "")
	e.must(http.StatusForbidden, "nobody", http.MethodGet, "/subscriptions/"+sub1+"/providers/Microsoft.Insights/eventtypes/management/values"+api, nil)
}

func TestSignInLog(t *testing.T) {
	e := newEnv(t)
	base := e.now.Add(-time.Hour)
	e.write(func(tx store.Tx) error {
		return tx.AppendSignIns([]store.SignIn{
			{ID: "s1", Time: base, TenantID: tenant1, PrincipalID: "p1", Result: "success", CredentialType: "clientSecret"},
			{ID: "s2", Time: base.Add(time.Minute), TenantID: tenant1, PrincipalID: "p2", Result: "failure", ErrorCode: "AADSTS7000215"},
			{ID: "s3", Time: base.Add(2 * time.Minute), TenantID: tenant2, PrincipalID: "p3", Result: "success"},
		})
	})
	tests := []struct {
		query string
		want  []string
	}{
		{"", []string{"s2", "s1"}},
		{"&result=failure", []string{"s2"}},
		{"&principalId=p1", []string{"s1"}},
		{"&since=" + base.Add(30*time.Second).Format(time.RFC3339), []string{"s2"}},
		{"&top=1", []string{"s2"}},
	}
	for _, tc := range tests {
		var l list[signInJSON]
		e.must(http.StatusOK, "admin", http.MethodGet, "/subscriptions/"+sub1+"/providers/Signet.Audit/signIns"+api+tc.query, nil).decode(t, &l)
		var got []string
		for _, s := range l.Value {
			got = append(got, s.ID)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("query %q (-want +got):\n%s", tc.query, diff)
		}
	}
}

type fakeKeys struct{ keys []store.SigningKey }

func (f *fakeKeys) Rotate(context.Context) (store.SigningKey, error) {
	k := store.SigningKey{KID: "k2", PrivateKeySealed: []byte("SECRET"), PublicKeyDER: []byte("pub"),
		PublishAt: time.Unix(100, 0).UTC(), ActiveAt: time.Unix(200, 0).UTC()}
	f.keys = append(f.keys, k)
	return k, nil
}

func (f *fakeKeys) List(context.Context) ([]store.SigningKey, error) { return f.keys, nil }

func TestSigningKeyEndpoints(t *testing.T) {
	e := newEnv(t)
	// Subscription owners may not read or rotate keys: that needs a grant at the root.
	e.must(http.StatusForbidden, "admin", http.MethodGet, "/providers/Signet.Keys/signingKeys"+api, nil)
	e.grant(e.tokens["admin"].ObjectID, authz.OwnerRoleID, "/")
	e.must(http.StatusNotFound, "admin", http.MethodGet, "/providers/Signet.Keys/signingKeys"+api, nil) // Keys nil
	e.write(func(tx store.Tx) error { _, err := tx.DeleteRoleAssignmentsUnderScope("/"); return err })
	e.grant(e.tokens["admin"].ObjectID, authz.OwnerRoleID, "/subscriptions/"+sub1)
	e.srv.Keys = &fakeKeys{keys: []store.SigningKey{{KID: "k1", PrivateKeySealed: []byte("SECRET"),
		PublishAt: time.Unix(1, 0).UTC(), ActiveAt: time.Unix(2, 0).UTC(), RetiredAt: time.Unix(3, 0).UTC()}}}
	e.must(http.StatusForbidden, "admin", http.MethodPost, "/providers/Signet.Keys/rotate"+api, nil)
	e.grant(e.tokens["admin"].ObjectID, authz.OwnerRoleID, "/")
	r := e.must(http.StatusOK, "admin", http.MethodPost, "/providers/Signet.Keys/rotate"+api, nil)
	var rotated map[string]any
	r.decode(t, &rotated)
	if diff := cmp.Diff(map[string]any{"kid": "k2", "publishAt": "1970-01-01T00:01:40Z", "activeAt": "1970-01-01T00:03:20Z"}, rotated); diff != "" {
		t.Errorf("rotate (-want +got):\n%s", diff)
	}
	r = e.must(http.StatusOK, "admin", http.MethodGet, "/providers/Signet.Keys/signingKeys"+api, nil)
	if strings.Contains(string(r.body), "SECRET") || strings.Contains(strings.ToLower(string(r.body)), "private") {
		t.Errorf("signing keys expose private material: %s", r.body)
	}
	var l struct {
		Value []map[string]json.RawMessage `json:"value"`
	}
	r.decode(t, &l)
	if len(l.Value) != 2 || l.Value[0]["retiredAt"] == nil {
		t.Errorf("signing keys = %s", r.body)
	}
}
