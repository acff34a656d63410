package secrets

import (
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/store"
)

// discardRecorder takes access records and keeps none: the benchmark
// below measures the data plane, and the audit log's own cost is measured
// in its package.
type discardRecorder struct{}

func (discardRecorder) Access(context.Context, store.Access) error { return nil }
func (discardRecorder) AccessAsync(store.Access) error             { return nil }

// benchWriter is a ResponseWriter that keeps only the status, reused
// between iterations so that the benchmark counts the handler's own
// allocations.
type benchWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) WriteHeader(status int)      { w.status = status }
func (w *benchWriter) Write(b []byte) (int, error) { w.n += len(b); return len(b), nil }

// stableKeys is a key set that returns the same key object on every
// lookup, as keys.Manager does.
type stableKeys map[string]*rsa.PublicKey

func (k stableKeys) PublicKey(kid string) (*rsa.PublicKey, bool) { p, ok := k[kid]; return p, ok }

// BenchmarkGetSecret is bench/keyvault's request through the handler with
// the caches wired as the composition root wires them, warm: a path-style
// GET of the current version by a principal holding Owner at the root and
// the subscription and Key Vault Secrets Officer at the vault, with ten
// other principals' assignments around it.
func BenchmarkGetSecret(b *testing.B) {
	f := newFixture(b)
	// The server's key set (keys.Manager) hands out the same *rsa.PublicKey
	// on every lookup; the fixture's JWKS decodes the key each time.
	f.srv.Verifier.(*jwt.CachingVerifier).Verifier.Keys = stableKeys{"k1": &signingKey().PublicKey}
	f.createVault("kv1", `{}`)
	caller := uuid.NewString()
	f.grant(caller, authz.OwnerRoleID, "/")
	f.grant(caller, authz.OwnerRoleID, "/subscriptions/"+testSub)
	f.grant(caller, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	for range 10 {
		f.grant(uuid.NewString(), authz.KeyVaultSecretsUserRoleID, vaultID("kv1"))
	}
	tok := f.token(caller, "https://vault.azure.net", nil)
	f.put("kv1", "db", "correct horse battery staple", tok)
	f.srv.Recorder = discardRecorder{}
	h := f.srv.Handler()

	req := httptest.NewRequest(http.MethodGet, "https://127.0.0.1:"+f.port+"/kv1/secrets/db/?api-version=7.4", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	w := &benchWriter{h: http.Header{}}
	serve := func() {
		clear(w.h)
		w.status, w.n = 0, 0
		h.ServeHTTP(w, req)
		if w.status != http.StatusOK {
			b.Fatalf("GET = %d, want 200", w.status)
		}
	}
	serve()
	b.ReportAllocs()
	for b.Loop() {
		serve()
	}
}
