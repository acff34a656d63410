package sqlstore_test

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

// auditBenchBatch is the batch the audit recorder commits under load: its
// queue drains in transactions of up to a thousand records, and a Key
// Vault read load keeps a few hundred queued.
const auditBenchBatch = 256

// benchAppend appends b.N records, auditBenchBatch per Write, to a fresh
// SQLite store; one op is one record, so ns/op and allocs/op are per
// record. Building the records is not timed. cpu-ns/op is the process's
// CPU time (user and system) spent in the Writes, per record: on a shared
// machine it is steadier than wall time, and CPU is what the audit writer
// takes from the requests it records. append-cpu-ns/op is the part spent
// in the append itself, without beginning and committing the transaction
// (and the WAL checkpoints commits run).
//
// IDs are time-ordered (version 7) UUIDs, as the audit recorder makes
// them; SIGNET_BENCH_UUIDV4=1 makes them random (version 4) instead, to
// measure what the random position of each ID in the unique ID index
// costs.
func benchAppend[T any](b *testing.B, record func(n int, at time.Time) T, appendFn func(store.Tx, []T) error) {
	s, err := sqlstore.Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	at := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]T, 0, auditBenchBatch)
	var cpu, inAppend time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; {
		b.StopTimer()
		batch = batch[:0]
		for ; len(batch) < auditBenchBatch && n < b.N; n++ {
			at = at.Add(50 * time.Microsecond)
			batch = append(batch, record(n, at))
		}
		b.StartTimer()
		before := processCPU(b)
		if err := s.Write(b.Context(), func(tx store.Tx) error {
			start := processCPU(b)
			defer func() { inAppend += processCPU(b) - start }()
			return appendFn(tx, batch)
		}); err != nil {
			b.Fatal(err)
		}
		cpu += processCPU(b) - before
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(inAppend.Nanoseconds())/float64(b.N), "append-cpu-ns/op")
}

// processCPU is the user and system time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

var (
	benchTenant  = uuid.NewString()
	benchCallers = []string{uuid.NewString(), uuid.NewString(), uuid.NewString(), uuid.NewString()}
	// A client reuses its token until it nears expiry: Key Vault reads
	// carry a handful of token ids, where each sign-in issues a new one.
	benchTokens = []string{"tok-0-Xq3vNn2kQ0aYpL7w", "tok-1-Xq3vNn2kQ0aYpL7w", "tok-2-Xq3vNn2kQ0aYpL7w", "tok-3-Xq3vNn2kQ0aYpL7w"}
	benchVault  = "/subscriptions/" + uuid.NewString() + "/resourceGroups/app-rg/providers/Microsoft.KeyVault/vaults/app-kv"
)

// BenchmarkAppendAccess appends Key Vault read records, the data-access
// log's hot path.
func BenchmarkAppendAccess(b *testing.B) {
	benchAppend(b, func(n int, at time.Time) store.Access {
		return store.Access{
			ID: benchID(), Time: at, TenantID: benchTenant, CallerID: benchCallers[n%len(benchCallers)],
			ClientID: benchCallers[n%len(benchCallers)], Service: "keyvault", ResourceID: benchVault,
			Item: fmt.Sprintf("secrets/app-secret-%d", n%50), Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action",
			Result: "success", Status: 200, CallerAddress: "127.0.0.1", TokenID: benchTokens[n%len(benchTokens)],
		}
	}, store.Tx.AppendAccess)
}

// BenchmarkAppendSignIns appends token requests, the sign-in log's hot
// path.
func BenchmarkAppendSignIns(b *testing.B) {
	benchAppend(b, func(n int, at time.Time) store.SignIn {
		return store.SignIn{
			ID: benchID(), Time: at, TenantID: benchTenant, PrincipalID: benchCallers[n%len(benchCallers)],
			ClientID: benchCallers[n%len(benchCallers)], Resource: "https://vault.azure.net", Result: "success",
			CallerAddress: "127.0.0.1", CredentialType: "managedIdentity", TokenID: uuid.NewString()[:22],
		}
	}, store.Tx.AppendSignIns)
}

// benchID is a record ID as the audit recorder makes it, or a random one
// under SIGNET_BENCH_UUIDV4.
func benchID() string {
	if os.Getenv("SIGNET_BENCH_UUIDV4") != "" {
		return uuid.NewString()
	}
	return uuid.Must(uuid.NewV7()).String()
}
