package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// syncEnv is the agent's real cache and STS client talking to two fake STS
// regions over an in-process network, for use inside a synctest bubble.
type syncEnv struct {
	net        *fakeNet
	sts1, sts2 *fakeSTS
	client     *STSClient
	cache      *Cache
	imds       *IMDS
	id         Identity
}

const (
	region1 = "sts1.test"
	region2 = "sts2.test"
)

func newSyncEnv(t *testing.T, lifetime time.Duration, cfg CacheConfig) *syncEnv {
	hs, hu, _, _ := testIdentities(t)
	e := &syncEnv{sts1: newFakeSTS(t, hs, hu), sts2: newFakeSTS(t, hs, hu), id: hs}
	e.sts1.lifetime, e.sts2.lifetime = lifetime, lifetime
	e.net = newFakeNet(map[string]http.Handler{region1: e.sts1, region2: e.sts2})
	var err error
	e.client, err = NewSTSClient(STSConfig{
		Endpoints: []string{"https://" + region1, "https://" + region2},
		Transport: e.net,
		Logger:    quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = quiet
	e.cache = NewCache(e.client, cfg)
	t.Cleanup(e.cache.Close) // no refresh timers may outlive the bubble
	e.imds = &IMDS{Tokens: e.cache, Identities: StaticIdentities{"": {hs, hu}}, Logger: quiet}
	return e
}

func (e *syncEnv) token(t *testing.T, resource string) (*Token, error) {
	t.Helper()
	return e.cache.Token(t.Context(), &e.id, resource)
}

func (e *syncEnv) mustToken(t *testing.T, resource string) *Token {
	t.Helper()
	tok, err := e.token(t, resource)
	if err != nil {
		t.Fatalf("Token(%s): %v", resource, err)
	}
	return tok
}

func TestCacheCoalescesConcurrentMisses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, 24*time.Hour, CacheConfig{})
		release := make(chan struct{})
		e.sts1.block.Store(&release)

		const n = 1000
		toks := make([]*Token, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				var err error
				if toks[i], err = e.token(t, "https://vault.azure.net"); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait() // all 1,000 are waiting and the one fetch is held
		if got := e.sts1.calls.Load(); got != 1 {
			t.Fatalf("STS calls while %d requests wait = %d, want 1", n, got)
		}
		close(release)
		wg.Wait()
		for i, tok := range toks {
			if tok != toks[0] {
				t.Fatalf("request %d got a different token", i)
			}
		}
		// Later requests are hits.
		if e.mustToken(t, "https://vault.azure.net/") != toks[0] {
			t.Error("a hit returned another token")
		}
		want := CacheStats{Hits: 1, Misses: n, Fetches: 1}
		if diff := cmp.Diff(want, e.cache.Stats()); diff != "" {
			t.Errorf("stats (-want +got):\n%s", diff)
		}
	})
}

func TestCacheDistinctKeysFetchSeparately(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, 24*time.Hour, CacheConfig{})
		const n = 1000
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resource := fmt.Sprintf("api://resource-%d", i)
				tok, err := e.token(t, resource)
				if err != nil {
					t.Error(err)
					return
				}
				if want := "tok." + e.id.ClientID + "." + resource + "/.default."; !strings.HasPrefix(tok.AccessToken, want) {
					t.Errorf("token %q, want prefix %q", tok.AccessToken, want)
				}
			})
		}
		wg.Wait()
		if got := e.sts1.issued.Load(); got != n {
			t.Errorf("tokens issued = %d, want %d", got, n)
		}
		if got := e.cache.Stats().Fetches; got != n {
			t.Errorf("fetches = %d, want %d", got, n)
		}
	})
}

// imdsGet asks the IMDS handler for a token for the host's system identity.
func imdsGet(h http.Handler, resource string) (int, map[string]any, error) {
	w := do(h, reqSpec{target: tokenPath + "?api-version=2018-02-01&resource=" + resource, header: md})
	var body map[string]any
	err := json.Unmarshal(w.Body.Bytes(), &body)
	return w.Code, body, err
}

func TestCacheServesStaleWhileSTSDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, 24*time.Hour, CacheConfig{})
		first := e.mustToken(t, "https://vault.azure.net")
		e.net.setDown(region1, true)
		e.net.setDown(region2, true)

		// Past half-life the refresh fails, but the cached token is served
		// until 5 minutes before it expires.
		time.Sleep(24*time.Hour - 5*time.Minute - time.Second)
		if got := e.mustToken(t, "https://vault.azure.net"); got != first {
			t.Error("a stale but usable token was not served")
		}
		if s := e.cache.Stats(); s.Failures == 0 || s.Refreshes != 0 {
			t.Errorf("stats %+v: want failed refreshes and no successful one", s)
		}

		// A miss while the STS is down: 503, never 404.
		status, body, err := imdsGet(e.imds, "https://storage.azure.com")
		if err != nil || status != http.StatusServiceUnavailable || body["error"] != "token_service_unavailable" {
			t.Errorf("miss while down: %d %v %v, want 503 token_service_unavailable", status, body, err)
		}

		// Inside the margin the cached token is no longer handed out.
		time.Sleep(2 * time.Second)
		_, err = e.token(t, "https://vault.azure.net")
		if !errors.Is(err, ErrSTSUnavailable) {
			t.Errorf("err = %v, want ErrSTSUnavailable", err)
		}
		if status, _, _ := imdsGet(e.imds, "https://vault.azure.net"); status != http.StatusServiceUnavailable {
			t.Errorf("expired token: status %d, want 503", status)
		}

		// Recovery: the next request gets a fresh token.
		e.net.setDown(region2, false)
		tok := e.mustToken(t, "https://vault.azure.net")
		if tok == first || time.Until(tok.ExpiresOn) != 24*time.Hour {
			t.Errorf("after recovery: same token %v, expires in %v", tok == first, time.Until(tok.ExpiresOn))
		}
		if status, _, _ := imdsGet(e.imds, "https://storage.azure.com"); status != 200 {
			t.Errorf("miss after recovery: status %d", status)
		}
	})
}

func TestCacheFailoverHidesDownRegion(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, 24*time.Hour, CacheConfig{})
		e.net.setDown(region1, true)
		for i := range 120 {
			status, body, err := imdsGet(e.imds, fmt.Sprintf("api://failover-%d", i))
			if status != 200 || err != nil {
				t.Fatalf("request %d: %d %v %v", i, status, body, err)
			}
			time.Sleep(time.Second)
		}
		// Backoff 2, 4, 8, 16, 32, 60 s: region 1 was tried at 0, 2, 6, 14,
		// 30, 62 and 122 s at most, not 120 times.
		if got := e.net.attemptsTo(region1); got < 2 || got > 7 {
			t.Errorf("attempts to the down region = %d, want between 2 and 7", got)
		}
		if got := e.sts2.issued.Load(); got != 120 {
			t.Errorf("region 2 issued %d tokens, want 120", got)
		}
		// Back up: once its backoff lapses, region 1 is preferred again.
		e.net.setDown(region1, false)
		time.Sleep(time.Minute)
		e.mustToken(t, "api://after")
		if got := e.sts1.issued.Load(); got != 1 {
			t.Errorf("region 1 issued %d tokens after recovery, want 1", got)
		}
	})
}

func TestSTSClientRejectionIsFinal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, 24*time.Hour, CacheConfig{})
		e.sts1.reject.Store(true)
		_, err := e.client.FetchToken(t.Context(), &e.id, "https://vault.azure.net")
		var rej *RejectedError
		if !errors.As(err, &rej) {
			t.Fatalf("err = %v, want a RejectedError", err)
		}
		want := &RejectedError{Status: 401, Code: "invalid_client", Description: "AADSTS700027: certificate revoked"}
		if diff := cmp.Diff(want, rej); diff != "" {
			t.Errorf("rejection (-want +got):\n%s", diff)
		}
		if got := e.net.attemptsTo(region2); got != 0 {
			t.Errorf("region 2 asked %d times after a 4xx, want 0", got)
		}
		// The workload sees the identity problem as a final 400.
		status, body, _ := imdsGet(e.imds, "https://vault.azure.net")
		wantBody := errBody("invalid_client", "The token service refused the request: AADSTS700027: certificate revoked")
		if diff := cmp.Diff(wantBody, body); status != 400 || diff != "" {
			t.Errorf("status %d, body (-want +got):\n%s", status, diff)
		}
	})
}

func TestSTSClientServerErrorFailsOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, 24*time.Hour, CacheConfig{})
		e.sts1.down.Store(true) // answers 503
		tok, err := e.client.FetchToken(t.Context(), &e.id, "https://vault.azure.net")
		if err != nil {
			t.Fatal(err)
		}
		if got := e.sts2.issued.Load(); got != 1 || tok.AccessToken == "" {
			t.Errorf("region 2 issued %d", got)
		}
	})
}

func TestSTSClientBackoffNeverLeavesNoEndpoint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, 24*time.Hour, CacheConfig{})
		e.net.setDown(region1, true)
		e.net.setDown(region2, true)
		var perFetch []int
		for range 5 {
			before := e.net.attemptsTo(region1) + e.net.attemptsTo(region2)
			_, err := e.client.FetchToken(t.Context(), &e.id, "https://vault.azure.net")
			if !errors.Is(err, ErrSTSUnavailable) {
				t.Fatalf("err = %v, want ErrSTSUnavailable", err)
			}
			perFetch = append(perFetch, e.net.attemptsTo(region1)+e.net.attemptsTo(region2)-before)
			time.Sleep(500 * time.Millisecond)
		}
		// Both regions back off, yet every fetch still tries them all
		// rather than none.
		if diff := cmp.Diff([]int{2, 2, 2, 2, 2}, perFetch); diff != "" {
			t.Errorf("attempts per fetch (-want +got):\n%s", diff)
		}
	})
}

func TestCacheHalfLifeRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lifetime = 60 * time.Second
		e := newSyncEnv(t, lifetime, CacheConfig{})
		seen := map[string]bool{}
		for i := range 600 {
			tok := e.mustToken(t, "https://vault.azure.net")
			if left := time.Until(tok.ExpiresOn); left < lifetime/2 {
				t.Fatalf("poll %d: token has %v left, less than half its lifetime", i, left)
			}
			seen[tok.AccessToken] = true
			time.Sleep(time.Second)
		}
		s := e.cache.Stats()
		// One fetch, then a refresh every 30 s, all in the background.
		if s.Misses != 1 || s.Refreshes < 19 || len(seen) < 20 {
			t.Errorf("stats %+v, %d distinct tokens; want 1 miss and ~20 refreshes", s, len(seen))
		}
	})
}

func TestCacheRefreshRetriesAfterFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, time.Hour, CacheConfig{})
		first := e.mustToken(t, "https://vault.azure.net")
		e.net.setDown(region1, true)
		e.net.setDown(region2, true)
		time.Sleep(31 * time.Minute) // the half-life refresh failed
		e.net.setDown(region2, false)
		time.Sleep(2 * time.Minute) // a retry (5 s, 10 s, ... ≤ 2 min) succeeds
		tok := e.mustToken(t, "https://vault.azure.net")
		if tok == first || e.cache.Stats().Refreshes != 1 {
			t.Errorf("no background refresh after recovery: stats %+v", e.cache.Stats())
		}
	})
}

func TestCacheDropsIdleEntries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, time.Hour, CacheConfig{IdleTimeout: 2 * time.Hour})
		e.mustToken(t, "https://vault.azure.net")
		time.Sleep(3 * time.Hour)
		issued := e.sts1.issued.Load()
		time.Sleep(5 * time.Hour)
		if got := e.sts1.issued.Load(); got != issued {
			t.Errorf("an idle entry kept being refreshed: %d more tokens", got-issued)
		}
		if issued < 3 || issued > 6 {
			t.Errorf("issued %d tokens while in use, want about 4", issued)
		}
	})
}

func TestCacheCallerCancelDoesNotFailOthers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, time.Hour, CacheConfig{})
		release := make(chan struct{})
		e.sts1.block.Store(&release)
		ctx, cancel := context.WithCancel(t.Context())
		errc := make(chan error, 1)
		go func() { _, err := e.cache.Token(ctx, &e.id, "x"); errc <- err }()
		var other *Token
		var otherErr error
		done := make(chan struct{})
		go func() { other, otherErr = e.token(t, "x"); close(done) }()
		synctest.Wait()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled caller: err = %v", err)
		}
		close(release)
		<-done
		if otherErr != nil || other == nil {
			t.Errorf("the other caller failed: %v", otherErr)
		}
	})
}

// A renewed certificate (the enrollment side swaps Identity.Certificate and
// Key) is used from the next refresh on, even when the old one is revoked.
func TestCacheRefreshUsesRenewedCertificate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, time.Hour, CacheConfig{})
		old := e.id
		first := e.mustToken(t, "https://vault.azure.net")

		renewed := newIdentity(t, old.ClientID, old.ObjectID, old.ResourceID, true)
		e.sts1.mu.Lock()
		clear(e.sts1.certs) // the old certificate is no longer accepted
		e.sts1.mu.Unlock()
		e.sts1.register(renewed)
		e.id = renewed
		if e.mustToken(t, "https://vault.azure.net") != first {
			t.Fatal("a hit fetched")
		}
		time.Sleep(31 * time.Minute)
		if tok := e.mustToken(t, "https://vault.azure.net"); tok == first {
			t.Errorf("not refreshed with the renewed certificate; stats %+v", e.cache.Stats())
		}
	})
}

func TestNewSTSClientValidates(t *testing.T) {
	for _, eps := range [][]string{nil, {"http://sts.test"}, {"sts.test"}, {"https://sts.test?x=1"}, {"https://"}} {
		if _, err := NewSTSClient(STSConfig{Endpoints: eps}); err == nil {
			t.Errorf("endpoints %q accepted", eps)
		}
	}
}

func TestMissingCredentialIsTransient(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newSyncEnv(t, time.Hour, CacheConfig{})
		noKey := e.id
		noKey.Key, noKey.Certificate = nil, nil
		e.imds.Identities = StaticIdentities{"": {noKey}}
		status, body, _ := imdsGet(e.imds, "https://vault.azure.net")
		if status != http.StatusServiceUnavailable || body["error"] != "credential_not_ready" {
			t.Errorf("status %d body %v, want 503 credential_not_ready", status, body)
		}
		if got := e.net.attemptsTo(region1); got != 0 {
			t.Errorf("%d requests sent without a credential", got)
		}
	})
}
