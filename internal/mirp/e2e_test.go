package mirp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/agent"
	"github.com/signet-platform/signet/internal/agent/enroll"
	"github.com/signet-platform/signet/internal/store"
)

// startTLS serves the MIRP handler over real TLS as the composition root
// should: client certificates requested, verified against the MIRP CA if
// given (enrollment has none).
func (f *fixture) startTLS() (*httptest.Server, *x509.CertPool) {
	f.t.Helper()
	clientCAs, err := f.srv.ClientCAs(f.t.Context())
	if err != nil {
		f.t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(f.h)
	ts.TLS = &tls.Config{ClientAuth: tls.VerifyClientCertIfGiven, ClientCAs: clientCAs, Time: f.clock.Now}
	ts.StartTLS()
	f.t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	return ts, roots
}

func (f *fixture) newAgent(url string, roots *x509.CertPool, dir string) *enroll.Agent {
	return &enroll.Agent{StateDir: dir, MIRPURL: url, RootCAs: roots, Now: f.clock.Now,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func clientIDs(ids []agent.Identity) []string {
	var out []string
	for _, id := range ids {
		out = append(out, id.ClientID)
	}
	slices.Sort(out)
	return out
}

// stateFiles lists the files under dir, relative, and fails on any file
// or directory more open than 0600 / 0700.
func stateFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestAgentEndToEnd(t *testing.T) {
	f := newFixture(t)
	ts, roots := f.startTLS()
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "agent")
	a := f.newAgent(ts.URL, roots, dir)

	if err := a.Sync(ctx); !errors.Is(err, enroll.ErrNotEnrolled) {
		t.Fatalf("Sync before Enroll: %v, want ErrNotEnrolled", err)
	}
	if err := a.Enroll(ctx, f.joinToken(vmID)); err != nil {
		t.Fatalf("Enroll: %v", err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}

	// Identities are served per caller, with their key and certificate.
	host, app := a.Identities(""), a.Identities(strings.ToUpper(siteID))
	if d := cmp.Diff([]string{vmSysClient, uami1Client}, clientIDs(host)); d != "" {
		t.Errorf("host identities (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{siteSysClient}, clientIDs(app)); d != "" {
		t.Errorf("app identities (-want +got):\n%s", d)
	}
	certOf := map[string]*x509.Certificate{}
	for _, id := range append(slices.Clone(host), app...) {
		if id.Key == nil || id.Certificate == nil {
			t.Fatalf("%s: no key or certificate after Sync", id.ClientID)
		}
		if !samePub(id.Certificate.PublicKey, id.Key.Public()) {
			t.Errorf("%s: certificate does not certify the identity key", id.ClientID)
		}
		if !f.hasCredential(id.Certificate) {
			t.Errorf("%s: no credential for the certificate the agent holds", id.ClientID)
		}
		certOf[id.ClientID] = id.Certificate
	}
	wantFiles := []string{"ca.pem", "identities.json",
		"identities/" + vmSysClient + ".key.pem", "identities/" + vmSysClient + ".pem",
		"identities/" + uami1Client + ".key.pem", "identities/" + uami1Client + ".pem",
		"identities/" + siteSysClient + ".key.pem", "identities/" + siteSysClient + ".pem",
		"node-id", "node-key.pem", "node.pem"}
	slices.Sort(wantFiles)
	if d := cmp.Diff(wantFiles, stateFiles(t, dir)); d != "" {
		t.Errorf("state files (-want +got):\n%s", d)
	}

	if d := cmp.Diff([]string{siteID}, a.Apps()); d != "" {
		t.Errorf("apps (-want +got):\n%s", d)
	}
	// An unchanged list is not written again (Sync runs every second).
	listPath := filepath.Join(dir, "identities.json")
	before, err := os.Stat(listPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	if after, err := os.Stat(listPath); err != nil || !os.SameFile(before, after) {
		t.Errorf("identities.json replaced by a Sync that changed nothing (err %v)", err)
	}

	// A restarted agent serves the same identities without MIRP.
	restarted := f.newAgent("https://127.0.0.1:1", roots, dir)
	if err := restarted.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if d := cmp.Diff([]string{siteID}, restarted.Apps()); d != "" {
		t.Errorf("loaded apps (-want +got):\n%s", d)
	}
	if got, want := restarted.NodeID(), a.NodeID(); got != want {
		t.Errorf("loaded node id %q, want %q", got, want)
	}
	for _, id := range restarted.Identities("") {
		if id.Certificate == nil || !id.Certificate.Equal(certOf[id.ClientID]) {
			t.Errorf("%s: loaded certificate differs from the synced one", id.ClientID)
		}
	}

	// The control plane detaches the UAMI: revoked in that commit, dropped
	// by the next Sync with its key.
	f.write(func(tx store.Tx) error {
		if err := tx.SetResourceIdentities(vmID, nil); err != nil {
			return err
		}
		_, err := RevokeUnassigned(tx, f.clock.Now())
		return err
	})
	if f.hasCredential(certOf[uami1Client]) {
		t.Error("credential of the detached identity survived RevokeUnassigned")
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatalf("Sync after revocation: %v", err)
	}
	if d := cmp.Diff([]string{vmSysClient}, clientIDs(a.Identities(""))); d != "" {
		t.Errorf("host identities after revocation (-want +got):\n%s", d)
	}
	if _, err := os.Stat(filepath.Join(dir, "identities", uami1Client+".key.pem")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("key of the dropped identity: %v, want it deleted", err)
	}

	// Renewal at half-life: the node certificate (1 h) every 30 min, the
	// identity certificates (4 h) after 2 h, replacing their credentials.
	nodeCert := readPEMFile(t, filepath.Join(dir, "node.pem"))
	for range 5 { // 5 × 35 min: past 2 h, and the first node certificate long expired
		f.clock.Advance(35 * time.Minute)
		if err := a.Sync(ctx); err != nil {
			t.Fatalf("Sync at %v: %v", f.clock.Now(), err)
		}
	}
	if renewed := readPEMFile(t, filepath.Join(dir, "node.pem")); renewed.Equal(nodeCert) {
		t.Error("node certificate not renewed")
	}
	sys := a.Identities("")[0]
	if sys.Certificate.Equal(certOf[vmSysClient]) {
		t.Error("identity certificate not renewed past half-life")
	}
	if f.hasCredential(certOf[vmSysClient]) || !f.hasCredential(sys.Certificate) {
		t.Error("renewal did not replace the identity's credential")
	}

	// Removing the node: everything revoked, the agent drops its identities.
	if err := f.srv.RemoveNode(ctx, a.NodeID()); err != nil {
		t.Fatal(err)
	}
	if f.hasCredential(sys.Certificate) {
		t.Error("credential survived RemoveNode")
	}
	if err := a.Sync(ctx); !errors.Is(err, enroll.ErrNotEnrolled) {
		t.Errorf("Sync of a removed node: %v, want ErrNotEnrolled", err)
	}
	if got := a.Identities(""); len(got) != 0 {
		t.Errorf("identities of a removed node: %v, want none", clientIDs(got))
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "identities")); len(entries) != 0 {
		t.Errorf("identity files of a removed node: %d left, want 0", len(entries))
	}
}

func readPEMFile(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return parsePEM(t, string(b))
}
