// Command imds measures the host agent's IMDS endpoint against a real
// Signet, each figure beside its baseline in the same run:
//
//   - cache hits with wrk (64 connections, then 8) against `signet agent`
//     running as its own process, and against a minimal Go net/http server
//     returning the same bytes: requests/s, p99, and the ratios;
//   - 1,000 distinct (identity, resource) misses arriving together, and
//     1,000 concurrent requests for one new key: STS calls counted in the
//     sign-in log;
//   - the agent's resident memory with over 1,000 cached tokens.
//
// It needs wrk (apt-get install wrk).
//
//	go run ./bench/imds -duration 10s
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/signet-platform/signet/client"
	"github.com/signet-platform/signet/internal/server"
	"github.com/signet-platform/signet/internal/store"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "wrk duration per measurement")
	flag.Parse()
	if err := run(*duration); err != nil {
		fmt.Fprintln(os.Stderr, "imds bench:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is needed: apt-get install wrk")
	}
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "signet-imds-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "signet")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/signet").CombinedOutput(); err != nil {
		return fmt.Errorf("building signet: %v\n%s", err, out)
	}

	cfg := server.Config{
		Dev: true, DataDir: filepath.Join(tmp, "server"),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	cfg.FreePorts()
	r, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	api, err := client.New(client.Config{ManagementURL: r.ARMURL, AuthorityHost: r.STSURL, TenantID: r.Dev.TenantID,
		SubscriptionID: r.Dev.SubscriptionID, ClientID: r.Dev.ClientID, ClientSecret: r.Dev.ClientSecret, CAFile: r.CAFile})
	if err != nil {
		return err
	}
	vmID := "/subscriptions/" + r.Dev.SubscriptionID + "/resourceGroups/" + r.Dev.ResourceGroup + "/providers/Microsoft.Compute/virtualMachines/bench-vm"
	if _, err := api.PutResource(ctx, vmID, client.Resource{Location: "local", Identity: &client.Identity{Type: "SystemAssigned"}}); err != nil {
		return err
	}
	token, _, err := r.MIRP.CreateJoinToken(ctx, vmID, time.Hour)
	if err != nil {
		return err
	}

	imdsAddr, err := freeAddr()
	if err != nil {
		return err
	}
	agentCmd := exec.Command(bin, "agent", "--state-dir", filepath.Join(tmp, "agent"), "--mirp", r.MIRPURL,
		"--sts", r.STSURL, "--ca-file", r.CAFile, "--imds-addr", imdsAddr, "--appservice-addr", "", "--arc-addr", "")
	agentCmd.Env = append(os.Environ(), "SIGNET_JOIN_TOKEN="+token)
	agentOut, _ := agentCmd.StdoutPipe()
	agentCmd.Stderr = io.Discard
	if err := agentCmd.Start(); err != nil {
		return err
	}
	defer func() { agentCmd.Process.Kill(); agentCmd.Wait() }()
	go io.Copy(io.Discard, bufio.NewReader(agentOut))
	base := "http://" + imdsAddr + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource="
	if err := waitFor(base + "https://vault.azure.net"); err != nil {
		return fmt.Errorf("agent: %w", err)
	}

	// The cached answer, served by a minimal server too.
	hitURL := base + "https://vault.azure.net"
	body, ctype, err := get(hitURL)
	if err != nil {
		return err
	}
	baseline, err := serveBytes(body, ctype)
	if err != nil {
		return err
	}
	baselineURL := "http://" + baseline + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net"

	fmt.Printf("cache hits, wrk -t2 --latency -H 'Metadata: true', %v each, 2 cores shared by wrk and the servers\n", duration)
	fmt.Printf("%-34s %6s %12s %10s\n", "server", "conns", "requests/s", "p99")
	type result struct{ rps, p99 float64 }
	res := map[string]result{}
	for _, conns := range []int{64, 8} {
		for _, target := range []struct{ name, url string }{{"signet agent (IMDS, cache hit)", hitURL}, {"baseline net/http, same bytes", baselineURL}} {
			rps, p99, err := wrk(target.url, conns, duration)
			if err != nil {
				return err
			}
			res[fmt.Sprint(target.name, conns)] = result{rps, p99}
			fmt.Printf("%-34s %6d %12.0f %9.2fms\n", target.name, conns, rps, p99)
		}
	}
	a, b := res["signet agent (IMDS, cache hit)64"], res["baseline net/http, same bytes64"]
	fmt.Printf("64 conns: throughput ratio %.2f (target >= 0.80), p99 ratio %.2f (target <= 1.20)\n", a.rps/b.rps, a.p99/b.p99)
	a, b = res["signet agent (IMDS, cache hit)8"], res["baseline net/http, same bytes8"]
	fmt.Printf(" 8 conns: throughput ratio %.2f, p99 ratio %.2f\n", a.rps/b.rps, a.p99/b.p99)

	if rss, err := rssKB(agentCmd.Process.Pid); err == nil {
		fmt.Printf("\nagent resident memory after the cache-hit runs (1 cached token): %.1f MB\n", float64(rss)/1024)
	}

	// Misses: STS calls are counted by the sign-in log.
	before, err := signIns(ctx, r.Store)
	if err != nil {
		return err
	}
	if err := together(1000, func(i int) error { return getOK(fmt.Sprintf("%sapi://bench-%04d", base, i)) }); err != nil {
		return err
	}
	mid, err := signIns(ctx, r.Store)
	if err != nil {
		return err
	}
	if err := together(1000, func(int) error { return getOK(base + "api://one-key") }); err != nil {
		return err
	}
	after, err := signIns(ctx, r.Store)
	if err != nil {
		return err
	}
	fmt.Printf("\n1,000 distinct misses together: %d STS calls (want 1000)\n", mid-before)
	fmt.Printf("1,000 concurrent requests for one new key: %d STS call(s) (want 1)\n", after-mid)

	// What is measured is the cache, not a thousand idle keep-alive
	// connections the burst left open.
	httpClient.CloseIdleConnections()
	for _, wait := range []time.Duration{time.Second, 10 * time.Second} {
		time.Sleep(wait)
		rss, err := rssKB(agentCmd.Process.Pid)
		if err != nil {
			return err
		}
		fmt.Printf("agent resident memory with %d cached tokens, %v after the burst: %.1f MB (target <= 40 MB)\n", 1002, wait, float64(rss)/1024)
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitFor(url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := getOK(url)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1100, MaxConnsPerHost: 1100}, Timeout: 60 * time.Second}

func get(url string) ([]byte, string, error) {
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Metadata", "true")
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("GET %s: %s %s", url, resp.Status, b)
	}
	return b, resp.Header.Get("Content-Type"), err
}

func getOK(url string) error { _, _, err := get(url); return err }

func serveBytes(body []byte, ctype string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Write(body)
	}))
	return ln.Addr().String(), nil
}

var (
	rpsRe = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	p99Re = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
)

// wrk runs wrk and returns requests/s and the p99 latency in milliseconds.
func wrk(url string, conns int, d time.Duration) (float64, float64, error) {
	out, err := exec.Command("wrk", "-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(d.Seconds())), "--latency",
		"-H", "Metadata: true", url).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "Non-2xx") {
		return 0, 0, fmt.Errorf("wrk saw errors:\n%s", out)
	}
	m, p := rpsRe.FindSubmatch(out), p99Re.FindSubmatch(out)
	if m == nil || p == nil {
		return 0, 0, fmt.Errorf("unexpected wrk output:\n%s", out)
	}
	rps, _ := strconv.ParseFloat(string(m[1]), 64)
	p99, _ := strconv.ParseFloat(string(p[1]), 64)
	switch string(p[2]) {
	case "us":
		p99 /= 1000
	case "s":
		p99 *= 1000
	}
	return rps, p99, nil
}

// together runs n calls at once and returns the first error.
func together(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			if err := fn(i); err != nil {
				errs <- err
			}
		}(i)
	}
	close(start)
	wg.Wait()
	close(errs)
	return <-errs
}

func signIns(ctx context.Context, st store.Store) (int, error) {
	var n int
	err := st.Read(ctx, func(tx store.Tx) error {
		recs, err := tx.ListSignIns(store.AuditFilter{Limit: 1 << 30})
		n = len(recs)
		return err
	})
	return n, err
}

func rssKB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
