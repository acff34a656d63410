package sqlstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// BenchmarkMigrate0010 measures migration 0010 on SQLite: the store opens
// a database at schema 9 holding b.N access records, one row each (the
// first pruned), and moves them into pages inside its start-up transaction.
// One op is one record; building the old log is not timed. 7.6 µs a record
// at 20,000 and at 200,000 records (2026-11-26): linear, about 8 s of
// start-up per million records, once.
//
//	go test ./internal/store/sqlstore -run '^$' -bench Migrate0010 -benchtime 200000x
func BenchmarkMigrate0010(b *testing.B) {
	p := filepath.Join(b.TempDir(), "old.db")
	db, exec := atSchema(b, sqliteDialect, "sqlite", p, 9)
	base := time.Date(2025, 5, 1, 0, 0, 0, 0, time.UTC)
	accs := make([]store.Access, b.N)
	for i := range accs {
		accs[i] = store.Access{ID: fmt.Sprintf("0009-%09d", i), Time: base.Add(time.Duration(i) * time.Millisecond),
			TenantID: "T", CallerID: []string{"P", "Q", "R"}[i%3], ClientID: "c", Service: "keyvault",
			ResourceID: "/subscriptions/S/resourceGroups/G/providers/Microsoft.KeyVault/vaults/V",
			Item:       fmt.Sprintf("secrets/s-%d", i%40), Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action",
			Result: "success", Status: 200, CallerAddress: "10.0.0.1", TokenID: fmt.Sprint("uti-", i%7)}
	}
	exec("BEGIN")
	appendAt8(b, sqliteDialect, exec, accessChain, accs, 1) // record 1 pruned
	exec("COMMIT")
	db.Close()
	b.ResetTimer()
	s, err := Open(context.Background(), "sqlite:"+p)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.read.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM access_ids").Scan(&n); err != nil || n != b.N-1 {
		b.Fatalf("access_ids holds %d IDs (%v), want %d", n, err, b.N-1)
	}
}
