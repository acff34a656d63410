package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// mirpTests are the conformance subtests for MIRPTx; Run runs them.
var mirpTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"MIRPCAs", testMIRPCAs},
	{"JoinTokens", testJoinTokens},
	{"JoinTokenConcurrentUse", testJoinTokenConcurrentUse},
	{"MIRPNodes", testMIRPNodes},
	{"IssuedCertificates", testIssuedCertificates},
}

func testMIRPCAs(t *testing.T, s store.Store) {
	older := store.MIRPCA{ID: "ca-1", CertificateDER: []byte("cert-1"), PrivateKeySealed: []byte("sealed-1"),
		NotBefore: base, NotAfter: at(87600 * time.Hour), CreatedAt: base}
	newer := store.MIRPCA{ID: "ca-0", CertificateDER: []byte("cert-2"), PrivateKeySealed: []byte("sealed-2"),
		NotBefore: at(time.Hour), NotAfter: at(87601 * time.Hour), CreatedAt: at(time.Hour)}
	createAll(t, s, func(tx store.Tx, v store.MIRPCA) error { return tx.CreateMIRPCA(v) }, newer, older)
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListMIRPCAs()
		wantErr(t, "ListMIRPCAs", err, nil)
		diff(t, "ListMIRPCAs (by NotBefore)", got, []store.MIRPCA{older, newer})
		return nil
	})
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateMIRPCA(older) })
	wantErr(t, "CreateMIRPCA(duplicate id)", err, store.ErrConflict)
}

func tokenHash(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

func consume(t *testing.T, s store.Store, hash []byte, nodeID string, now time.Time) (store.JoinToken, error) {
	var got store.JoinToken
	err := s.Write(t.Context(), func(tx store.Tx) (err error) {
		got, err = tx.ConsumeJoinToken(hash, nodeID, now)
		return err
	})
	return got, err
}

func testJoinTokens(t *testing.T, s store.Store) {
	live := store.JoinToken{Hash: tokenHash("live"), ResourceID: vm1ID, ExpiresAt: at(time.Hour), CreatedAt: base}
	short := store.JoinToken{Hash: tokenHash("short"), ResourceID: vm2ID, ExpiresAt: at(time.Minute), CreatedAt: base}
	createAll(t, s, func(tx store.Tx, v store.JoinToken) error { return tx.CreateJoinToken(v) }, live, short)
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateJoinToken(live) })
	wantErr(t, "CreateJoinToken(duplicate hash)", err, store.ErrConflict)

	_, err = consume(t, s, tokenHash("unknown"), "node-x", at(time.Second))
	wantErr(t, "ConsumeJoinToken(unknown)", err, store.ErrNotFound)

	// Expiry is exclusive: at ExpiresAt the token is no longer usable.
	got, err := consume(t, s, short.Hash, "node-x", at(time.Minute))
	wantErr(t, "ConsumeJoinToken(expired)", err, store.ErrConflict)
	diff(t, "ConsumeJoinToken(expired) record", got, short)

	got, err = consume(t, s, live.Hash, "node-1", at(time.Second))
	wantErr(t, "ConsumeJoinToken(first use)", err, nil)
	used := live
	used.UsedAt, used.NodeID = at(time.Second), "node-1"
	diff(t, "ConsumeJoinToken(first use) record", got, used)

	got, err = consume(t, s, live.Hash, "node-2", at(2*time.Second))
	wantErr(t, "ConsumeJoinToken(second use)", err, store.ErrConflict)
	diff(t, "ConsumeJoinToken(second use) record", got, used)

	// A consumption rolled back with its Write leaves the token usable.
	again := store.JoinToken{Hash: tokenHash("again"), ResourceID: vm1ID, ExpiresAt: at(time.Hour)}
	createAll(t, s, func(tx store.Tx, v store.JoinToken) error { return tx.CreateJoinToken(v) }, again)
	err = s.Write(t.Context(), func(tx store.Tx) error {
		if _, err := tx.ConsumeJoinToken(again.Hash, "node-3", at(time.Second)); err != nil {
			return err
		}
		return errRollback
	})
	wantErr(t, "Write consuming then failing", err, errRollback)
	_, err = consume(t, s, again.Hash, "node-4", at(time.Second))
	wantErr(t, "ConsumeJoinToken(after rollback)", err, nil)

	var pruned int
	write(t, s, func(tx store.Tx) (err error) {
		pruned, err = tx.PruneJoinTokens(at(30 * time.Minute))
		return err
	})
	if pruned != 1 {
		t.Errorf("PruneJoinTokens: pruned %d, want 1 (the short-lived token)", pruned)
	}
	_, err = consume(t, s, short.Hash, "node-x", base)
	wantErr(t, "ConsumeJoinToken(pruned)", err, store.ErrNotFound)
}

// testJoinTokenConcurrentUse races many enrollments on one token: exactly
// one may win, or a leaked token could enroll two hosts.
func testJoinTokenConcurrentUse(t *testing.T, s store.Store) {
	const n = 8
	for round := range 3 {
		tok := store.JoinToken{Hash: tokenHash(fmt.Sprint("race-", round)), ResourceID: vm1ID, ExpiresAt: at(time.Hour)}
		createAll(t, s, func(tx store.Tx, v store.JoinToken) error { return tx.CreateJoinToken(v) }, tok)
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = consume(t, s, tok.Hash, fmt.Sprint("node-", i), at(time.Second))
			})
		}
		close(start)
		wg.Wait()
		wins := 0
		for i, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("round %d, consumer %d: got error %v, want nil or ErrConflict", round, i, err)
			}
		}
		if wins != 1 {
			t.Errorf("round %d: %d consumers succeeded, want exactly 1", round, wins)
		}
	}
}

func testMIRPNodes(t *testing.T, s store.Store) {
	n1 := store.MIRPNode{ID: "node-b", ResourceID: vm1ID, CreatedAt: base}
	n2 := store.MIRPNode{ID: "node-a", ResourceID: vm2ID, CreatedAt: at(time.Minute)}
	n3 := store.MIRPNode{ID: "node-c", ResourceID: vm1ID, CreatedAt: at(time.Hour)}
	createAll(t, s, func(tx store.Tx, v store.MIRPNode) error { return tx.CreateMIRPNode(v) }, n3, n2, n1)
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateMIRPNode(n1) })
	wantErr(t, "CreateMIRPNode(duplicate)", err, store.ErrConflict)

	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetMIRPNode("node-a")
		wantErr(t, "GetMIRPNode", err, nil)
		diff(t, "GetMIRPNode", got, n2)
		_, err = tx.GetMIRPNode("node-404")
		wantErr(t, "GetMIRPNode(missing)", err, store.ErrNotFound)
		all, err := tx.ListMIRPNodes("")
		wantErr(t, "ListMIRPNodes", err, nil)
		diff(t, "ListMIRPNodes (by CreatedAt)", all, []store.MIRPNode{n1, n2, n3})
		onVM1, err := tx.ListMIRPNodes(upper(vm1ID))
		wantErr(t, "ListMIRPNodes(vm1)", err, nil)
		diff(t, "ListMIRPNodes(vm1, case-insensitive)", onVM1, []store.MIRPNode{n1, n3})
		return nil
	})

	write(t, s, func(tx store.Tx) error { return tx.MarkMIRPNodeRemoved("node-b", at(2*time.Hour)) })
	// Removing again keeps the first time.
	write(t, s, func(tx store.Tx) error { return tx.MarkMIRPNodeRemoved("node-b", at(3*time.Hour)) })
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.MarkMIRPNodeRemoved("node-404", base) })
	wantErr(t, "MarkMIRPNodeRemoved(missing)", err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetMIRPNode("node-b")
		wantErr(t, "GetMIRPNode(removed)", err, nil)
		want := n1
		want.RemovedAt = at(2 * time.Hour)
		diff(t, "GetMIRPNode(removed)", got, want)
		return nil
	})
}

func testIssuedCertificates(t *testing.T, s store.Store) {
	createAll(t, s, func(tx store.Tx, v store.MIRPNode) error { return tx.CreateMIRPNode(v) },
		store.MIRPNode{ID: "node-1", ResourceID: vm1ID, CreatedAt: base},
		store.MIRPNode{ID: "node-2", ResourceID: vm2ID, CreatedAt: base})
	nodeCert := store.IssuedCertificate{Serial: "0a01", Kind: store.IssuedNode, NodeID: "node-1",
		ThumbprintSHA256: tokenHash("n1"), NotAfter: at(24 * time.Hour), CreatedAt: base}
	id1 := store.IssuedCertificate{Serial: "0a02", Kind: store.IssuedIdentity, NodeID: "node-1", PrincipalID: sysObject,
		CredentialID: "cred-1", ThumbprintSHA256: tokenHash("i1"), NotAfter: at(48 * time.Hour), CreatedAt: at(time.Second)}
	id2 := store.IssuedCertificate{Serial: "0a03", Kind: store.IssuedIdentity, NodeID: "node-2", PrincipalID: sysObject,
		CredentialID: "cred-2", ThumbprintSHA256: tokenHash("i2"), NotAfter: at(2 * time.Hour), CreatedAt: at(2 * time.Second)}
	id3 := store.IssuedCertificate{Serial: "0a04", Kind: store.IssuedIdentity, NodeID: "node-1", PrincipalID: userObject,
		CredentialID: "cred-3", ThumbprintSHA256: tokenHash("i3"), NotAfter: at(48 * time.Hour), CreatedAt: at(3 * time.Second)}
	create := func(tx store.Tx, v store.IssuedCertificate) error { return tx.CreateIssuedCertificate(v) }
	createAll(t, s, create, id3, id2, nodeCert, id1)

	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateIssuedCertificate(id1) })
	wantErr(t, "CreateIssuedCertificate(duplicate serial)", err, store.ErrConflict)
	orphan := id1
	orphan.Serial, orphan.NodeID = "0aff", "node-404"
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateIssuedCertificate(orphan) })
	wantErr(t, "CreateIssuedCertificate(unknown node)", err, store.ErrNotFound)

	list := func(name string, f store.IssuedCertificateFilter, want ...store.IssuedCertificate) {
		t.Helper()
		read(t, s, func(tx store.Tx) error {
			got, err := tx.ListIssuedCertificates(f)
			wantErr(t, "ListIssuedCertificates("+name+")", err, nil)
			diff(t, "ListIssuedCertificates("+name+")", got, want)
			return nil
		})
	}
	list("all", store.IssuedCertificateFilter{}, nodeCert, id1, id2, id3)
	list("identity", store.IssuedCertificateFilter{Kind: store.IssuedIdentity}, id1, id2, id3)
	list("node-1", store.IssuedCertificateFilter{NodeID: "node-1"}, nodeCert, id1, id3)
	list("principal", store.IssuedCertificateFilter{PrincipalID: upper(sysObject)}, id1, id2)
	list("node-1 and principal", store.IssuedCertificateFilter{NodeID: "node-1", PrincipalID: sysObject}, id1)

	write(t, s, func(tx store.Tx) error { return tx.RevokeIssuedCertificate(id1.Serial, at(time.Hour)) })
	write(t, s, func(tx store.Tx) error { return tx.RevokeIssuedCertificate(id1.Serial, at(5*time.Hour)) })
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.RevokeIssuedCertificate("ffff", base) })
	wantErr(t, "RevokeIssuedCertificate(missing)", err, store.ErrNotFound)
	revoked := id1
	revoked.RevokedAt = at(time.Hour) // the first revocation time is kept
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetIssuedCertificate(id1.Serial)
		wantErr(t, "GetIssuedCertificate", err, nil)
		diff(t, "GetIssuedCertificate(revoked)", got, revoked)
		_, err = tx.GetIssuedCertificate("ffff")
		wantErr(t, "GetIssuedCertificate(missing)", err, store.ErrNotFound)
		return nil
	})
	list("active", store.IssuedCertificateFilter{Active: true}, nodeCert, id2, id3)
	list("all after revoke", store.IssuedCertificateFilter{}, nodeCert, revoked, id2, id3)

	var pruned int
	write(t, s, func(tx store.Tx) (err error) {
		pruned, err = tx.PruneIssuedCertificates(at(3 * time.Hour))
		return err
	})
	if pruned != 1 {
		t.Errorf("PruneIssuedCertificates: pruned %d, want 1", pruned)
	}
	list("after prune", store.IssuedCertificateFilter{}, nodeCert, revoked, id3)
}
