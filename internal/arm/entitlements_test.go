package arm

import (
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/store"
)

// hookRecorder is an EntitlementHook that records each call and what the
// transaction it was given could see, or fails when told to.
type hookRecorder struct {
	mu    sync.Mutex
	calls []hookCall
	fail  error
	// watch is the resource whose existence each call records: seeing a
	// deletion before it commits proves the hook runs in the write's
	// transaction.
	watch string
}

type hookCall struct {
	now          time.Time
	watchedExist bool
}

func (h *hookRecorder) Revoke(tx store.Tx, now time.Time) error {
	_, err := tx.GetResource(h.watch)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, hookCall{now: now, watchedExist: err == nil})
	return h.fail
}

func (h *hookRecorder) take() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.calls
	h.calls = nil
	return c
}

func sitePath(rg, name string) string {
	return groupPath(rg) + "/providers/Microsoft.Web/sites/" + name
}

func placed(host string) map[string]any {
	return map[string]any{"location": "westeurope", "properties": map[string]any{"signetHostResourceId": host}}
}

func TestEntitlementHookRunsInWritesThatCanEndAnEntitlement(t *testing.T) {
	e := newEnv(t)
	e.principal("reader", tenant1, authz.ReaderRoleID, "/subscriptions/"+sub1)
	e.group("rg")
	e.group("rg2")
	uami := e.uami("rg", "id1")
	e.vm("rg", "host", nil)
	e.vm("rg2", "other", nil)
	h := &hookRecorder{watch: vmPath("rg", "vm1")}
	e.srv.Entitlements = h

	tests := []struct {
		name   string
		token  string
		method string
		path   string
		body   any
		status int
		// want is whether the hook ran and, if so, whether the watched VM
		// existed in its transaction.
		want []hookCall
	}{
		{"create a VM with an identity", "admin", http.MethodPut, vmPath("rg", "vm1"), map[string]any{"location": "westeurope", "identity": userAssigned(uami.ID)}, 201, []hookCall{{e.now, true}}},
		{"detach the identity", "admin", http.MethodPatch, vmPath("rg", "vm1"), map[string]any{"identity": map[string]any{"type": "None"}}, 200, []hookCall{{e.now, true}}},
		{"replace the VM", "admin", http.MethodPut, vmPath("rg", "vm1"), map[string]any{"location": "westeurope"}, 200, []hookCall{{e.now, true}}},
		{"place a site", "admin", http.MethodPut, sitePath("rg", "app"), placed(vmPath("rg", "host")), 201, []hookCall{{e.now, true}}},
		{"move the site", "admin", http.MethodPatch, sitePath("rg", "app"), map[string]any{"properties": map[string]any{"signetHostResourceId": nil}}, 200, []hookCall{{e.now, true}}},
		{"delete the identity", "admin", http.MethodDelete, uamiPath("rg", "id1"), nil, 200, []hookCall{{e.now, true}}},
		{"delete the VM", "admin", http.MethodDelete, vmPath("rg", "vm1"), nil, 200, []hookCall{{e.now, false}}},
		{"delete a group", "admin", http.MethodDelete, groupPath("rg2"), nil, 200, []hookCall{{e.now, false}}},
		// Writes that cannot end an entitlement, and writes that did nothing.
		{"create a group", "admin", http.MethodPut, groupPath("rg3"), map[string]any{"location": "westeurope"}, 201, nil},
		{"create an identity", "admin", http.MethodPut, uamiPath("rg", "id2"), map[string]any{"location": "westeurope"}, 201, nil},
		{"assign a role", "admin", http.MethodPut, raPath(groupPath("rg"), directory.NewID()) + raAPI, map[string]any{"properties": map[string]any{
			"roleDefinitionId": "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleDefinitions/" + authz.ReaderRoleID,
			"principalId":      e.tokens["reader"].ObjectID}}, 201, nil},
		{"delete what is not there", "admin", http.MethodDelete, vmPath("rg", "nothing"), nil, 204, nil},
		{"refused", "reader", http.MethodDelete, vmPath("rg", "host"), nil, 403, nil},
		{"invalid placement", "admin", http.MethodPut, sitePath("rg", "bad"), placed(uamiPath("rg", "id2")), 400, nil},
	}
	for _, tt := range tests {
		target := tt.path
		if !strings.Contains(target, "?") {
			target += api
		}
		e.must(tt.status, tt.token, tt.method, target, tt.body)
		if diff := cmp.Diff(tt.want, h.take(), cmp.AllowUnexported(hookCall{})); diff != "" {
			t.Errorf("%s: hook calls (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestEntitlementHookFailureFailsTheWrite(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	uami := e.uami("rg", "id1")
	e.vm("rg", "vm1", userAssigned(uami.ID))
	e.srv.Entitlements = &hookRecorder{watch: vmPath("rg", "vm1"), fail: errors.New("injected")}
	before := e.snapshot()

	r := e.do("admin", http.MethodPatch, vmPath("rg", "vm1")+api, map[string]any{"identity": map[string]any{"type": "None"}})
	if r.status != http.StatusInternalServerError || r.code() != codeInternal {
		t.Errorf("PATCH with a failing hook: %d %s, want 500 %s", r.status, r.body, codeInternal)
	}
	e.must(http.StatusInternalServerError, "admin", http.MethodDelete, vmPath("rg", "vm1")+api, nil)
	e.must(http.StatusInternalServerError, "admin", http.MethodDelete, groupPath("rg")+api, nil)
	if diff := cmp.Diff(before, e.snapshot()); diff != "" {
		t.Errorf("a write whose revocation failed committed (-before +after):\n%s", diff)
	}
}

func TestPlacementValidation(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	other := "/subscriptions/" + sub2 + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm"
	tests := []struct {
		name   string
		props  any
		status int
	}{
		{"a VM", map[string]any{"signetHostResourceId": vmPath("rg", "vm")}, 201},
		{"a hybrid machine, spelled loosely", map[string]any{"signetHostResourceId": groupPath("rg") + "/providers/microsoft.hybridcompute/MACHINES/m"}, 201},
		{"none", map[string]any{"other": 1}, 201},
		{"null", map[string]any{"signetHostResourceId": nil}, 201},
		{"not a host", map[string]any{"signetHostResourceId": groupPath("rg") + "/providers/Microsoft.KeyVault/vaults/kv"}, 400},
		{"not an id", map[string]any{"signetHostResourceId": "vm1"}, 400},
		{"not a string", map[string]any{"signetHostResourceId": 7}, 400},
		{"another subscription", map[string]any{"signetHostResourceId": other}, 400},
	}
	for i, tt := range tests {
		name := "app" + string(rune('a'+i))
		r := e.do("admin", http.MethodPut, sitePath("rg", name)+api, map[string]any{"location": "westeurope", "properties": tt.props})
		if r.status != tt.status {
			t.Errorf("%s: status %d (%s), want %d", tt.name, r.status, r.body, tt.status)
		}
	}
	// A PATCH is checked on the merged result.
	e.must(http.StatusBadRequest, "admin", http.MethodPatch, sitePath("rg", "appc")+api,
		map[string]any{"properties": map[string]any{"signetHostResourceId": "/subscriptions/" + sub1}})
	// Other resource types may carry the property: it means nothing there.
	e.must(http.StatusCreated, "admin", http.MethodPut, vmPath("rg", "v")+api,
		map[string]any{"location": "westeurope", "properties": map[string]any{"signetHostResourceId": "x"}})
}
