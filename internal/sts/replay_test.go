package sts

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

// Over HTTP: n concurrent presentations of one assertion give one token,
// and the refused ones cost no signature.
func TestAssertionReplayNotSigned(t *testing.T) {
	f := newFixture(t)
	a := f.assertion(f.sp.ClientID, f.certDER, assertion{})
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	for i := range n {
		wg.Go(func() { statuses[i] = f.post(f.tokenURL(2), assertionForm(a), nil).status })
	}
	wg.Wait()
	got := map[int]int{}
	for _, s := range statuses {
		got[s]++
	}
	if diff := cmp.Diff(map[int]int{http.StatusOK: 1, http.StatusUnauthorized: n - 1}, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got, want := f.signer.signed.Load(), int64(1); got != want {
		t.Errorf("%d tokens signed, want %d", got, want)
	}
	// Later presentations are refused before signing too.
	for range 3 {
		if r := f.post(f.tokenURL(2), assertionForm(a), nil); r.status != http.StatusUnauthorized {
			t.Errorf("later replay: status %d, want 401", r.status)
		}
	}
	if got, want := f.signer.signed.Load(), int64(1); got != want {
		t.Errorf("%d tokens signed after later replays, want %d", got, want)
	}
}

// rivalReplica spends every assertion in the store just before the real
// recorder's transaction, as another replica racing for the same jti would
// after this one's early looks found it unspent.
type rivalReplica struct {
	SignInRecorder
	st store.Store
	t  *testing.T
}

func (r rivalReplica) StartSignIn(ctx context.Context, rec store.SignIn, use *store.AssertionUse) func(context.Context) error {
	if use != nil {
		err := r.st.Write(context.Background(), func(tx store.Tx) error {
			return tx.MarkAssertionUsed(use.Issuer, use.JTI, use.Expires)
		})
		if err != nil {
			r.t.Errorf("rival replica: %v", err)
		}
	}
	return r.SignInRecorder.StartSignIn(ctx, rec, use)
}

// The store decides: an assertion another replica spent while this one
// was signing gets no token, and the refusal, not a success, is recorded.
func TestAssertionSpentByAnotherReplicaGetsNoToken(t *testing.T) {
	f := newFixture(t)
	f.srv.Recorder = rivalReplica{SignInRecorder: f.srv.Recorder, st: f.st, t: t}
	before := f.signIns()
	r := f.post(f.tokenURL(2), assertionForm(f.assertion(f.sp.ClientID, f.certDER, assertion{})), nil)
	if r.status != http.StatusUnauthorized || r.body["error"] != "invalid_client" {
		t.Errorf("status %d error %v, want 401 invalid_client", r.status, r.body["error"])
	}
	if _, ok := r.body["access_token"]; ok {
		t.Error("a token was handed out for a spent assertion")
	}
	var added []string
	for id, rec := range f.signIns() {
		if _, ok := before[id]; !ok {
			added = append(added, rec.Result+" "+rec.ErrorCode+" token="+rec.TokenID)
		}
	}
	if diff := cmp.Diff([]string{"failure AADSTS50013 token="}, added); diff != "" {
		t.Errorf("sign-ins added (-want +got):\n%s", diff)
	}
}

// spending: one holder per (issuer, jti) at a time; a failed spend frees
// it, a spent one stays refused until it expires, and memory is bounded.
func TestSpendingClaims(t *testing.T) {
	var s spending
	now := time.Unix(1_700_000_000, 0)
	exp := now.Add(time.Minute)
	if !s.claim("client", "a", now) {
		t.Fatal("first claim refused")
	}
	if s.claim("client", "a", now) {
		t.Error("second claim while in flight was granted")
	}
	if !s.claim("other-client", "a", now) {
		t.Error("same jti of another issuer was refused")
	}
	s.done("other-client", "a", false, exp, now) // its commit failed
	if !s.claim("other-client", "a", now) {
		t.Error("claim after a failed spend was refused")
	}
	s.done("client", "a", true, exp, now)
	if s.claim("client", "a", now.Add(30*time.Second)) {
		t.Error("claim of a spent, unexpired assertion was granted")
	}
	if !s.claim("client", "a", exp.Add(time.Second)) {
		t.Error("claim after expiry was refused")
	}
	for i := range maxRemembered + 10 {
		jti := fmt.Sprint("bulk-", i)
		if !s.claim("client", jti, now) {
			t.Fatalf("claim %s refused", jti)
		}
		s.done("client", jti, true, exp, now)
	}
	if got := len(s.spent); got > maxRemembered {
		t.Errorf("%d spent assertions remembered, want at most %d", got, maxRemembered)
	}
	if !s.claim("client", "bulk-0", now) {
		t.Error("the oldest spent assertion is still remembered past the bound")
	}
	if s.claim("client", fmt.Sprint("bulk-", maxRemembered+9), now) {
		t.Error("the newest spent assertion was forgotten")
	}
}

// conflictingRecorder commits nothing and reports a conflict, as the store
// does for a duplicate record.
type conflictingRecorder struct{ SignInRecorder }

func (conflictingRecorder) StartSignIn(context.Context, store.SignIn, *store.AssertionUse) func(context.Context) error {
	return func(context.Context) error { return fmt.Errorf("append sign-ins: %w", store.ErrConflict) }
}

// A conflict on a secret client's sign-in (which spends no assertion) is a
// server error, not "assertion replayed", and hands out no token.
func TestSecretClientConflictIsNoReplay(t *testing.T) {
	f := newFixture(t)
	f.srv.Recorder = conflictingRecorder{f.srv.Recorder}
	r := f.post(f.tokenURL(2), secretForm(f.sp.ClientID, f.secret), nil)
	if r.status != http.StatusInternalServerError || r.body["error"] == "invalid_client" {
		t.Errorf("status %d error %v, want a 500 server error", r.status, r.body["error"])
	}
	if _, ok := r.body["access_token"]; ok {
		t.Error("a token was handed out unrecorded")
	}
}
