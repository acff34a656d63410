package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

func testSigningKeys(t *testing.T, s store.Store) {
	older := store.SigningKey{KID: "Key-1", PrivateKeySealed: []byte("sealed-1"), PublicKeyDER: []byte("pub-1"),
		CertificateDER: []byte("cert-1"), PublishAt: base, ActiveAt: at(time.Hour), CreatedAt: base}
	newer := store.SigningKey{KID: "key-2", PrivateKeySealed: []byte("sealed-2"), PublicKeyDER: []byte("pub-2"),
		PublishAt: at(24 * time.Hour), ActiveAt: at(25 * time.Hour), CreatedAt: at(24 * time.Hour)}
	createAll(t, s, func(tx store.Tx, k store.SigningKey) error { return tx.CreateSigningKey(k) }, newer, older)

	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListSigningKeys()
		wantErr(t, "ListSigningKeys", err, nil)
		// Zero times (RetiredAt, UnpublishAt) and a nil certificate read back
		// as zero and nil.
		diff(t, "ListSigningKeys", list, []store.SigningKey{older, newer})
		for _, k := range list {
			if !k.RetiredAt.IsZero() || !k.UnpublishAt.IsZero() {
				t.Errorf("key %s: RetiredAt=%v UnpublishAt=%v, want zero times", k.KID, k.RetiredAt, k.UnpublishAt)
			}
		}
		return nil
	})

	dup := older
	dup.PublishAt = at(time.Minute)
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateSigningKey(dup) })
	wantErr(t, "CreateSigningKey(duplicate kid)", err, store.ErrConflict)

	retired := older
	retired.RetiredAt, retired.UnpublishAt = at(25*time.Hour), at(50*time.Hour)
	write(t, s, func(tx store.Tx) error { return tx.UpdateSigningKey(retired) })
	missing := older
	missing.KID = "key-404"
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.UpdateSigningKey(missing) })
	wantErr(t, "UpdateSigningKey(missing)", err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListSigningKeys()
		wantErr(t, "ListSigningKeys after update", err, nil)
		diff(t, "ListSigningKeys after update", list, []store.SigningKey{retired, newer})
		return nil
	})

	write(t, s, func(tx store.Tx) error { return tx.DeleteSigningKey(older.KID) })
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteSigningKey(older.KID) })
	wantErr(t, "DeleteSigningKey(already deleted)", err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListSigningKeys()
		wantErr(t, "ListSigningKeys after delete", err, nil)
		diff(t, "ListSigningKeys after delete", list, []store.SigningKey{newer})
		return nil
	})
}

func mark(s store.Store, t *testing.T, issuer, jti string, expires time.Time) error {
	return s.Write(t.Context(), func(tx store.Tx) error { return tx.MarkAssertionUsed(issuer, jti, expires) })
}

func testAssertionReplay(t *testing.T, s store.Store) {
	const iss = "0c000000-0000-4000-8000-0000000000a1"
	future := time.Now().Add(time.Hour)
	past := time.Now().Add(-time.Minute)

	steps := []struct {
		name        string
		issuer, jti string
		expires     time.Time
		want        error
	}{
		{"first use", iss, "jti-1", future, nil},
		{"replay while unexpired", iss, "jti-1", future, store.ErrConflict},
		{"replay with a later expiry", iss, "jti-1", future.Add(time.Hour), store.ErrConflict},
		{"other jti", iss, "jti-2", future, nil},
		{"jti is case-sensitive", iss, "JTI-1", future, nil},
		{"same jti, other issuer", "other-issuer", "jti-1", future, nil},
		{"already expired marker", iss, "jti-old", past, nil},
		{"reuse after expiry", iss, "jti-old", future, nil},
		{"replay of the renewed marker", iss, "jti-old", future, store.ErrConflict},
	}
	for _, st := range steps {
		wantErr(t, "MarkAssertionUsed("+st.name+")", mark(s, t, st.issuer, st.jti, st.expires), st.want)
	}

	// A replay detected inside a larger Write is an ordinary error there.
	err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.MarkAssertionUsed(iss, "jti-3", future); err != nil {
			return err
		}
		return tx.MarkAssertionUsed(iss, "jti-3", future)
	})
	wantErr(t, "MarkAssertionUsed twice in one Write", err, store.ErrConflict)
	wantErr(t, "MarkAssertionUsed after rolled-back Write", mark(s, t, iss, "jti-3", future), nil)

	// Pruning removes only markers that expired before the cut.
	write(t, s, func(tx store.Tx) error {
		for i, d := range []time.Duration{-3 * time.Hour, -2 * time.Hour, 2 * time.Hour} {
			if err := tx.MarkAssertionUsed("prune", fmt.Sprint("p", i), time.Now().Add(d)); err != nil {
				return err
			}
		}
		return nil
	})
	var pruned int
	write(t, s, func(tx store.Tx) error {
		var err error
		pruned, err = tx.PruneAssertions(time.Now().Add(-90 * time.Minute))
		return err
	})
	if pruned != 2 {
		t.Errorf("PruneAssertions: pruned %d, want 2", pruned)
	}
	wantErr(t, "MarkAssertionUsed(unexpired, survived pruning)", mark(s, t, "prune", "p2", future), store.ErrConflict)
	wantErr(t, "MarkAssertionUsed(pruned)", mark(s, t, "prune", "p0", future), nil)
}

// testAssertionReplayConcurrent presents one assertion from many goroutines
// at once: exactly one may succeed, or a stolen assertion could be replayed
// by racing the legitimate client.
func testAssertionReplayConcurrent(t *testing.T, s store.Store) {
	const n = 8
	for round := range 3 {
		jti := fmt.Sprint("race-", round)
		var wg sync.WaitGroup
		errs := make([]error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Go(func() {
				<-start
				errs[i] = mark(s, t, "racer", jti, time.Now().Add(time.Hour))
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, store.ErrConflict):
			default:
				t.Errorf("round %d: MarkAssertionUsed: unexpected error %v", round, err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of %d concurrent presentations accepted, want exactly 1", round, ok, n)
		}
	}
}
