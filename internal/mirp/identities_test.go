package mirp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

func TestListIdentities(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	code, body := f.do("GET", "/mirp/v1/node/identities", nil, n.cert)
	if code != http.StatusOK {
		t.Fatalf("list: %d %s", code, body)
	}
	var got identitiesResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	// app2 (placed on vm2) and uami2 (assigned to app2) are not this node's.
	want := []Identity{
		{ClientID: vmSysClient, ObjectID: vmSysObject, TenantID: tenantID, ResourceID: vmID, SystemAssigned: true},
		{ClientID: uami1Client, ObjectID: uami1Object, TenantID: tenantID, ResourceID: uami1ID},
		{ClientID: siteSysClient, ObjectID: siteSysObject, TenantID: tenantID, ResourceID: siteID, SystemAssigned: true, App: siteID},
	}
	if d := cmp.Diff(want, got.Value); d != "" {
		t.Errorf("identities (-want +got):\n%s", d)
	}
}

func TestIdentityCertificateEntitlement(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	tests := []struct {
		name     string
		clientID string
		want     int
	}{
		{"host system-assigned", vmSysClient, http.StatusOK},
		{"host user-assigned", uami1Client, http.StatusOK},
		{"client id in another case", "0C000000-0000-4000-8000-0000000000A2", http.StatusOK},
		{"app placed on the host", siteSysClient, http.StatusOK},
		{"assigned to an app on another host", uami2Client, http.StatusForbidden},
		{"unknown client id", "0c000000-0000-4000-8000-0000000000ff", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, cert := f.identityCert(n, tc.clientID)
			if code != tc.want {
				t.Fatalf("status %d, want %d", code, tc.want)
			}
			if cert == nil {
				return
			}
			// The STS finds the certificate as a credential of the identity.
			sum := sha256.Sum256(cert.Raw)
			err := f.store.Read(t.Context(), func(tx store.Tx) error {
				c, err := tx.GetCredentialByThumbprint(sum[:])
				if err != nil {
					return err
				}
				p, err := tx.GetPrincipal(c.PrincipalID)
				if err != nil {
					return err
				}
				if p.ClientID != cert.Subject.CommonName || c.Kind != store.CredentialCertificate ||
					!c.NotAfter.Equal(cert.NotAfter) || string(c.CertificateDER) != string(cert.Raw) {
					t.Errorf("credential %+v of %s does not match the certificate", c, p.ClientID)
				}
				return nil
			})
			if err != nil {
				t.Errorf("credential for the issued certificate: %v", err)
			}
		})
	}
	if got := f.credentialCount(uami2Object); got != 0 {
		t.Errorf("refused identity has %d credentials, want 0", got)
	}
}

// A renewal replaces the (node, identity) credential rather than piling up.
func TestIdentityRenewalSupersedes(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	_, first := f.identityCert(n, uami1Client)
	_, second := f.identityCert(n, uami1Client)
	if first == nil || second == nil {
		t.Fatal("identity certificates not issued")
	}
	if got := f.credentialCount(uami1Object); got != 1 {
		t.Errorf("credentials after renewal: %d, want 1", got)
	}
	if f.hasCredential(first) || !f.hasCredential(second) {
		t.Errorf("after renewal: old credential present = %v, new = %v; want false, true",
			f.hasCredential(first), f.hasCredential(second))
	}
}

func (f *fixture) hasCredential(cert *x509.Certificate) bool {
	f.t.Helper()
	sum := sha256.Sum256(cert.Raw)
	err := f.store.Read(f.t.Context(), func(tx store.Tx) error {
		_, err := tx.GetCredentialByThumbprint(sum[:])
		return err
	})
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		f.t.Fatal(err)
	}
	return err == nil
}

func (f *fixture) issued(cert *x509.Certificate) store.IssuedCertificate {
	f.t.Helper()
	var ic store.IssuedCertificate
	if err := f.store.Read(f.t.Context(), func(tx store.Tx) (err error) {
		ic, err = tx.GetIssuedCertificate(serialKey(cert.SerialNumber))
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return ic
}

// Revocation is what the control plane does in its write transaction:
// change the records, then RevokeUnassigned.
func TestRevokeUnassigned(t *testing.T) {
	tests := []struct {
		name string
		// change is the control-plane write; revoked says which of the
		// node's certificates (by client id) lose their credential.
		change  func(tx store.Tx) error
		revoked []string
	}{
		{"UAMI removed from the VM", func(tx store.Tx) error { return tx.SetResourceIdentities(vmID, nil) },
			[]string{uami1Client}},
		{"site moved off the host", func(tx store.Tx) error {
			site, err := tx.GetResource(siteID)
			if err != nil {
				return err
			}
			site.Properties = json.RawMessage(`{"signetHostResourceId":"` + vm2ID + `"}`)
			return tx.PutResource(site)
		}, []string{siteSysClient}},
		{"system-assigned identity disabled on the VM", func(tx store.Tx) error {
			vm, err := tx.GetResource(vmID)
			if err != nil {
				return err
			}
			vm.SystemAssignedPrincipalID = ""
			if err := tx.PutResource(vm); err != nil {
				return err
			}
			return tx.DeletePrincipal(vmSysObject)
		}, []string{vmSysClient}},
		{"nothing changed", func(store.Tx) error { return nil }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			n := f.enroll(vmID)
			certs := map[string]*x509.Certificate{}
			for _, cid := range []string{vmSysClient, uami1Client, siteSysClient} {
				code, c := f.identityCert(n, cid)
				if code != http.StatusOK {
					t.Fatalf("identity certificate for %s: %d", cid, code)
				}
				certs[cid] = c
			}
			var count int
			f.write(func(tx store.Tx) (err error) {
				if err := tc.change(tx); err != nil {
					return err
				}
				count, err = RevokeUnassigned(tx, f.clock.Now())
				return err
			})
			if count != len(tc.revoked) {
				t.Errorf("RevokeUnassigned revoked %d, want %d", count, len(tc.revoked))
			}
			for cid, c := range certs {
				want := !contains(tc.revoked, cid)
				if got := f.hasCredential(c); got != want {
					t.Errorf("%s: credential present = %v, want %v", cid, got, want)
				}
				if got := f.issued(c).RevokedAt.IsZero(); got != want {
					t.Errorf("%s: issued certificate unrevoked = %v, want %v", cid, got, want)
				}
			}
			for _, cid := range tc.revoked {
				if code, _ := f.identityCert(n, cid); code != http.StatusForbidden {
					t.Errorf("%s after revocation: status %d, want 403", cid, code)
				}
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// Deleting a principal deletes its credentials at once (the STS refuses
// from that commit); the reconcile pass then marks the record revoked.
func TestDeletedPrincipalLosesCredential(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	_, cert := f.identityCert(n, uami1Client)
	f.write(func(tx store.Tx) error {
		if err := tx.SetResourceIdentities(vmID, nil); err != nil {
			return err
		}
		return tx.DeletePrincipal(uami1Object)
	})
	if f.hasCredential(cert) {
		t.Error("credential survived its principal")
	}
	if err := f.srv.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f.issued(cert).RevokedAt.IsZero() {
		t.Error("issued certificate of a deleted principal not marked revoked by Reconcile")
	}
}

// Deleting the host resource removes its node.
func TestDeletedHostRemovesNode(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	_, cert := f.identityCert(n, uami1Client)
	f.write(func(tx store.Tx) error {
		if err := tx.DeleteResource(vmID); err != nil {
			return err
		}
		_, err := RevokeUnassigned(tx, f.clock.Now())
		return err
	})
	if f.hasCredential(cert) {
		t.Error("credential survived the deletion of the host")
	}
	if code, _ := f.do("GET", "/mirp/v1/node/identities", nil, n.cert); code != http.StatusUnauthorized {
		t.Errorf("node of a deleted host: status %d, want 401", code)
	}
}

func TestRemoveNode(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	other := f.enroll(arcID)
	var certs []*x509.Certificate
	for _, cid := range []string{vmSysClient, uami1Client, siteSysClient} {
		_, c := f.identityCert(n, cid)
		certs = append(certs, c)
	}
	if err := f.srv.RemoveNode(t.Context(), n.id); err != nil {
		t.Fatal(err)
	}
	for _, c := range certs {
		if f.hasCredential(c) {
			t.Errorf("%s: credential survived RemoveNode", c.Subject.CommonName)
		}
	}
	if f.issued(n.cert).RevokedAt.IsZero() {
		t.Error("node certificate not revoked")
	}
	for _, path := range []string{"/mirp/v1/node/identities", "/mirp/v1/node/identities/" + vmSysClient + "/certificate"} {
		method := "GET"
		var body any
		if path != "/mirp/v1/node/identities" {
			method, body = "POST", map[string]string{"csr": csrB64(t, rsaKey(t))}
		}
		if code, resp := f.do(method, path, body, n.cert); code != http.StatusUnauthorized || errorCode(t, resp) != codeUnauthenticated {
			t.Errorf("%s %s by a removed node: %d %s, want 401", method, path, code, resp)
		}
	}
	if code, _ := f.do("GET", "/mirp/v1/node/identities", nil, other.cert); code != http.StatusOK {
		t.Errorf("other node after RemoveNode: status %d, want 200", code)
	}
	if err := f.srv.RemoveNode(t.Context(), "no-such-node"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RemoveNode(unknown): %v, want ErrNotFound", err)
	}
	nodes, err := f.srv.ListNodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	removed := map[string]bool{}
	for _, nd := range nodes {
		removed[nd.ID] = !nd.RemovedAt.IsZero()
	}
	if d := cmp.Diff(map[string]bool{n.id: true, other.id: false}, removed); d != "" {
		t.Errorf("ListNodes: removed by node id (-want +got):\n%s", d)
	}
}

func TestNodeAuthentication(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	_, idCert := f.identityCert(n, vmSysClient)

	// A look-alike node certificate from a CA MIRP does not know.
	rogueKey := ecKey(t)
	rogueCA := &x509.Certificate{SerialNumber: n.cert.SerialNumber, Subject: pkix.Name{CommonName: "Signet MIRP CA"},
		NotBefore: f.clock.Now().Add(-time.Hour), NotAfter: f.clock.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	forged := *n.cert
	forgedDER, err := x509.CreateCertificate(rand.Reader, &forged, rogueCA, n.key.Public(), rogueKey)
	if err != nil {
		t.Fatal(err)
	}
	forgedCert, _ := x509.ParseCertificate(forgedDER)

	expired := n.cert
	tests := []struct {
		name  string
		peer  *x509.Certificate
		clock time.Duration
	}{
		{"no client certificate", nil, 0},
		{"certificate from another CA, same serial and names", forgedCert, 0},
		{"identity certificate used as a node certificate", idCert, 0},
		{"expired node certificate", expired, 2 * time.Hour},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.clock.Advance(tc.clock)
			defer f.clock.Advance(-tc.clock)
			code, body := f.do("GET", "/mirp/v1/node/identities", nil, tc.peer)
			if code != http.StatusUnauthorized || errorCode(t, body) != codeUnauthenticated {
				t.Errorf("got %d %s, want 401 %s", code, body, codeUnauthenticated)
			}
		})
	}
	if code, _ := f.do("GET", "/mirp/v1/node/identities", nil, n.cert); code != http.StatusOK {
		t.Errorf("the genuine node certificate: status %d, want 200", code)
	}
}

// Renewal issues a new node certificate; the old one stays valid to its
// expiry so that a lost response cannot lock the node out.
func TestRenewNode(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	f.clock.Advance(40 * time.Minute)
	newKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	code, body := f.do("POST", "/mirp/v1/node/renew", map[string]string{"csr": csrB64(t, newKey)}, n.cert)
	if code != http.StatusOK {
		t.Fatalf("renew: %d %s", code, body)
	}
	resp := decodeCert(t, body)
	renewed := parsePEM(t, resp.Certificate)
	if resp.NodeID != n.id || renewed.Subject.CommonName != n.id {
		t.Errorf("renewed certificate names %q (nodeId %q), want %q", renewed.Subject.CommonName, resp.NodeID, n.id)
	}
	if want := []string{"signet://node/" + n.id, "signet://resource" + (&url.URL{Path: vmID}).EscapedPath()}; !cmp.Equal(want, uriStrings(renewed)) {
		t.Errorf("renewed URIs = %v, want %v", uriStrings(renewed), want)
	}
	if !renewed.NotAfter.After(n.cert.NotAfter) {
		t.Errorf("renewed NotAfter %v not after the old %v", renewed.NotAfter, n.cert.NotAfter)
	}
	for name, c := range map[string]*x509.Certificate{"renewed": renewed, "old": n.cert} {
		if code, _ := f.do("GET", "/mirp/v1/node/identities", nil, c); code != http.StatusOK {
			t.Errorf("%s node certificate: status %d, want 200", name, code)
		}
	}
}
