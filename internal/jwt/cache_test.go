package jwt

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mutableKeys is a key set whose keys a test can withdraw.
type mutableKeys struct {
	mu   sync.Mutex
	keys map[string]*rsa.PublicKey
}

func (m *mutableKeys) PublicKey(kid string) (*rsa.PublicKey, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[kid]
	return k, ok
}

func (m *mutableKeys) remove(kid string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, kid)
}

// cacheFixture is a caching verifier over a real Verifier whose clock the
// test moves and which counts full verifications (the issuer check runs
// only in a full verification that got past the signature).
type cacheFixture struct {
	cv    *CachingVerifier
	keys  *mutableKeys
	now   time.Time
	fulls atomic.Int64
}

func newCacheFixture(maxEntries int) *cacheFixture {
	f := &cacheFixture{
		keys: &mutableKeys{keys: map[string]*rsa.PublicKey{"k1": &testKey().PublicKey}},
		now:  testNow,
	}
	f.cv = &CachingVerifier{
		Verifier: &Verifier{
			Keys: f.keys,
			ValidIssuer: func(iss string) bool {
				f.fulls.Add(1)
				return iss == testIssuer
			},
			Audiences: []string{"https://vault.azure.net"},
			Now:       func() time.Time { return f.now },
		},
		MaxEntries: maxEntries,
	}
	return f
}

func vaultToken(kv ...any) string {
	return craft(hdrK1, with(testClaims(), append([]any{"aud", "https://vault.azure.net"}, kv...)...), rs256(testKey()))
}

func TestCachingVerifierServesRepeatsFromCache(t *testing.T) {
	f := newCacheFixture(0)
	tok := vaultToken("uti", "u1")
	first, err := f.cv.Verify(tok)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		got, err := f.cv.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("cached claims differ (-first +got):\n%s", diff)
		}
	}
	if got, want := f.fulls.Load(), int64(1); got != want {
		t.Errorf("full verifications = %d, want %d", got, want)
	}

	// The caller owns what it gets: changing it changes nothing cached.
	got, _ := f.cv.Verify(tok)
	got.ObjectID = "someone-else"
	again, _ := f.cv.Verify(tok)
	if again.ObjectID != "oid-1" {
		t.Errorf("cached claims were changed through a returned copy: oid %q", again.ObjectID)
	}
}

func TestCachingVerifierNeverCachesRefusals(t *testing.T) {
	f := newCacheFixture(0)
	otherSigned := craft(hdrK1, with(testClaims(), "aud", "https://vault.azure.net"), rs256(otherKey()))
	tests := []struct {
		name  string
		token string
		want  error
	}{
		{"bad signature", otherSigned, ErrSignature},
		{"wrong audience", vaultToken("aud", "https://storage.azure.com"), ErrAudience},
		{"wrong issuer", vaultToken("iss", "https://evil/tenant/v2.0"), ErrIssuer},
		{"expired", vaultToken("exp", testNow.Add(-time.Hour).Unix()), ErrExpired},
		{"alg none", craft(`{"alg":"none","kid":"k1"}`, with(testClaims(), "aud", "https://vault.azure.net"), nil), ErrAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 {
				if _, err := f.cv.Verify(tt.token); !errors.Is(err, tt.want) {
					t.Fatalf("Verify = %v, want %v", err, tt.want)
				}
			}
		})
	}
	if got := f.cv.Len(); got != 0 {
		t.Errorf("cache holds %d entries after refusals only, want 0", got)
	}
}

func TestCachingVerifierExpiry(t *testing.T) {
	f := newCacheFixture(0)
	exp := testNow.Add(10 * time.Minute)
	tok := vaultToken("exp", exp.Unix())
	if _, err := f.cv.Verify(tok); err != nil {
		t.Fatal(err)
	}

	// Inside exp minus leeway: served from the cache.
	f.now = exp.Add(-DefaultLeeway - time.Second)
	if _, err := f.cv.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if got, want := f.fulls.Load(), int64(1); got != want {
		t.Errorf("full verifications before exp-leeway = %d, want %d", got, want)
	}

	// From exp minus leeway on, every use is a full verification again, and
	// past exp plus leeway the token is refused as Verify refuses it.
	f.now = exp.Add(-DefaultLeeway)
	if _, err := f.cv.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if got, want := f.fulls.Load(), int64(2); got != want {
		t.Errorf("full verifications at exp-leeway = %d, want %d", got, want)
	}
	f.now = exp.Add(DefaultLeeway)
	if _, err := f.cv.Verify(tok); !errors.Is(err, ErrExpired) {
		t.Errorf("Verify after exp+leeway = %v, want ErrExpired", err)
	}
}

// A cached token is refused, as Verify refuses it, when the clock is set
// back before its nbf minus the leeway; when the clock is right again it is
// accepted again.
func TestCachingVerifierNotBeforeOnEveryHit(t *testing.T) {
	f := newCacheFixture(0)
	nbf := testNow.Add(-time.Minute)
	tok := vaultToken("nbf", nbf.Unix())
	if _, err := f.cv.Verify(tok); err != nil {
		t.Fatal(err)
	}
	f.now = nbf.Add(-DefaultLeeway - time.Second)
	if _, err := f.cv.Verify(tok); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("Verify with the clock before nbf-leeway = %v, want ErrNotYetValid", err)
	}
	f.now = testNow
	if _, err := f.cv.Verify(tok); err != nil {
		t.Errorf("Verify with the clock right again = %v, want accepted", err)
	}
}

// A key replaced under the same kid (another object, another modulus)
// ends the tokens the old one signed, even though the kid still resolves.
func TestCachingVerifierReplacedKeyEndsCachedTokens(t *testing.T) {
	f := newCacheFixture(0)
	tok := vaultToken()
	if _, err := f.cv.Verify(tok); err != nil {
		t.Fatal(err)
	}
	// An equal key in a new object is still the same key.
	same := *f.keys.keys["k1"]
	f.keys.mu.Lock()
	f.keys.keys["k1"] = &same
	f.keys.mu.Unlock()
	if _, err := f.cv.Verify(tok); err != nil {
		t.Errorf("Verify after the key object was replaced by an equal one = %v, want accepted", err)
	}
	if got, want := f.fulls.Load(), int64(1); got != want {
		t.Errorf("full verifications = %d, want %d (an equal key keeps the entry)", got, want)
	}
	f.keys.mu.Lock()
	f.keys.keys["k1"] = &otherKey().PublicKey
	f.keys.mu.Unlock()
	if _, err := f.cv.Verify(tok); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify after k1 became another key = %v, want ErrSignature", err)
	}
}

func TestCachingVerifierWithdrawnKeyEndsCachedTokens(t *testing.T) {
	f := newCacheFixture(0)
	tok := vaultToken()
	if _, err := f.cv.Verify(tok); err != nil {
		t.Fatal(err)
	}
	f.keys.remove("k1")
	if _, err := f.cv.Verify(tok); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Verify after the key left the set = %v, want ErrUnknownKey", err)
	}
	if got := f.cv.Len(); got != 0 {
		t.Errorf("cache holds %d entries, want 0", got)
	}
}

func TestCachingVerifierIsBounded(t *testing.T) {
	const limit = 4
	f := newCacheFixture(limit)
	for i := range 3 * limit {
		if _, err := f.cv.Verify(vaultToken("uti", fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if got := f.cv.Len(); got > limit {
			t.Fatalf("after %d tokens the cache holds %d, limit %d", i+1, got, limit)
		}
	}
}

func TestCachingVerifierConcurrent(t *testing.T) {
	f := newCacheFixture(8)
	toks := make([]string, 16)
	for i := range toks {
		toks[i] = vaultToken("uti", fmt.Sprint(i))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 64 {
				tok := toks[(g+i)%len(toks)]
				if _, err := f.cv.Verify(tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCachingVerifierHit(b *testing.B) {
	f := newCacheFixture(0)
	tok := vaultToken()
	if _, err := f.cv.Verify(tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.cv.Verify(tok); err != nil {
			b.Fatal(err)
		}
	}
}

// flippingKeys answers the first lookup with one key and every later one
// with another, as a key set whose kid is replaced mid-verification would.
type flippingKeys struct {
	mu           sync.Mutex
	first, after *rsa.PublicKey
	lookups      int
}

func (f *flippingKeys) PublicKey(string) (*rsa.PublicKey, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	if f.lookups == 1 {
		return f.first, true
	}
	return f.after, true
}

// The cache entry is tied to the key that checked the signature, not to
// whatever the set holds a moment later: once k1 names another key, the
// token goes through the full check and is refused.
func TestCachingVerifierTiesEntryToVerifyingKey(t *testing.T) {
	keys := &flippingKeys{first: &testKey().PublicKey, after: &otherKey().PublicKey}
	cv := &CachingVerifier{Verifier: &Verifier{
		Keys:        keys,
		ValidIssuer: func(iss string) bool { return iss == testIssuer },
		Audiences:   []string{"https://vault.azure.net"},
		Now:         func() time.Time { return testNow },
	}}
	tok := vaultToken()
	if _, err := cv.Verify(tok); err != nil {
		t.Fatal(err)
	}
	if got, want := keys.lookups, 1; got != want {
		t.Errorf("key lookups for one miss = %d, want %d", got, want)
	}
	if _, err := cv.Verify(tok); !errors.Is(err, ErrSignature) {
		t.Errorf("Verify after k1 became another key = %v, want ErrSignature", err)
	}
}
