package keys

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

const (
	testIssuer   = "https://login.local/tenant/v2.0"
	testAudience = "https://management.azure.com/"
	lead         = 10 * time.Minute
	tokenLife    = time.Hour
)

// openStore opens a SQLite store in dir. Call it inside the bubble and close
// the store before the bubble ends: database/sql starts goroutines.
func openStore(t *testing.T, dir string) *sqlstore.Store {
	t.Helper()
	st, err := sqlstore.Open(context.Background(), filepath.Join(dir, "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newKey(t *testing.T) *seal.Key {
	t.Helper()
	k, err := seal.NewRandomKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newManager(st store.Store, sk *seal.Key) *Manager {
	return &Manager{
		Store:            st,
		Seal:             sk,
		Lead:             lead,
		MaxTokenLifetime: tokenLife,
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

func claimsNow() jwt.Claims {
	now := time.Now()
	return jwt.Claims{
		Audience: testAudience, Issuer: testIssuer,
		IssuedAt: now.Unix(), NotBefore: now.Unix(), Expiry: now.Add(tokenLife).Unix(),
		ObjectID: "oid", Subject: "oid", TenantID: "tenant", Version: "2.0",
	}
}

func verifier(keys jwt.KeySet) *jwt.Verifier {
	return &jwt.Verifier{
		Keys:        keys,
		ValidIssuer: func(iss string) bool { return iss == testIssuer },
		Audiences:   []string{testAudience},
	}
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	p, err := jwt.Parse(token)
	if err != nil {
		t.Fatal(err)
	}
	return p.Header.Kid
}

func jwksKIDs(t *testing.T, body []byte) []string {
	t.Helper()
	var set jwt.JWKS
	if err := json.Unmarshal(body, &set); err != nil {
		t.Fatalf("JWKS is not JSON: %v", err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	return kids
}

func storedKeys(t *testing.T, st store.Store) []store.SigningKey {
	t.Helper()
	var recs []store.SigningKey
	if err := st.Read(context.Background(), func(tx store.Tx) error {
		var err error
		recs, err = tx.ListSigningKeys()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return recs
}

func mustSign(t *testing.T, m *Manager) string {
	t.Helper()
	tok, err := m.Sign(claimsNow())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// (1) A token signed before a rotation verifies until it expires, and its key
// leaves the JWKS only after that.
func TestTokenOutlivesRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, t.TempDir())
		defer st.Close()
		ctx := context.Background()
		m := newManager(st, newKey(t))
		if err := m.Init(ctx); err != nil {
			t.Fatal(err)
		}
		v := verifier(m)
		old := mustSign(t, m)
		oldKID := kidOf(t, old)
		if _, err := v.Verify(old); err != nil {
			t.Fatalf("fresh token: %v", err)
		}

		next, err := m.Rotate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := next.ActiveAt.Sub(next.PublishAt), lead; got != want {
			t.Errorf("ActiveAt-PublishAt = %v, want %v", got, want)
		}
		if got, want := jwksKIDs(t, m.JWKS()), []string{oldKID, next.KID}; !slices.Equal(got, want) {
			t.Errorf("JWKS right after rotation = %v, want %v (new key published at once)", got, want)
		}
		if got := kidOf(t, mustSign(t, m)); got != oldKID {
			t.Errorf("signed with %s before the lead passed, want %s", got, oldKID)
		}

		time.Sleep(lead)
		if got := kidOf(t, mustSign(t, m)); got != next.KID {
			t.Errorf("signed with %s after the lead, want the new key %s", got, next.KID)
		}
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		recs := storedKeys(t, st)
		i := slices.IndexFunc(recs, func(r store.SigningKey) bool { return r.KID == oldKID })
		if i < 0 {
			t.Fatal("old key deleted at retirement")
		}
		if got, want := recs[i].RetiredAt, next.ActiveAt; !got.Equal(want) {
			t.Errorf("RetiredAt = %v, want %v", got, want)
		}
		if got, want := recs[i].UnpublishAt, next.ActiveAt.Add(tokenLife+5*time.Minute); !got.Equal(want) {
			t.Errorf("UnpublishAt = %v, want %v", got, want)
		}

		// The old token was signed lead ago: it expires tokenLife-lead from now.
		time.Sleep(tokenLife - lead - time.Second)
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(old); err != nil {
			t.Fatalf("old token just before exp: %v", err)
		}
		time.Sleep(jwt.DefaultLeeway + 2*time.Second)
		if _, err := v.Verify(old); !errors.Is(err, jwt.ErrExpired) {
			t.Fatalf("old token after exp: %v, want ErrExpired", err)
		}

		// Still published until tokenLife+5m after the new key took over.
		time.Sleep(next.ActiveAt.Add(tokenLife+5*time.Minute).Sub(time.Now()) - time.Second)
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(jwksKIDs(t, m.JWKS()), oldKID) {
			t.Fatal("old key unpublished before UnpublishAt")
		}
		time.Sleep(time.Second)
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := jwksKIDs(t, m.JWKS()), []string{next.KID}; !slices.Equal(got, want) {
			t.Errorf("JWKS after UnpublishAt = %v, want %v", got, want)
		}
		if _, ok := m.PublicKey(oldKID); ok {
			t.Error("PublicKey still finds the unpublished key")
		}
		if got := len(storedKeys(t, st)); got != 1 {
			t.Errorf("store holds %d keys after unpublishing, want 1", got)
		}
	})
}

// Signing switches to a pending key at its ActiveAt from memory alone: no
// Tick, and no store behind it.
func TestSignNeedsNoStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, t.TempDir())
		m := newManager(st, newKey(t))
		if err := m.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		next, err := m.Rotate(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st.Close()
		time.Sleep(lead)
		tok := mustSign(t, m)
		if got := kidOf(t, tok); got != next.KID {
			t.Errorf("kid = %s, want %s", got, next.KID)
		}
		if _, err := verifier(m).Verify(tok); err != nil {
			t.Fatal(err)
		}
	})
}

// (2) A verifier that refetches the JWKS on its own schedule, more often
// than Lead, never meets a token whose kid it has not fetched.
func TestVerifierWithOwnScheduleAcrossRotations(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, t.TempDir())
		defer st.Close()
		m := newManager(st, newKey(t))
		m.Period = 20 * time.Minute
		m.RefreshInterval = 30 * time.Second
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		defer wg.Wait() // deferred calls run last-first: cancel, then wait
		defer cancel()
		if err := m.Init(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { m.Run(ctx) })

		// The relying party: its own copy of the JWKS, refetched every 3m
		// (< lead), at an offset from everything else.
		var mu sync.Mutex
		var copySet jwt.JWKS
		fetch := func() {
			var s jwt.JWKS
			if err := json.Unmarshal(m.JWKS(), &s); err != nil {
				t.Error(err)
			}
			mu.Lock()
			copySet = s
			mu.Unlock()
		}
		fetch()
		wg.Go(func() {
			time.Sleep(7 * time.Second)
			tk := time.NewTicker(3 * time.Minute)
			defer tk.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tk.C:
					fetch()
				}
			}
		})

		seen := map[string]bool{}
		end := time.Now().Add(2 * time.Hour)
		for time.Now().Before(end) {
			tok := mustSign(t, m)
			mu.Lock()
			set := copySet
			mu.Unlock()
			if _, err := verifier(set).Verify(tok); err != nil {
				t.Fatalf("at %v: token with kid %s refused by the verifier's copy: %v", time.Now(), kidOf(t, tok), err)
			}
			seen[kidOf(t, tok)] = true
			time.Sleep(11 * time.Second)
		}
		cancel()
		wg.Wait()
		// A key signs for Period+Lead = 30m: the successor is created when
		// the key has signed for Period and activates Lead later.
		if len(seen) < 4 {
			t.Errorf("tokens were signed by %d keys, want at least 4 (a new key every 30m over 2h)", len(seen))
		}
		// Retired keys were cleaned up: active, maybe a pending one, and
		// those still within tokenLife+5m of retirement.
		if got := len(storedKeys(t, st)); got > 6 {
			t.Errorf("store holds %d keys, old ones are not deleted", got)
		}
	})
}

// (3) A restart keeps the keys and the active kid.
func TestRestartKeepsKeys(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		sk := newKey(t)
		ctx := context.Background()
		st := openStore(t, dir)
		m := newManager(st, sk)
		if err := m.Init(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		time.Sleep(lead + time.Minute)
		if err := m.Tick(ctx); err != nil {
			t.Fatal(err)
		}
		tok := mustSign(t, m)
		wantKID, wantKeys := m.ActiveKID(), storedKeys(t, st)
		st.Close()

		// Reopen with the master key read back from its text form.
		sk2, err := seal.ParseKey([]byte(sk.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		st = openStore(t, dir)
		defer st.Close()
		m2 := newManager(st, sk2)
		if err := m2.Init(ctx); err != nil {
			t.Fatal(err)
		}
		if got := m2.ActiveKID(); got != wantKID {
			t.Errorf("active kid after restart = %s, want %s", got, wantKID)
		}
		if diff := cmp.Diff(wantKeys, storedKeys(t, st)); diff != "" {
			t.Errorf("restart changed the stored keys (-before +after):\n%s", diff)
		}
		if _, err := verifier(m2).Verify(tok); err != nil {
			t.Errorf("token from before the restart: %v", err)
		}
		if got := kidOf(t, mustSign(t, m2)); got != wantKID {
			t.Errorf("signed with %s after restart, want %s", got, wantKID)
		}
	})
}

// (4) The wrong master key fails Init, naming the problem, and changes nothing.
func TestWrongMasterKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, t.TempDir())
		defer st.Close()
		ctx := context.Background()
		m := newManager(st, newKey(t))
		if err := m.Init(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		before := storedKeys(t, st)

		wrong := newKey(t)
		m2 := newManager(st, wrong)
		err := m2.Init(ctx)
		if err == nil {
			t.Fatal("Init with the wrong master key succeeded")
		}
		if !errors.Is(err, seal.ErrOpen) || !strings.Contains(err.Error(), "master key") || !strings.Contains(err.Error(), wrong.Fingerprint()) {
			t.Errorf("Init error = %v, want one naming the master key and its fingerprint", err)
		}
		if _, err := m2.Sign(claimsNow()); !errors.Is(err, ErrNoActiveKey) {
			t.Errorf("Sign after failed Init = %v, want ErrNoActiveKey", err)
		}
		time.Sleep(2 * lead)
		if err := m2.Tick(ctx); err == nil {
			t.Error("Tick with the wrong master key succeeded")
		}
		if diff := cmp.Diff(before, storedKeys(t, st)); diff != "" {
			t.Errorf("store changed (-before +after):\n%s", diff)
		}
	})
}

// (5) Managers racing on one store end with one key at first start and one
// pending key on rotation.
func TestConcurrentManagers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, t.TempDir())
		defer st.Close()
		ctx := context.Background()
		sk := newKey(t)
		ms := []*Manager{newManager(st, sk), newManager(st, sk), newManager(st, sk)}

		var wg sync.WaitGroup
		for _, m := range ms {
			wg.Go(func() {
				if err := m.Init(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := len(storedKeys(t, st)); got != 1 {
			t.Fatalf("racing Init created %d keys, want 1", got)
		}

		kids := make([]string, len(ms))
		for i, m := range ms {
			wg.Go(func() {
				k, err := m.Rotate(ctx)
				if err != nil {
					t.Error(err)
				}
				kids[i] = k.KID
			})
		}
		wg.Wait()
		if got := len(storedKeys(t, st)); got != 2 {
			t.Fatalf("racing Rotate left %d keys, want 2 (active + one pending)", got)
		}
		for _, kid := range kids {
			if kid != kids[0] {
				t.Fatalf("Rotate returned different kids: %v", kids)
			}
		}
		// Automatic rotation on several replicas stacks nothing either.
		time.Sleep(lead)
		for _, m := range ms {
			m.Period = time.Minute
		}
		time.Sleep(time.Minute)
		for _, m := range ms {
			wg.Go(func() {
				if err := m.Tick(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		var pending int
		for _, r := range storedKeys(t, st) {
			if r.ActiveAt.After(time.Now()) {
				pending++
			}
		}
		if pending != 1 {
			t.Errorf("racing Ticks left %d pending keys, want 1", pending)
		}
	})
}

func TestInitValidates(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Manager)
	}{
		{"no store", func(m *Manager) { m.Store = nil }},
		{"no master key", func(m *Manager) { m.Seal = nil }},
		{"no token lifetime", func(m *Manager) { m.MaxTokenLifetime = 0 }},
		{"negative lead", func(m *Manager) { m.Lead = -time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newManager(nil, newKey(t))
			m.Store = nopStore{}
			tt.modify(m)
			if err := m.Init(context.Background()); err == nil {
				t.Fatal("Init succeeded")
			}
		})
	}
}

// nopStore fails every call; Init must reject the configuration before use.
type nopStore struct{ store.Store }

// A token's header names its key as the JWKS does: kid and x5t both, the
// x5t being the published certificate's thumbprint (Entra's kid equals it).
func TestTokenHeaderMatchesJWKS(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := openStore(t, t.TempDir())
		defer st.Close()
		m := newManager(st, newKey(t))
		if err := m.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		p, err := jwt.Parse(mustSign(t, m))
		if err != nil {
			t.Fatal(err)
		}
		var set jwt.JWKS
		if err := json.Unmarshal(m.JWKS(), &set); err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 1 {
			t.Fatalf("JWKS has %d keys, want 1", len(set.Keys))
		}
		k := set.Keys[0]
		got := [2]string{p.Header.Kid, p.Header.X5t}
		want := [2]string{k.Kid, k.X5t}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("token header kid, x5t differ from the JWKS (-want +got):\n%s", diff)
		}
		if p.Header.X5t != p.Header.Kid {
			t.Errorf("x5t %q != kid %q", p.Header.X5t, p.Header.Kid)
		}
	})
}
