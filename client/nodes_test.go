package client

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const testVM = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"

func TestNodeCalls(t *testing.T) {
	f := newFake(t)
	expires := time.Date(2026, 5, 1, 13, 0, 0, 0, time.UTC)
	created := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	f.handle("POST "+testVM+"/providers/Signet.Identity/joinTokens", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"token": "secret-token", "expiresOn": expires, "resourceId": testVM})
	})
	f.handle("GET /subscriptions/sub-1/providers/Signet.Identity/nodes", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"value": []any{
			map[string]any{"id": "n1", "hostResourceId": testVM, "createdAt": created},
			map[string]any{"id": "n2", "hostResourceId": testVM, "createdAt": created, "removedAt": expires},
		}})
	})
	f.handle("DELETE /subscriptions/sub-1/providers/Signet.Identity/nodes/n1", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	})
	f.handle("DELETE /subscriptions/sub-1/providers/Signet.Identity/nodes/nope", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "ResourceNotFound", "message": "The node 'nope' could not be found."}})
	})
	c := f.client(t)
	ctx := t.Context()

	tok, err := c.CreateJoinToken(ctx, testVM, 90*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(JoinToken{Token: "secret-token", ExpiresOn: expires, ResourceID: testVM}, tok, cmpopts.IgnoreFields(JoinToken{}, "Raw")); diff != "" {
		t.Errorf("CreateJoinToken (-want +got):\n%s", diff)
	}
	if _, err := c.CreateJoinToken(ctx, testVM, 0); err != nil {
		t.Fatal(err)
	}
	nodes, err := c.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []Node{{ID: "n1", HostResourceID: testVM, CreatedAt: created}, {ID: "n2", HostResourceID: testVM, CreatedAt: created, RemovedAt: &expires}}
	if diff := cmp.Diff(want, nodes, cmpopts.IgnoreFields(Node{}, "Raw")); diff != "" {
		t.Errorf("ListNodes (-want +got):\n%s", diff)
	}
	if err := c.RemoveNode(ctx, "n1"); err != nil {
		t.Errorf("RemoveNode: %v", err)
	}
	var ae *Error
	if err := c.RemoveNode(ctx, "nope"); !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound || ae.Code != "ResourceNotFound" {
		t.Errorf("RemoveNode(unknown) = %v, want a 404 ResourceNotFound *Error", err)
	}
	if err := c.RemoveNode(ctx, "../x"); err == nil {
		t.Error("RemoveNode(\"../x\") succeeded, want an invalid name error")
	}

	type shape struct{ Method, Path, Query string }
	var got []shape
	for _, r := range f.armRequests() {
		got = append(got, shape{r.Method, r.Path, url.Values(r.Query).Encode()})
	}
	wantReqs := []shape{
		{"POST", testVM + "/providers/Signet.Identity/joinTokens", "api-version=2024-01-01&ttl=1h30m0s"},
		{"POST", testVM + "/providers/Signet.Identity/joinTokens", "api-version=2024-01-01"},
		{"GET", "/subscriptions/sub-1/providers/Signet.Identity/nodes", "api-version=2024-01-01"},
		{"DELETE", "/subscriptions/sub-1/providers/Signet.Identity/nodes/n1", "api-version=2024-01-01"},
		{"DELETE", "/subscriptions/sub-1/providers/Signet.Identity/nodes/nope", "api-version=2024-01-01"},
	}
	if diff := cmp.Diff(wantReqs, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}
