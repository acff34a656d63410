package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/signet-platform/signet/internal/store"
)

// BenchmarkMiddleware is the per-request cost on a token request: ids, one
// log line (formatted, then discarded), one histogram observation.
func BenchmarkMiddleware(b *testing.B) {
	h := Middleware(Options{Service: "login", Route: LoginRoute, Metrics: New(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("{}")) }))
	req := httptest.NewRequest(http.MethodPost, "/t/oauth2/v2.0/token", nil)
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
}

type nopStore struct{ store.Store }

func (nopStore) Read(context.Context, func(store.Tx) error) error  { return nil }
func (nopStore) Write(context.Context, func(store.Tx) error) error { return nil }

// BenchmarkStoreDecorator is the cost the metrics add to one transaction.
func BenchmarkStoreDecorator(b *testing.B) {
	st := New().Store(nopStore{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_ = st.Read(ctx, nil)
	}
}
