// Command devstart measures `signet dev` time to ready: the median of 10
// warm starts on one data dir (after a first start that creates it), from
// exec to the "is ready" line, with HTTPS already accepting connections.
// Beside it, in the same run, the baseline: exec to exit of `signet version`
// (what starting the binary costs at all).
//
//	go run ./bench/devstart
package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	runs := flag.Int("runs", 10, "warm starts to measure")
	flag.Parse()
	if err := run(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "devstart:", err)
		os.Exit(1)
	}
}

func run(runs int) error {
	tmp, err := os.MkdirTemp("", "signet-devstart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "signet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/signet")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building: %w", err)
	}
	dataDir := filepath.Join(tmp, "data")
	if _, err := startOnce(bin, dataDir); err != nil { // first start: creates keys, CA, bootstrap
		return err
	}
	var ready, baseline []time.Duration
	for i := 0; i < runs; i++ {
		d, err := startOnce(bin, dataDir)
		if err != nil {
			return err
		}
		ready = append(ready, d)
		t0 := time.Now()
		if err := exec.Command(bin, "version").Run(); err != nil {
			return fmt.Errorf("signet version: %w", err)
		}
		baseline = append(baseline, time.Since(t0))
	}
	fmt.Printf("%-40s %10s %10s %10s\n", "measurement", "median", "min", "max")
	report("signet dev: exec to ready (warm)", ready)
	report("baseline: exec to exit of signet version", baseline)
	fmt.Printf("target: median under 1s -> %v\n", median(ready) < time.Second)
	return nil
}

func report(name string, ds []time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	fmt.Printf("%-40s %10v %10v %10v\n", name, median(ds).Round(time.Millisecond), s[0].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// startOnce starts `signet dev`, waits for its ready line, checks the login
// listener completes a TLS handshake, and stops it.
func startOnce(bin, dataDir string) (time.Duration, error) {
	// Every listener on a free port; the Arc endpoint off (it needs root
	// and a fixed port). The dev agent, vault and storage account are part
	// of what "ready" means.
	args := []string{"dev", "--data-dir", dataDir, "--arc-addr", ""}
	for _, flag := range []string{"login", "management", "mirp", "vault", "blob", "ops", "imds", "appservice"} {
		args = append(args, "--"+flag+"-addr", "127.0.0.1:0")
	}
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	cmd.Stderr = os.Stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	}()
	sc := bufio.NewScanner(out)
	var d time.Duration
	for sc.Scan() {
		line := sc.Text()
		if strings.Contains(line, "is ready") {
			d = time.Since(t0)
		}
		if addr, ok := strings.CutPrefix(strings.TrimSpace(line), "login (token service):"); ok && d > 0 {
			host := strings.TrimPrefix(strings.TrimSpace(addr), "https://")
			pool := x509.NewCertPool()
			caPEM, err := os.ReadFile(filepath.Join(dataDir, "tls", "ca.pem"))
			if err != nil || !pool.AppendCertsFromPEM(caPEM) {
				return 0, fmt.Errorf("reading the dev CA: %v", err)
			}
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", host, &tls.Config{RootCAs: pool})
			if err != nil {
				return 0, fmt.Errorf("ready but not serving: %w", err)
			}
			conn.Close()
			go func() {
				for sc.Scan() {
				}
			}()
			return d, nil
		}
	}
	return 0, fmt.Errorf("signet dev exited before it was ready")
}
