package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/agent"
	"github.com/signet-platform/signet/internal/agent/host"
	"github.com/signet-platform/signet/internal/audit"
	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "signet.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// values gathers the registry and returns metric name{labels} → value
// (counters and gauges) or sample count (histograms) for names with
// prefix.
func values(t *testing.T, m *Metrics, prefix string) map[string]float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), prefix) {
			continue
		}
		for _, mt := range mf.GetMetric() {
			var labels []string
			for _, l := range mt.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case mt.Counter != nil:
				out[key] = mt.GetCounter().GetValue()
			case mt.Gauge != nil:
				out[key] = mt.GetGauge().GetValue()
			case mt.Histogram != nil:
				out[key] = float64(mt.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

func TestRecorderCountsCommittedRecords(t *testing.T) {
	m := New()
	st := openStore(t)
	a := audit.NewRecorder(st, slog.New(slog.NewTextHandler(io.Discard, nil)))
	rec := m.Recorder(a)
	ctx := t.Context()
	for _, r := range []store.SignIn{
		{TenantID: "t", Result: "success"},
		{TenantID: "t", Result: "success"},
		{TenantID: "t", Result: "failure", ErrorCode: "AADSTS7000215"},
		// A code that is no code cannot grow the label space.
		{TenantID: "t", Result: "failure", ErrorCode: "free text, with spaces"},
	} {
		if err := rec.SignIn(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Access(ctx, store.Access{Service: "keyvault", Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Result: "success", Status: 200}); err != nil {
		t.Fatal(err)
	}
	if err := rec.AccessAsync(store.Access{Service: "blob", Action: "Microsoft.Storage/x/read", Result: "failure", Status: 403}); err != nil {
		t.Fatal(err)
	}
	if err := rec.Activity(ctx, store.Activity{Result: "success", Status: 201}); err != nil {
		t.Fatal(err)
	}
	a.Close()
	// After Close the recorder refuses: the failure is counted, the token not.
	if err := rec.SignIn(ctx, store.SignIn{Result: "success"}); !errors.Is(err, audit.ErrClosed) {
		t.Fatalf("SignIn after Close: %v, want ErrClosed", err)
	}
	got := values(t, m, "signet_")
	want := map[string]float64{
		"signet_sts_tokens_total{reason=,result=success}":                                                                                       2,
		"signet_sts_tokens_total{reason=AADSTS7000215,result=failure}":                                                                          1,
		"signet_sts_tokens_total{reason=other,result=failure}":                                                                                  1,
		"signet_dataplane_operations_total{action=Microsoft.KeyVault/vaults/secrets/getSecret/action,code=200,result=success,service=keyvault}": 1,
		"signet_dataplane_operations_total{action=Microsoft.Storage/x/read,code=403,result=failure,service=blob}":                               1,
		"signet_controlplane_writes_total{code=201,result=success}":                                                                             1,
		"signet_audit_record_failures_total{stream=signIns}":                                                                                    1,
	}
	for k := range got {
		if strings.HasPrefix(k, "signet_store_") {
			delete(got, k) // the audit writes' latency: not this test's subject
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestStoreAndAuthorizer(t *testing.T) {
	m := New()
	st := m.Store(openStore(t))
	ctx := t.Context()
	if err := st.Write(ctx, func(tx store.Tx) error { return authz.SeedBuiltIns(tx) }); err != nil {
		t.Fatal(err)
	}
	if err := st.Read(ctx, func(store.Tx) error { return store.ErrNotFound }); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Read: %v", err)
	}
	const scope = "/subscriptions/00000000-0000-0000-0000-000000000001"
	const principal = "00000000-0000-0000-0000-0000000000aa"
	err := st.Write(ctx, func(tx store.Tx) error {
		return tx.CreateRoleAssignment(store.RoleAssignment{
			ID: "00000000-0000-0000-0000-0000000000bb", Scope: scope, PrincipalID: principal,
			RoleDefinitionID: "acdd72a7-3385-48ef-bd42-f606fba81ae7", // Reader
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	az := m.Authorizer("management", &authz.Authorizer{Store: st})
	for _, action := range []string{"Microsoft.Resources/subscriptions/resourceGroups/read", "Microsoft.Resources/subscriptions/resourceGroups/write"} {
		if _, err := az.Decide(ctx, authz.Request{PrincipalID: principal, Action: action, Scope: scope}); err != nil {
			t.Fatal(err)
		}
	}
	got := values(t, m, "signet_")
	want := map[string]float64{
		"signet_rbac_decisions_total{decision=allow,service=management}": 1,
		"signet_rbac_decisions_total{decision=deny,service=management}":  1,
		// Seeding, the assignment, the failing read, two decisions.
		"signet_store_transaction_duration_seconds{kind=write,result=ok}":   2,
		"signet_store_transaction_duration_seconds{kind=read,result=error}": 1,
		"signet_store_transaction_duration_seconds{kind=read,result=ok}":    2,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("metrics (-want +got):\n%s", diff)
	}
}

func TestOpsReadiness(t *testing.T) {
	st := openStore(t)
	m := New()
	ops := Ops{Metrics: m, Ready: func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			return &NotReady{Reason: "store unreachable", Cause: err}
		}
		return nil
	}}
	h := ops.Handler()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := get("/healthz"); code != 200 {
		t.Errorf("/healthz = %d %q", code, body)
	}
	if code, body := get("/readyz"); code != 200 {
		t.Errorf("/readyz with the store up = %d %q", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "go_goroutines") {
		t.Errorf("/metrics = %d, body without go_goroutines", code)
	}
	st.Close()
	code, body := get("/readyz")
	if code != http.StatusServiceUnavailable || body != "not ready: store unreachable\n" {
		t.Errorf("/readyz with the store closed = %d %q, want 503 and only the reason", code, body)
	}
}

func TestAgentCollector(t *testing.T) {
	m := New()
	last := time.Unix(1700000000, 0)
	stats := host.Stats{HostIdentities: 2, Apps: 1, LastSync: last, SyncFailures: 3,
		Cache: agent.CacheStats{Hits: 10, Misses: 4, Fetches: 3, Refreshes: 2, Failures: 1}}
	h := m.AgentHandler(func() host.Stats { return stats })
	if h == nil {
		t.Fatal("no handler")
	}
	stats.Cache.Hits++ // read at scrape time, not at registration
	got := values(t, m, "signet_agent_")
	want := map[string]float64{
		"signet_agent_token_cache_hits_total{}":      11,
		"signet_agent_token_cache_misses_total{}":    4,
		"signet_agent_token_cache_fetches_total{}":   3,
		"signet_agent_token_cache_refreshes_total{}": 2,
		"signet_agent_token_cache_failures_total{}":  1,
		"signet_agent_sync_failures_total{}":         3,
		"signet_agent_last_sync_timestamp_seconds{}": 1700000000,
		"signet_agent_host_identities{}":             2,
		"signet_agent_apps{}":                        1,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("agent metrics (-want +got):\n%s", diff)
	}
}

func TestMIRPDone(t *testing.T) {
	m := New()
	for _, c := range []struct {
		method, route string
		status        int
	}{
		{"POST", "enroll", 200}, {"POST", "enroll", 401}, {"POST", "renew", 200},
		{"POST", "certificate", 200}, {"POST", "certificate", 403}, {"GET", "identities", 200}, {"GET", "enroll", 405},
	} {
		m.MIRPDone(httptest.NewRequest(c.method, "/", nil), c.route, c.status)
	}
	want := map[string]float64{
		"signet_mirp_certificates_total{kind=node,operation=enroll,result=issued}":    1,
		"signet_mirp_certificates_total{kind=node,operation=enroll,result=failed}":    1,
		"signet_mirp_certificates_total{kind=node,operation=renew,result=issued}":     1,
		"signet_mirp_certificates_total{kind=identity,operation=issue,result=issued}": 1,
		"signet_mirp_certificates_total{kind=identity,operation=issue,result=failed}": 1,
	}
	if diff := cmp.Diff(want, values(t, m, "signet_mirp_")); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The decorator keeps what the store offers beyond store.Store: caches
// rely on hearing of this process's own commits at once.
func TestStoreKeepsGenerationNotifier(t *testing.T) {
	m := New()
	raw := openStore(t)
	_, rawNotifies := raw.(store.GenerationNotifier)
	_, wrappedNotifies := m.Store(raw).(store.GenerationNotifier)
	if wrappedNotifies != rawNotifies {
		t.Errorf("wrapped store is a GenerationNotifier: %v, want %v (as the backend)", wrappedNotifies, rawNotifies)
	}
	if _, ok := m.Store(nopStore{}).(store.GenerationNotifier); ok {
		t.Error("a store that cannot notify must not claim to")
	}
	if u, ok := m.Store(raw).(interface{ Unwrap() store.Store }); !ok || u.Unwrap() != raw {
		t.Error("Unwrap does not return the backend")
	}
}

// The data-plane counter cache holds one entry per series: records whose
// fields all fold into "other" share one entry, however many they are.
func TestDataPlaneCounterCacheIsBounded(t *testing.T) {
	m := New()
	for i := range 100 {
		m.dataPlaneCounter(store.Access{Service: "keyvault", Action: "read", Result: fmt.Sprintf("odd result %d", i),
			Status: 1000 + i}).Inc()
	}
	var n int
	m.dataPlaneByKey.Range(func(any, any) bool { n++; return true })
	if n != 1 {
		t.Errorf("the counter cache holds %d entries for one series, want 1", n)
	}
}
