package arm

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/mirp"
	"github.com/signet-platform/signet/internal/store"
)

// The MIRP server is what the composition root passes as NodeAdmin.
var _ NodeAdmin = (*mirp.Server)(nil)

// withMIRP wires the real MIRP into the control plane, as the composition
// root does: RevokeUnassigned as the entitlement hook, the MIRP server as
// the node admin. It returns the MIRP server.
func (e *env) withMIRP() *mirp.Server {
	m := &mirp.Server{Store: e.st, Now: func() time.Time { return e.now }, Logger: slog.New(slog.DiscardHandler)}
	e.srv.Nodes = m
	e.srv.Entitlements = EntitlementHookFunc(func(tx store.Tx, now time.Time) error {
		_, err := mirp.RevokeUnassigned(tx, now)
		return err
	})
	return m
}

// node enrolls a node for host directly in the store, as MIRP's enroll does.
func (e *env) node(host string) string {
	e.t.Helper()
	id := directory.NewID()
	e.write(func(tx store.Tx) error {
		return tx.CreateMIRPNode(store.MIRPNode{ID: id, ResourceID: host, CreatedAt: e.now})
	})
	return id
}

// issue records an identity certificate for principalID on node as MIRP's
// issueIdentity does: a credential row the STS accepts and an issuance
// record pointing at it. It returns the certificate's serial.
func (e *env) issue(node, principalID string) string {
	e.t.Helper()
	serial := strings.ReplaceAll(directory.NewID(), "-", "")
	credID := directory.NewID()
	der := []byte("der-" + serial)
	thumb := sha256.Sum256(der)
	e.write(func(tx store.Tx) error {
		if err := tx.CreateCredential(store.Credential{ID: credID, PrincipalID: principalID, Kind: store.CredentialCertificate,
			CertificateDER: der, ThumbprintSHA256: thumb[:], NotBefore: e.now, NotAfter: e.now.Add(time.Hour), CreatedAt: e.now}); err != nil {
			return err
		}
		return tx.CreateIssuedCertificate(store.IssuedCertificate{Serial: serial, Kind: store.IssuedIdentity, NodeID: node,
			PrincipalID: principalID, CredentialID: credID, ThumbprintSHA256: thumb[:], NotAfter: e.now.Add(time.Hour), CreatedAt: e.now})
	})
	return serial
}

// credentialState says whether the certificate's credential row is still
// there and whether its issuance record is revoked.
func (e *env) credentialState(serial string) (credential, revoked bool) {
	e.t.Helper()
	e.read(func(tx store.Tx) error {
		c, err := tx.GetIssuedCertificate(serial)
		if err != nil {
			return err
		}
		creds, err := tx.ListCredentials(c.PrincipalID)
		if err != nil {
			return err
		}
		for _, cr := range creds {
			credential = credential || cr.ID == c.CredentialID
		}
		revoked = !c.RevokedAt.IsZero()
		return nil
	})
	return credential, revoked
}

func TestRevocationInTheSameRequest(t *testing.T) {
	tests := []struct {
		name string
		// act changes the world through the API; want is whether the VM's
		// identity credential and the site's survive it.
		act                func(e *env)
		wantVM, wantSite   bool
		wantNodeRemovedNow bool
	}{
		{"unrelated writes", func(e *env) {
			e.must(http.StatusOK, "admin", http.MethodPatch, vmPath("rg", "host")+api, map[string]any{"tags": map[string]string{"a": "b"}})
			e.must(http.StatusCreated, "admin", http.MethodPut, groupPath("rg")+"/providers/Microsoft.KeyVault/vaults/kv"+api, map[string]any{"location": "westeurope"})
		}, true, true, false},
		{"remove the UAMI from the VM", func(e *env) {
			e.must(http.StatusOK, "admin", http.MethodPatch, vmPath("rg", "host")+api, map[string]any{"identity": map[string]any{"type": "None"}})
		}, false, true, false},
		{"delete the UAMI", func(e *env) {
			e.must(http.StatusOK, "admin", http.MethodDelete, uamiPath("rg", "id1")+api, nil)
		}, false, true, false},
		{"move the site to another host", func(e *env) {
			e.must(http.StatusOK, "admin", http.MethodPatch, sitePath("rg", "app")+api,
				map[string]any{"properties": map[string]any{"signetHostResourceId": vmPath("rg", "other")}})
		}, true, false, false},
		{"drop the site's system-assigned identity", func(e *env) {
			e.must(http.StatusOK, "admin", http.MethodPatch, sitePath("rg", "app")+api, map[string]any{"identity": map[string]any{"type": "None"}})
		}, true, false, false},
		{"delete the site", func(e *env) {
			e.must(http.StatusOK, "admin", http.MethodDelete, sitePath("rg", "app")+api, nil)
		}, true, false, false},
		{"delete the host", func(e *env) {
			e.must(http.StatusOK, "admin", http.MethodDelete, vmPath("rg", "host")+api, nil)
		}, false, false, true},
		{"delete the group", func(e *env) {
			e.must(http.StatusOK, "admin", http.MethodDelete, groupPath("rg")+api, nil)
		}, false, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.withMIRP()
			e.group("rg")
			uami := e.uami("rg", "id1")
			e.vm("rg", "host", userAssigned(uami.ID))
			e.vm("rg", "other", nil)
			site := placed(vmPath("rg", "host"))
			site["identity"] = map[string]any{"type": "SystemAssigned"}
			var app resourceJSON
			e.must(http.StatusCreated, "admin", http.MethodPut, sitePath("rg", "app")+api, site).decode(t, &app)
			node := e.node(vmPath("rg", "host"))
			vmCert := e.issue(node, uamiPrincipal(t, uami).PrincipalID)
			siteCert := e.issue(node, app.Identity.PrincipalID)

			e.now = e.now.Add(time.Minute)
			tt.act(e)

			for _, c := range []struct {
				what   string
				serial string
				want   bool
			}{{"VM identity", vmCert, tt.wantVM}, {"site identity", siteCert, tt.wantSite}} {
				cred, revoked := e.credentialState(c.serial)
				if cred != c.want || revoked == c.want {
					t.Errorf("%s: credential present %v, certificate revoked %v; want present %v", c.what, cred, revoked, c.want)
				}
			}
			e.read(func(tx store.Tx) error {
				n, err := tx.GetMIRPNode(node)
				if err != nil {
					return err
				}
				if got, want := n.RemovedAt, map[bool]time.Time{true: e.now}[tt.wantNodeRemovedNow]; !got.Equal(want) {
					t.Errorf("node RemovedAt = %v, want %v", got, want)
				}
				return nil
			})
		})
	}
}

// nodesPath is the nodes collection of a subscription.
func nodesPath(sub string) string {
	return "/subscriptions/" + sub + "/providers/Signet.Identity/nodes"
}

func joinTokensPath(host string) string { return host + "/providers/Signet.Identity/joinTokens" }

func TestCreateJoinToken(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	e.srv.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.withMIRP()
	e.group("rg")
	e.vm("rg", "vm1", nil)
	machine := groupPath("rg") + "/providers/Microsoft.HybridCompute/machines/m1"
	e.must(http.StatusCreated, "admin", http.MethodPut, machine+api, map[string]any{"location": "westeurope"})
	e.must(http.StatusCreated, "admin", http.MethodPut, sitePath("rg", "app")+api, map[string]any{"location": "westeurope"})
	e.principal("reader", tenant1, authz.ReaderRoleID, "/subscriptions/"+sub1)
	// Contributor on the VM alone may enrol it, and nothing else.
	e.principal("vmop", tenant1, authz.ContributorRoleID, vmPath("rg", "vm1"))

	var tok joinTokenJSON
	r := e.must(http.StatusOK, "vmop", http.MethodPost, joinTokensPath(vmPath("rg", "vm1"))+api+"&ttl=2h", nil)
	r.decode(t, &tok)
	if tok.Token == "" || !tok.ExpiresOn.Equal(e.now.Add(2*time.Hour)) || tok.ResourceID != vmPath("rg", "vm1") {
		t.Errorf("join token = %+v, want a token for %s expiring at %v", tok, vmPath("rg", "vm1"), e.now.Add(2*time.Hour))
	}
	if got := r.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", got)
	}
	// MIRP stored its hash: the token enrolls exactly once, for that VM.
	hash := sha256.Sum256([]byte(tok.Token))
	e.write(func(tx store.Tx) error {
		jt, err := tx.ConsumeJoinToken(hash[:], directory.NewID(), e.now)
		if err != nil {
			return err
		}
		if jt.ResourceID != vmPath("rg", "vm1") {
			t.Errorf("token bound to %s, want %s", jt.ResourceID, vmPath("rg", "vm1"))
		}
		return nil
	})

	var def joinTokenJSON
	e.must(http.StatusOK, "admin", http.MethodPost, joinTokensPath(machine)+api, nil).decode(t, &def)
	if !def.ExpiresOn.Equal(e.now.Add(time.Hour)) {
		t.Errorf("default expiry %v, want one hour from now", def.ExpiresOn)
	}

	bad := []struct {
		name, token, path string
		status            int
		code              string
	}{
		{"ttl too short", "admin", joinTokensPath(vmPath("rg", "vm1")) + api + "&ttl=30s", 400, codeInvalidQueryParameter},
		{"ttl too long", "admin", joinTokensPath(vmPath("rg", "vm1")) + api + "&ttl=25h", 400, codeInvalidQueryParameter},
		{"ttl not a duration", "admin", joinTokensPath(vmPath("rg", "vm1")) + api + "&ttl=1d", 400, codeInvalidQueryParameter},
		{"ttl negative", "admin", joinTokensPath(vmPath("rg", "vm1")) + api + "&ttl=-1h", 400, codeInvalidQueryParameter},
		{"a site is not a host", "admin", joinTokensPath(sitePath("rg", "app")) + api, 400, codeInvalidResourceType},
		{"a group is not a host", "admin", joinTokensPath(groupPath("rg")) + api, 400, codeInvalidResourceID},
		{"missing VM", "admin", joinTokensPath(vmPath("rg", "nope")) + api, 404, codeResourceNotFound},
		{"missing group", "admin", joinTokensPath(vmPath("nope", "vm1")) + api, 404, codeResourceGroupNotFound},
		{"reader", "reader", joinTokensPath(vmPath("rg", "vm1")) + api, 403, codeAuthorizationFailed},
		{"VM contributor on another host", "vmop", joinTokensPath(machine) + api, 403, codeAuthorizationFailed},
		{"another tenant", "admin2", joinTokensPath(vmPath("rg", "vm1")) + api, 404, codeSubscriptionNotFound},
		{"GET", "admin", joinTokensPath(vmPath("rg", "vm1")) + api, 405, codeMethodNotAllowed},
	}
	for _, b := range bad {
		method := http.MethodPost
		if b.name == "GET" {
			method = http.MethodGet
		}
		r := e.do(b.token, method, b.path, nil)
		if r.status != b.status || r.code() != b.code {
			t.Errorf("%s: %d %s, want %d %s", b.name, r.status, r.body, b.status, b.code)
		}
	}

	// The token is in the response and nowhere else: not in the request
	// log, not in the activity log.
	var acts []store.Activity
	e.read(func(tx store.Tx) (err error) {
		acts, err = tx.ListActivity(store.AuditFilter{TenantID: tenant1})
		return err
	})
	all, _ := json.Marshal(acts)
	for _, secret := range []string{tok.Token, def.Token} {
		if strings.Contains(logs.String(), secret) || strings.Contains(string(all), secret) {
			t.Errorf("join token %q found in the logs", secret)
		}
	}
	found := false
	for _, a := range acts {
		if a.Operation == "Signet.Identity/joinTokens/action" && a.ResourceID == vmPath("rg", "vm1") && a.Status == 200 {
			found = true
		}
	}
	if !found {
		t.Errorf("no activity record of the join token: %+v", acts)
	}
}

func TestNodeEndpointsNeedMIRP(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	e.vm("rg", "vm1", nil)
	for _, c := range []struct{ method, path string }{
		{http.MethodPost, joinTokensPath(vmPath("rg", "vm1"))},
		{http.MethodGet, nodesPath(sub1)},
		{http.MethodDelete, nodesPath(sub1) + "/" + directory.NewID()},
	} {
		r := e.do("admin", c.method, c.path+api, nil)
		if r.status != http.StatusNotFound || r.code() != codeNoRegisteredProvider {
			t.Errorf("%s %s without MIRP: %d %s, want 404 %s", c.method, c.path, r.status, r.body, codeNoRegisteredProvider)
		}
	}
}

func TestListAndRemoveNodes(t *testing.T) {
	e := newEnv(t)
	m := e.withMIRP()
	e.group("rg")
	uami := e.uami("rg", "id1")
	e.vm("rg", "vm1", userAssigned(uami.ID))
	e.vm("rg", "vm2", nil)
	e.principal("reader", tenant1, authz.ReaderRoleID, "/subscriptions/"+sub1)
	e.principal("nobody", tenant1, "", "")

	n1 := e.node(vmPath("rg", "vm1"))
	e.now = e.now.Add(time.Second)
	old := e.node(vmPath("rg", "vm2"))
	if err := m.RemoveNode(t.Context(), old); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Second)
	// A node of the other tenant's subscription.
	foreign := e.node("/subscriptions/" + sub2 + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/x")
	cert := e.issue(n1, uamiPrincipal(t, uami).PrincipalID)

	var l list[nodeJSON]
	e.must(http.StatusOK, "reader", http.MethodGet, nodesPath(sub1)+api, nil).decode(t, &l)
	start := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	removedAt := start.Add(time.Second)
	want := []nodeJSON{
		{ID: n1, HostResourceID: vmPath("rg", "vm1"), CreatedAt: start},
		{ID: old, HostResourceID: vmPath("rg", "vm2"), CreatedAt: start.Add(time.Second), RemovedAt: &removedAt},
	}
	less := func(a, b nodeJSON) bool { return a.ID < b.ID }
	if diff := cmp.Diff(want, l.Value, cmpopts.SortSlices(less)); diff != "" {
		t.Errorf("nodes of subscription 1 (-want +got):\n%s", diff)
	}
	e.must(http.StatusForbidden, "nobody", http.MethodGet, nodesPath(sub1)+api, nil)
	e.must(http.StatusNotFound, "admin2", http.MethodGet, nodesPath(sub1)+api, nil)

	refused := []struct {
		name, token, node string
		status            int
	}{
		{"reader", "reader", n1, 403},
		{"another subscription's node", "admin", foreign, 404},
		{"unknown node", "admin", directory.NewID(), 404},
		{"not a GUID", "admin", "n1", 404},
		{"another tenant", "admin2", n1, 404},
	}
	for _, r := range refused {
		e.must(r.status, r.token, http.MethodDelete, nodesPath(sub1)+"/"+r.node+api, nil)
	}
	if cred, revoked := e.credentialState(cert); !cred || revoked {
		t.Fatalf("refused removals touched the node's credential (present %v, revoked %v)", cred, revoked)
	}

	e.now = e.now.Add(time.Second)
	e.must(http.StatusOK, "admin", http.MethodDelete, nodesPath(sub1)+"/"+strings.ToUpper(n1)+api, nil)
	if cred, revoked := e.credentialState(cert); cred || !revoked {
		t.Errorf("after removal: credential present %v, revoked %v; want gone and revoked", cred, revoked)
	}
	var after list[nodeJSON]
	e.must(http.StatusOK, "admin", http.MethodGet, nodesPath(sub1)+api, nil).decode(t, &after)
	for _, n := range after.Value {
		if n.ID == n1 && (n.RemovedAt == nil || !n.RemovedAt.Equal(e.now)) {
			t.Errorf("removed node listed as %+v, want removedAt %v", n, e.now)
		}
	}
	// Removing again is not an error: it revokes anything left.
	e.must(http.StatusOK, "admin", http.MethodDelete, nodesPath(sub1)+"/"+n1+api, nil)
	e.read(func(tx store.Tx) error {
		acts, err := tx.ListActivity(store.AuditFilter{TenantID: tenant1})
		if err != nil {
			return err
		}
		for _, a := range acts {
			if a.Operation == "Signet.Identity/nodes/delete" && a.Status == 200 {
				return nil
			}
		}
		return errors.New("no activity record of the node removal")
	})
}
