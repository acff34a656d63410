// Command auditquery measures the audit query API's store query on a large
// SQLite sign-in log, beside a full-scan baseline in the same run:
//
//   - fills a fresh SQLite store with -records sign-ins (default 1,000,000)
//     from -principals principals, one of them making a tenth of them, over
//     -days days, through the store's own AppendSignIns (so every record is
//     numbered and hash-chained) in big transactions;
//   - times the query the control plane sends for "this principal, this
//     hour" (tenant, principal, since, until, newest first, limit 1000)
//     through the store, -runs times, and reports the median and maximum;
//   - times the same SQL with the indexes disabled (NOT INDEXED): the scan
//     the index avoids;
//   - times a full hash-chain verification of the log.
//
// Usage:
//
//	go run ./bench/auditquery                 # 1,000,000 records
//	go run ./bench/auditquery -records 100000 # quicker
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/store/sqlstore"
)

const tenant = "6f1c2a4e-0d3b-4c1e-9a55-2b7f3e8d9c10"

func main() {
	records := flag.Int("records", 1_000_000, "sign-in records to fill")
	principals := flag.Int("principals", 1000, "distinct principals")
	days := flag.Int("days", 30, "days the records span")
	batch := flag.Int("batch", 50_000, "records per fill transaction")
	runs := flag.Int("runs", 25, "timed runs of each query")
	dir := flag.String("dir", "", "directory for the database (default: a temporary one, removed after)")
	flag.Parse()
	if err := run(*records, *principals, *days, *batch, *runs, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "auditquery:", err)
		os.Exit(1)
	}
}

func run(records, principals, days, batch, runs int, dir string) error {
	ctx := context.Background()
	if dir == "" {
		d, err := os.MkdirTemp("", "auditquery-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	path := filepath.Join(dir, "signet.db")
	st, err := sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		return err
	}
	defer st.Close()

	ids := make([]string, principals)
	for i := range ids {
		ids[i] = fmt.Sprintf("0b000000-0000-4000-8000-%012d", i)
	}
	end := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	start := end.Add(-time.Duration(days) * 24 * time.Hour)
	step := end.Sub(start) / time.Duration(records)
	rng := rand.New(rand.NewPCG(1, 2))

	began := time.Now()
	recs := make([]store.SignIn, 0, batch)
	for n := 0; n < records; {
		recs = recs[:0]
		for ; len(recs) < batch && n < records; n++ {
			r := store.SignIn{
				ID: fmt.Sprintf("e0000000-0000-4000-8000-%012d", n), Time: start.Add(time.Duration(n) * step),
				TenantID: tenant, PrincipalID: ids[rng.IntN(principals)], ClientID: "c",
				Resource: "https://management.azure.com/", Result: "success", CallerAddress: "10.0.0.1",
				CredentialType: "managedIdentity", TokenID: fmt.Sprint("uti-", n),
			}
			// One busy app makes a tenth of the sign-ins: the query asks
			// for its hour, so the answer is a real page, not one row.
			if rng.IntN(10) == 0 {
				r.PrincipalID = ids[0]
			}
			if rng.IntN(20) == 0 {
				r.Result, r.ErrorCode, r.TokenID = "failure", "AADSTS7000215", ""
			}
			recs = append(recs, r)
		}
		if err := st.Write(ctx, func(tx store.Tx) error { return tx.AppendSignIns(recs) }); err != nil {
			return fmt.Errorf("fill: %w", err)
		}
	}
	fill := time.Since(began)
	fmt.Printf("filled %d sign-ins (%d principals, %d days) in %s: %.0f records/s\n",
		records, principals, days, fill.Round(time.Millisecond), float64(records)/fill.Seconds())

	// The busy principal, one hour in the middle of the range.
	principal := ids[0]
	since := start.Add(end.Sub(start) / 2).Truncate(time.Hour)
	until := since.Add(time.Hour)
	f := store.AuditFilter{TenantID: tenant, PrincipalID: principal, Since: since, Until: until, Limit: 1000}
	var got int
	indexed, err := timeRuns(runs, func() error {
		return st.Read(ctx, func(tx store.Tx) error {
			recs, err := tx.ListSignIns(f)
			got = len(recs)
			return err
		})
	})
	if err != nil {
		return err
	}

	// The baseline: the same selection with SQLite told to use no index.
	raw, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		return err
	}
	defer raw.Close()
	q := `SELECT id FROM sign_ins NOT INDEXED WHERE tenant_key = ? AND principal_key = ? AND time >= ? AND time < ?
		ORDER BY time DESC, id DESC LIMIT 1000`
	var scanned int
	scan, err := timeRuns(max(3, runs/5), func() error {
		rows, err := raw.QueryContext(ctx, q, tenant, principal, since.UnixMicro(), until.UnixMicro())
		if err != nil {
			return err
		}
		defer rows.Close()
		scanned = 0
		for rows.Next() {
			scanned++
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	if scanned != got {
		return fmt.Errorf("the scan found %d records, the store's query %d", scanned, got)
	}
	fmt.Printf("query: principal + one hour, %d records matched\n", got)
	fmt.Printf("  store query (index)   median %-10s max %s\n", indexed[len(indexed)/2], indexed[len(indexed)-1])
	fmt.Printf("  full scan (baseline)  median %-10s max %s\n", scan[len(scan)/2], scan[len(scan)-1])
	fmt.Printf("  speed-up              %.0fx\n", float64(scan[len(scan)/2])/float64(max(indexed[len(indexed)/2], 1)))
	if indexed[len(indexed)/2] > 100*time.Millisecond {
		fmt.Println("  FAIL: the indexed query's median is over 100 ms")
		defer os.Exit(1)
	}

	var v store.AuditVerification
	began = time.Now()
	if err := st.Read(ctx, func(tx store.Tx) error {
		var err error
		v, err = tx.VerifyAudit(store.StreamSignIns)
		return err
	}); err != nil {
		return err
	}
	fmt.Printf("verify: %d records checked in %s, ok=%v\n", v.Checked, time.Since(began).Round(time.Millisecond), v.OK)
	return nil
}

// timeRuns runs fn n times and returns the durations, sorted.
func timeRuns(n int, fn func() error) ([]time.Duration, error) {
	out := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		if err := fn(); err != nil {
			return nil, err
		}
		out = append(out, time.Since(t0).Round(time.Microsecond))
	}
	slices.Sort(out)
	return out, nil
}
