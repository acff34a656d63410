package mirp

import (
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

func TestCreateJoinTokenRefused(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name       string
		resourceID string
		ttl        time.Duration
		want       error
	}{
		{"VM", vmID, time.Hour, nil},
		{"hybrid machine", arcID, time.Minute, nil},
		{"not a host", vaultID, time.Hour, ErrNotHost},
		{"a site is not a host", siteID, time.Hour, ErrNotHost},
		{"unknown resource", rgPrefix + "Microsoft.Compute/virtualMachines/nope", time.Hour, store.ErrNotFound},
		{"zero ttl", vmID, 0, ErrInvalidTTL},
		{"ttl too long", vmID, MaxJoinTokenTTL + time.Second, ErrInvalidTTL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, exp, err := f.srv.CreateJoinToken(t.Context(), tc.resourceID, tc.ttl)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("got error %v, want %v", err, tc.want)
			}
			if err != nil {
				return
			}
			if len(tok) != 43 {
				t.Errorf("token %d characters, want 43 (32 bytes base64url)", len(tok))
			}
			if got, want := exp, f.clock.Now().Add(tc.ttl); !got.Equal(want) {
				t.Errorf("expires %v, want %v", got, want)
			}
		})
	}
}

func TestJoinTokenUse(t *testing.T) {
	f := newFixture(t)
	enroll := func(token string) (int, []byte) {
		return f.do("POST", "/mirp/v1/enroll", map[string]string{"joinToken": token, "csr": csrB64(t, ecKey(t))}, nil)
	}
	used := f.joinToken(vmID)
	if code, body := enroll(used); code != http.StatusOK {
		t.Fatalf("first use: %d %s", code, body)
	}
	expired := f.joinToken(vm2ID)
	f.clock.Advance(time.Hour) // exactly the TTL: no longer usable
	live := f.joinToken(vm2ID)

	tests := []struct {
		name  string
		token string
	}{
		{"second use", used},
		{"expired", expired},
		{"unknown", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
		{"empty", ""},
	}
	for _, tc := range tests {
		code, body := enroll(tc.token)
		if code != http.StatusUnauthorized || errorCode(t, body) != codeInvalidJoinToken {
			t.Errorf("%s: got %d %s, want 401 %s", tc.name, code, body, codeInvalidJoinToken)
		}
	}
	if code, body := enroll(live); code != http.StatusOK {
		t.Errorf("fresh token after refusals: %d %s", code, body)
	}
}

// Many agents racing on one token: exactly one node is enrolled.
func TestJoinTokenConcurrentUse(t *testing.T) {
	f := newFixture(t)
	tok := f.joinToken(vmID)
	const n = 8
	codes := make([]int, n)
	csrs := make([]string, n)
	for i := range n {
		csrs[i] = csrB64(t, ecKey(t))
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			codes[i], _ = f.do("POST", "/mirp/v1/enroll", map[string]string{"joinToken": tok, "csr": csrs[i]}, nil)
		})
	}
	close(start)
	wg.Wait()
	ok := 0
	for i, c := range codes {
		switch c {
		case http.StatusOK:
			ok++
		case http.StatusUnauthorized:
		default:
			t.Errorf("enroller %d: status %d, want 200 or 401", i, c)
		}
	}
	if ok != 1 {
		t.Errorf("%d enrollments succeeded with one token, want 1", ok)
	}
	nodes, err := f.srv.ListNodes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 {
		t.Errorf("%d nodes, want 1", len(nodes))
	}
}

// A host has one active node: enrolling again removes the old node and
// revokes what it was issued.
func TestReenrollRemovesOldNode(t *testing.T) {
	f := newFixture(t)
	old := f.enroll(vmID)
	if code, _ := f.identityCert(old, vmSysClient); code != http.StatusOK {
		t.Fatalf("identity certificate: %d", code)
	}
	f.enroll(vmID)
	if code, body := f.do("GET", "/mirp/v1/node/identities", nil, old.cert); code != http.StatusUnauthorized {
		t.Errorf("old node after re-enrollment: got %d %s, want 401", code, body)
	}
	if got := f.credentialCount(vmSysObject); got != 0 {
		t.Errorf("old node's identity credentials: %d, want 0", got)
	}
}

func (f *fixture) credentialCount(principalID string) int {
	f.t.Helper()
	var n int
	if err := f.store.Read(f.t.Context(), func(tx store.Tx) error {
		creds, err := tx.ListCredentials(principalID)
		n = len(creds)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// Reconcile deletes records (and any credential left) of certificates long
// expired, and join tokens long expired.
func TestReconcilePrunes(t *testing.T) {
	f := newFixture(t)
	n := f.enroll(vmID)
	_, cert := f.identityCert(n, uami1Client)
	f.joinToken(vm2ID)
	f.clock.Advance(4*time.Hour + pruneGrace + time.Second)
	if err := f.srv.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f.hasCredential(cert) {
		t.Error("credential of a long-expired certificate kept")
	}
	err := f.store.Read(t.Context(), func(tx store.Tx) error {
		certs, err := tx.ListIssuedCertificates(store.IssuedCertificateFilter{})
		if err != nil {
			return err
		}
		if len(certs) != 0 {
			t.Errorf("%d issued-certificate records kept, want 0", len(certs))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	f.write(func(tx store.Tx) error {
		n, err := tx.PruneJoinTokens(f.clock.Now())
		if n != 0 {
			t.Errorf("%d join tokens left for pruning, want 0", n)
		}
		return err
	})
}
