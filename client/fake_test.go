package client

import (
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// recorded is one request the fake saw.
type recorded struct {
	Method, Path string
	Query        map[string][]string
	Auth         string
	Body         string
}

// fake is an httptest TLS server standing in for the STS and control plane
// (one origin for both). Routes answer by "METHOD /path"; the token
// endpoint is built in.
type fake struct {
	srv *httptest.Server

	mu       sync.Mutex
	requests []recorded
	routes   map[string]http.HandlerFunc
	tokens   int // token requests served
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{routes: map[string]http.HandlerFunc{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) handle(pattern string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.routes[pattern] = h
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.requests = append(f.requests, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Auth: r.Header.Get("Authorization"), Body: string(body)})
	h, ok := f.routes[r.Method+" "+r.URL.Path]
	if r.URL.Path == "/tenant-1/oauth2/v2.0/token" && !ok {
		f.tokens++
		n := f.tokens
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3599, "access_token": "tok-" + string(rune('0'+n))})
		return
	}
	f.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": map[string]string{"code": "NotFound", "message": "no route " + r.Method + " " + r.URL.Path}})
		return
	}
	h(w, r)
}

func (f *fake) recorded() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// armRequests are the recorded requests other than token requests.
func (f *fake) armRequests() []recorded {
	var out []recorded
	for _, r := range f.recorded() {
		if r.Path != "/tenant-1/oauth2/v2.0/token" {
			out = append(out, r)
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// config returns a Config pointing both services at the fake and trusting
// its certificate through a CA file, as the dev env file does.
func (f *fake) config(t *testing.T) Config {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{
		ManagementURL:  f.srv.URL,
		AuthorityHost:  f.srv.URL,
		TenantID:       "tenant-1",
		SubscriptionID: "sub-1",
		ClientID:       "client-1",
		ClientSecret:   "secret-1",
		CAFile:         caFile,
	}
}

func (f *fake) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(f.config(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}
