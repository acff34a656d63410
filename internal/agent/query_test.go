package agent

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"
	"unicode/utf8"
)

func TestNormalizeResource(t *testing.T) {
	for in, want := range map[string]string{
		"https://vault.azure.net":                       "https://vault.azure.net",
		"https://vault.azure.net/":                      "https://vault.azure.net",
		"https://management.core.windows.net/":          "https://management.core.windows.net",
		"https://management.core.windows.net//.default": "https://management.core.windows.net",
		"api://app/.default":                            "api://app",
		"api://app/path":                                "api://app/path",
	} {
		if got := NormalizeResource(in); got != want {
			t.Errorf("NormalizeResource(%q) = %q, want %q", in, got, want)
		}
	}
}

// fixedTokens is a TokenSource that always has a token: it keeps the fuzz
// target on the request parsing instead of the STS.
type fixedTokens struct{}

func (fixedTokens) Token(_ context.Context, id *Identity, resource string) (*Token, error) {
	now := time.Now()
	return &Token{AccessToken: "t", ClientID: id.ClientID, Resource: NormalizeResource(resource),
		IssuedAt: now, ExpiresOn: now.Add(time.Hour)}, nil
}

func FuzzIMDSQuery(f *testing.F) {
	for _, seed := range []string{
		"api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net",
		"api-version=2018-02-01&resource=x&client_id=22222222-2222-4222-8222-222222222222",
		"api-version=2018-02-01&resource=x&resource=y",
		"api-version=2018-02-01&resource=%zz",
		"a=1;b=2", "&&&", "=", "resource", "api-version=2018-02-01&resource=a+b%20c",
		"api-version=9999-99-99&resource=x", "api-version=2018-02-01&resource=x&msi_res_id=%2Fsub",
	} {
		f.Add(seed)
	}
	hs := Identity{ClientID: "11111111-1111-4111-8111-111111111111", SystemAssigned: true}
	hu := Identity{ClientID: "22222222-2222-4222-8222-222222222222", ObjectID: "o", ResourceID: "/sub"}
	h := &IMDS{Tokens: fixedTokens{}, Identities: StaticIdentities{"": {hs, hu}}, Logger: quiet}

	f.Fuzz(func(t *testing.T, raw string) {
		var q query
		err := parseQuery(raw, &q)
		if err == nil {
			// Whatever this parser accepts, net/url reads the same way.
			std, stdErr := url.ParseQuery(raw)
			if stdErr != nil {
				t.Fatalf("parseQuery accepted %q, url.ParseQuery: %v", raw, stdErr)
			}
			if len(std) != q.n {
				t.Fatalf("%q: %d params, url.ParseQuery %d", raw, q.n, len(std))
			}
			for i := 0; i < q.n; i++ {
				k, v := q.kv[i].k, q.kv[i].v
				if vs := std[k]; len(vs) != 1 || vs[0] != v {
					t.Fatalf("%q: %s=%q, url.ParseQuery %q", raw, k, v, vs)
				}
				if hasControl(k) || hasControl(v) || !utf8.ValidString(k) || !utf8.ValidString(v) {
					t.Fatalf("%q: control character or invalid UTF-8 accepted", raw)
				}
			}
		}

		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path, r.URL.RawQuery = IMDSTokenPath, raw
		r.RemoteAddr = "127.0.0.1:1"
		r.Header.Set("Metadata", "true")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		// Only 200 or a final 400: a 404 or 5xx would make SDKs retry.
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("%q: status %d", raw, w.Code)
		}
		if err != nil && w.Code != 400 {
			t.Fatalf("%q: parse error %v but status %d", raw, err, w.Code)
		}
		var body map[string]any
		if jerr := json.Unmarshal(w.Body.Bytes(), &body); jerr != nil {
			t.Fatalf("%q: body %q is not JSON: %v", raw, w.Body, jerr)
		}
		if w.Code == 200 {
			res, _ := q.get("resource")
			if body["resource"] != res {
				t.Fatalf("%q: resource echoed as %q, sent %q", raw, body["resource"], res)
			}
		}
	})
}

// TestImportBoundary: the agent reaches Signet's servers over HTTP only
// (docs/ARCHITECTURE.md), so it imports no server-side package; that keeps
// `signet agent` free of the store, keys and the STS's internals.
// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(int)             {}

func BenchmarkIMDSCacheHit(b *testing.B) {
	a := newTestAgent(b)
	target := IMDSTokenPath + "?api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net"
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("Metadata", "true")
	w := &discardWriter{h: http.Header{}}
	a.imds.ServeHTTP(w, r) // miss: fetch and cache
	if a.cache.Stats().Fetches != 1 {
		b.Fatal("priming request did not fetch")
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		clear(w.h)
		a.imds.ServeHTTP(w, r)
	}
	b.StopTimer()
	if s := a.cache.Stats(); s.Fetches != 1 {
		b.Fatalf("stats %+v: the benchmark left the hit path", s)
	}
}
