package sts

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/jwt"
)

// The two benchmarks below are meant to be read side by side: Ceiling is
// the unavoidable cryptography of one token (verify one PS256 client
// assertion, sign one RS256 token); TokenAssertion is the whole in-process
// token endpoint (parse, store reads, replay marker, sign, sign-in record,
// JSON). Their ratio is the service's efficiency. Run with e.g.
//
//	go test ./internal/sts -run '^$' -bench 'Ceiling|TokenAssertion' -benchtime 400x

// assertions pre-signs n client assertions (signing them is the client's
// cost, not the service's).
func (f *fixture) assertionBodies(n int) []string {
	bodies := make([]string, n)
	for i := range bodies {
		bodies[i] = assertionForm(f.assertion(f.mi.ClientID, f.miCert, assertion{})).Encode()
	}
	return bodies
}

func (f *fixture) serveToken(b *testing.B, h http.Handler, body string) {
	req := httptest.NewRequest(http.MethodPost, "/"+f.tenant+"/oauth2/v2.0/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

func BenchmarkTokenAssertion(b *testing.B) {
	f := newFixture(b)
	h := f.srv.Handler()
	bodies := f.assertionBodies(b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.serveToken(b, h, bodies[i])
	}
}

func BenchmarkTokenAssertionParallel(b *testing.B) {
	f := newFixture(b)
	h := f.srv.Handler()
	bodies := f.assertionBodies(b.N)
	var next atomic.Int64
	// Many clients at once, as under real load: sign-in records then share
	// commits (audit's group commit).
	b.SetParallelism(8)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.serveToken(b, h, bodies[next.Add(1)-1])
		}
	})
}

// ceiling verifies one assertion and signs one token, nothing else.
func (f *fixture) ceiling(b *testing.B, raw string, vc *verifyingCert) {
	p, err := jwt.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.VerifySignature(vc.pub, jwt.PS256, jwt.RS256); err != nil {
		b.Fatal(err)
	}
	now := time.Now().Unix()
	if _, err := f.keys.Sign(jwt.Claims{Audience: "api://x", Issuer: "i", IssuedAt: now, NotBefore: now, Expiry: now + 3600}); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCeiling(b *testing.B) {
	f := newFixture(b)
	raw := f.assertion(f.mi.ClientID, f.miCert, assertion{})
	vc, err := f.srv.certs.get(f.miCredential(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.ceiling(b, raw, vc)
	}
}

func BenchmarkCeilingParallel(b *testing.B) {
	f := newFixture(b)
	raw := f.assertion(f.mi.ClientID, f.miCert, assertion{})
	vc, err := f.srv.certs.get(f.miCredential(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f.ceiling(b, raw, vc)
		}
	})
}
