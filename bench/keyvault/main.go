// Command keyvault measures GET secret over HTTPS with a valid token and an
// RBAC check against a real in-process Signet, side by side in the same run
// with a minimal Go HTTPS server returning the same bytes, both driven by
// wrk with the same connections and threads. It then adds 100,000 role
// assignments (of other principals, at scopes around the vault) and
// measures the GET again. The baseline and Signet alternate over rounds;
// it prints each round's requests/s, p99 latency and ratios, and their medians.
//
// Latency is compared twice. At saturation each server runs at its own
// rate (64 connections as fast as it answers), so its p99 is mostly its
// queue: about 1/throughput. At the same load both carry the same request
// rate, about half of what Signet carried at saturation, by pausing each
// connection between requests (wrk's delay hook): that is the p99 target's
// comparison.
//
// Both servers run in this process, so both run with the runtime settings
// a Signet server gives its process (the collector's heap floor and the
// spare P: internal/server/runtime.go). Server CPU per request is this
// process's user and system time over the requests a run served.
//
//	go run ./bench/keyvault -d 5s -c 64 -t 2 -rounds 3
package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/secrets"
	"github.com/signet-platform/signet/internal/server"
	"github.com/signet-platform/signet/internal/store"
)

func main() {
	dur := flag.Duration("d", 5*time.Second, "duration of each wrk run")
	conns := flag.Int("c", 64, "wrk connections")
	threads := flag.Int("t", 2, "wrk threads")
	many := flag.Int("assignments", 100_000, "role assignments for the large-store measurement")
	flag.BoolVar(&verbose, "v", false, "print wrk's report (latency distribution) of every run")
	flag.IntVar(&rounds, "rounds", 3, "rounds of baseline and Signet, alternating (medians are reported)")
	flag.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the server during the first Signet run to this file")
	flag.StringVar(&cpuProfilePaced, "cpuprofile-paced", "", "write a CPU profile of the server during the first paced Signet run to this file")
	flag.StringVar(&cpuProfileMany, "cpuprofile-many", "", "write a CPU profile of the server during the run with many assignments to this file")
	flag.Parse()
	if rounds < 1 {
		fmt.Fprintln(os.Stderr, "keyvault bench: -rounds must be at least 1")
		os.Exit(2)
	}
	if err := run(*dur, *conns, *threads, *many); err != nil {
		fmt.Fprintln(os.Stderr, "keyvault bench:", err)
		os.Exit(1)
	}
}

const (
	vaultName  = "benchvault"
	secretName = "bench-secret"
)

func run(dur time.Duration, conns, threads, many int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "signet-kv-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	r, err := server.Start(ctx, server.Config{
		Dev: true, DataDir: dir, STSAddr: "127.0.0.1:0", ARMAddr: "127.0.0.1:0", MIRPAddr: "127.0.0.1:0", VaultAddr: "127.0.0.1:0",
		BlobAddr: "127.0.0.1:0", OpsAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		return err
	}
	defer r.Close()

	vaultID := "/subscriptions/" + r.Dev.SubscriptionID + "/resourceGroups/" + r.Dev.ResourceGroup + "/providers/Microsoft.KeyVault/vaults/" + vaultName
	err = r.Store.Write(ctx, func(tx store.Tx) error {
		res := store.Resource{ID: vaultID, SubscriptionID: r.Dev.SubscriptionID, ResourceGroup: r.Dev.ResourceGroup,
			Type: secrets.VaultType, Name: vaultName, Location: "local", Properties: []byte(`{}`), CreatedAt: time.Now()}
		if invalid, err := r.Vaults.Prepare(tx, &res, true); err != nil || invalid != "" {
			return fmt.Errorf("vault: %v %s", err, invalid)
		}
		if err := tx.PutResource(res); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(store.RoleAssignment{ID: uuid.NewString(), Scope: vaultID,
			RoleDefinitionID: authz.KeyVaultSecretsOfficerRoleID, PrincipalID: r.Dev.ObjectID, PrincipalType: "ServicePrincipal", CreatedAt: time.Now()})
	})
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(r.CAFile)
	if err != nil {
		return err
	}
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 30 * time.Second}
	token, err := adminToken(hc, r)
	if err != nil {
		return err
	}

	// Path-style, so wrk needs no name resolution.
	vaultURL := strings.TrimSuffix(r.VaultURL(vaultName), "/")
	u, _ := url.Parse(vaultURL)
	_, port, _ := net.SplitHostPort(u.Host)
	base := "https://127.0.0.1:" + port + "/" + vaultName
	getURL := base + "/secrets/" + secretName + "/?api-version=7.4"
	if _, err := call(hc, http.MethodPut, base+"/secrets/"+secretName+"?api-version=7.4", token, `{"value":"correct horse battery staple"}`); err != nil {
		return err
	}
	body, err := call(hc, http.MethodGet, getURL, token, "")
	if err != nil {
		return err
	}

	baseURL, stopBaseline, err := baseline(filepath.Join(dir, "tls"), body)
	if err != nil {
		return err
	}
	defer stopBaseline()

	fmt.Printf("cores: %d, wrk: %d threads, %d connections, %s per run, %d rounds; response %d bytes\n",
		runtime.NumCPU(), threads, conns, dur, rounds, len(body))
	wrk := func(target string) (result, error) { return runWrk(target, token, dur, conns, threads, "") }
	// paced runs the same connections, each pausing between requests
	// (wrk's delay hook), so both servers carry the same request rate.
	paced := func(target string, pause time.Duration) (result, error) {
		script := filepath.Join(dir, "pace.lua")
		lua := fmt.Sprintf("function delay()\n  return %d\nend\n", pause.Milliseconds())
		if err := os.WriteFile(script, []byte(lua), 0o600); err != nil {
			return result{}, err
		}
		return runWrk(target, token, dur, conns, threads, script)
	}
	baseTarget := baseURL + "/secrets/" + secretName + "/?api-version=7.4"

	// The baseline and Signet alternate, round by round, so that a noisy
	// moment of this shared machine lands on both; the medians are reported.
	fmt.Printf("\n%-6s %14s %10s %14s %10s %8s %8s\n", "round", "baseline rps", "p99", "Signet rps", "p99", "rps", "p99")
	var few []result
	var rpsRatios, p99Ratios, pacedRatios []float64
	for round := range rounds {
		bl, err := wrk(baseTarget)
		if err != nil {
			return err
		}
		sg, err := profiled(firstRound(round, cpuProfile), func() (result, error) { return wrk(getURL) })
		if err != nil {
			return err
		}
		if bl.errors+sg.errors > 0 {
			return fmt.Errorf("round %d: %d baseline and %d Signet requests failed", round+1, bl.errors, sg.errors)
		}
		few = append(few, sg)
		rpsRatios = append(rpsRatios, sg.rps/bl.rps)
		p99Ratios = append(p99Ratios, float64(sg.p99)/float64(bl.p99))
		fmt.Printf("%-6d %14.0f %10s %14.0f %10s %8.2f %8.2f   (server CPU per request: %s vs %s)\n", round+1, bl.rps, bl.p99,
			sg.rps, sg.p99, rpsRatios[round], p99Ratios[round], bl.cpu, sg.cpu)

		// The same load: both paced to about half of what Signet just
		// carried at saturation.
		// wrk's delay hook counts whole milliseconds.
		pause := max(time.Duration(float64(conns)/(sg.rps/2)*float64(time.Second)).Round(time.Millisecond), time.Millisecond)
		pb, err := paced(baseTarget, pause)
		if err != nil {
			return err
		}
		ps, err := profiled(firstRound(round, cpuProfilePaced), func() (result, error) { return paced(getURL, pause) })
		if err != nil {
			return err
		}
		if pb.errors+ps.errors > 0 {
			return fmt.Errorf("round %d, paced: %d baseline and %d Signet requests failed", round+1, pb.errors, ps.errors)
		}
		pacedRatios = append(pacedRatios, float64(ps.p99)/float64(pb.p99))
		fmt.Printf("%-6s %14.0f %10s %14.0f %10s %8s %8.2f   (paced: %s between requests; server CPU per request: %s vs %s)\n",
			"", pb.rps, pb.p99, ps.rps, ps.p99, "", pacedRatios[round], pause, pb.cpu, ps.cpu)
	}

	if err := addAssignments(ctx, r.Store, r.Dev.SubscriptionID, vaultID, many); err != nil {
		return err
	}
	var lots []result
	for round := range rounds {
		res, err := profiled(firstRound(round, cpuProfileMany), func() (result, error) { return wrk(getURL) })
		if err != nil {
			return err
		}
		if res.errors > 0 {
			return fmt.Errorf("with %d assignments: %d requests failed", many, res.errors)
		}
		lots = append(lots, res)
	}
	fewRPS, lotsRPS := medianRPS(few), medianRPS(lots)
	fmt.Printf("Signet with %d more assignments: %s requests/s (median %.0f; %.0f before)\n", many, rpsList(lots), lotsRPS, fewRPS)

	fmt.Printf("\nthroughput ratio Signet/baseline, median of %d rounds: %.2f (target >= 0.5)\n", rounds, median(rpsRatios))
	fmt.Printf("p99 ratio Signet/baseline at saturation (each at its own rate), median: %.2f\n", median(p99Ratios))
	fmt.Printf("p99 ratio Signet/baseline at the same load (same paced rate), median: %.2f (target <= 2)\n", median(pacedRatios))
	fmt.Printf("time per request, %d vs 10 assignments (medians): %.2f (target <= 1.2)\n", many, fewRPS/lotsRPS)
	return nil
}

func adminToken(hc *http.Client, r *server.Running) (string, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {r.Dev.ClientID},
		"client_secret": {r.Dev.ClientSecret}, "scope": {"https://vault.azure.net/.default"}}
	resp, err := hc.PostForm(r.STSURL+"/"+r.Dev.TenantID+"/oauth2/v2.0/token", form)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		return "", fmt.Errorf("token: %s %v", resp.Status, err)
	}
	return out.AccessToken, nil
}

func call(hc *http.Client, method, u, token, body string) ([]byte, error) {
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s %s: %s %s", method, u, resp.Status, b)
	}
	return b, err
}

// baseline serves body for every request over HTTPS with the same
// certificate, the least any HTTPS server must do.
func baseline(tlsDir string, body []byte) (string, func(), error) {
	cert, err := tls.LoadX509KeyPair(filepath.Join(tlsDir, "server.pem"), filepath.Join(tlsDir, "server-key.pem"))
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.Write(body)
		}),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
	}
	go srv.ServeTLS(ln, "", "")
	return "https://" + ln.Addr().String(), func() { srv.Close() }, nil
}

// addAssignments adds n role assignments of other principals: most at the
// vault and the subscription (the scopes a check reads), the rest on other
// vaults' secrets.
func addAssignments(ctx context.Context, st store.Store, sub, vaultID string, n int) error {
	const batch = 5000
	scopes := []string{vaultID, "/subscriptions/" + sub, vaultID + "/secrets/other", vaultID + "x/secrets/s"}
	for done := 0; done < n; done += batch {
		err := st.Write(ctx, func(tx store.Tx) error {
			for i := done; i < min(done+batch, n); i++ {
				err := tx.CreateRoleAssignment(store.RoleAssignment{ID: uuid.NewString(), Scope: scopes[i%len(scopes)],
					RoleDefinitionID: authz.KeyVaultSecretsUserRoleID, PrincipalID: uuid.NewString(), PrincipalType: "ServicePrincipal", CreatedAt: time.Now()})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

var cpuProfile, cpuProfilePaced, cpuProfileMany string

// rounds is how many times the baseline and Signet alternate.
var rounds int

// verbose prints wrk's own report of every run.
var verbose bool

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianRPS(rs []result) float64 {
	v := make([]float64, len(rs))
	for i, r := range rs {
		v[i] = r.rps
	}
	return median(v)
}

func rpsList(rs []result) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = strconv.FormatFloat(r.rps, 'f', 0, 64)
	}
	return strings.Join(parts, ", ")
}

// profiled runs run under a CPU profile written to path, or plainly when
// path is empty.
func profiled(path string, run func() (result, error)) (result, error) {
	if path == "" {
		return run()
	}
	f, err := os.Create(path)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return result{}, err
	}
	defer pprof.StopCPUProfile()
	return run()
}

// firstRound is path in round 0 and empty after: profiles cover the first
// round only.
func firstRound(round int, path string) string {
	if round > 0 {
		return ""
	}
	return path
}

type result struct {
	rps    float64
	p99    time.Duration
	errors int
	// cpu is the CPU time (user and system) this process, which serves
	// both servers and nothing else, spent per request during the run.
	cpu time.Duration
}

var (
	rpsRE    = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99RE    = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	non2xxRE = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	errRE    = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	countRE  = regexp.MustCompile(`(\d+) requests in`)
)

// processCPU is the user and system time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runWrk(target, token string, dur time.Duration, conns, threads int, script string) (result, error) {
	args := []string{"-t", strconv.Itoa(threads), "-c", strconv.Itoa(conns), "-d", dur.String(), "--latency",
		"-H", "Authorization: Bearer " + token}
	if script != "" {
		args = append(args, "-s", script)
	}
	cmd := exec.Command("wrk", append(args, target)...)
	cpuBefore := processCPU()
	out, err := cmd.CombinedOutput()
	cpu := processCPU() - cpuBefore
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	if verbose {
		fmt.Printf("--- wrk %s\n%s", target, out)
	}
	var res result
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		line := sc.Text()
		if m := rpsRE.FindStringSubmatch(line); m != nil {
			res.rps, _ = strconv.ParseFloat(m[1], 64)
		}
		if m := p99RE.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[m[2]]
			res.p99 = time.Duration(v * float64(unit))
		}
		if m := countRE.FindStringSubmatch(line); m != nil {
			if n, _ := strconv.Atoi(m[1]); n > 0 {
				res.cpu = cpu / time.Duration(n)
			}
		}
		if m := non2xxRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			res.errors += n
		}
		if m := errRE.FindStringSubmatch(line); m != nil {
			for _, s := range m[1:] {
				n, _ := strconv.Atoi(s)
				res.errors += n
			}
		}
	}
	if res.rps == 0 {
		return res, fmt.Errorf("no rate in wrk output: %s", out)
	}
	return res, nil
}
