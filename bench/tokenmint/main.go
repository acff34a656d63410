// Command tokenmint measures token minting with certificate assertions over
// HTTPS with keep-alive against a real in-process Signet, side by side in the
// same run with the in-process ceiling: one assertion verify plus one RS256
// sign per token on the same number of cores. It prints both rates and their
// ratio, and checks that every token issued has its sign-in record.
//
// It also measures the cost of observability: the same token service with
// auditing and metrics off (its sign-in recorder a no-op, no request
// middleware, no store or recorder decorators), on its own listener over
// the same store and keys, alternated with the real one in every round.
// Target: with them on, at least 0.90 of the rate with them off.
//
//	go run ./bench/tokenmint -n 4000 -workers 8
package main

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-platform/signet/internal/audit"
	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/server"
	"github.com/signet-platform/signet/internal/store"
	"github.com/signet-platform/signet/internal/sts"
)

// profilePath, when set, receives a CPU profile of the measurements.
var profilePath string

// rounds is how many times the ceiling and the HTTPS measurement alternate.
const rounds = 5

func main() {
	n := flag.Int("n", 4000, "tokens to mint in each measurement (split over the rounds)")
	workers := flag.Int("workers", 8, "concurrent HTTPS clients (each with its own keep-alive connection)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	profilePath = *cpuprofile
	if err := run(*n, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "tokenmint:", err)
		os.Exit(1)
	}
}

func run(n, workers int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "signet-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg := server.Config{
		Dev: true, DataDir: dir,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	cfg.FreePorts()
	r, err := server.Start(ctx, cfg)
	if err != nil {
		return err
	}
	defer r.Close()

	cert, key, err := selfSigned()
	if err != nil {
		return err
	}
	sp := directory.NewServicePrincipal(r.Dev.TenantID, "bench", time.Now())
	err = r.Store.Write(ctx, func(tx store.Tx) error {
		if err := tx.CreatePrincipal(sp); err != nil {
			return err
		}
		sum := sha256.Sum256(cert.Raw)
		return tx.CreateCredential(store.Credential{ID: directory.NewID(), PrincipalID: sp.ObjectID, Kind: store.CredentialCertificate,
			CertificateDER: cert.Raw, ThumbprintSHA256: sum[:], NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, CreatedAt: time.Now()})
	})
	if err != nil {
		return err
	}
	tokenURL := r.STSURL + "/" + r.Dev.TenantID + "/oauth2/v2.0/token"
	offBase, stopOff, err := startBareSTS(r, dir)
	if err != nil {
		return err
	}
	defer stopOff()
	offURL := offBase + "/" + r.Dev.TenantID + "/oauth2/v2.0/token"

	// GOMAXPROCS as the server set it (internal/server/runtime.go): the
	// ceiling runs one worker per P.
	fmt.Printf("cores: %d, GOMAXPROCS %d, tokens per measurement: %d, HTTPS workers: %d\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), n, workers)
	fmt.Printf("preparing %d client assertions (PS256, signed before timing starts)...\n", 2*n)
	assertions, err := makeAssertions(2*n, sp.ClientID, tokenURL, cert, key)
	if err != nil {
		return err
	}
	// The profile, when asked for, covers the measurements only.
	if profilePath != "" {
		f, err := os.Create(profilePath)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}

	// Ceiling: what the STS cannot avoid per token, on all cores.
	signKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return err
	}
	signKey.Precompute()
	pub := cert.PublicKey.(*rsa.PublicKey)
	ceilingOp := func(i int) error {
		p, err := jwt.Parse(assertions[n+i])
		if err != nil {
			return err
		}
		if err := p.VerifySignature(pub, "PS256", "RS256"); err != nil {
			return err
		}
		_, err = jwt.Sign(signKey, "bench", "bench", jwt.Claims{Audience: "https://vault.azure.net", Issuer: "bench", ObjectID: sp.ObjectID})
		return err
	}

	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(r.CAFile)
	if err != nil {
		return err
	}
	pool.AppendCertsFromPEM(caPEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	body := func(i int) string {
		return url.Values{
			"grant_type":            {"client_credentials"},
			"client_id":             {sp.ClientID},
			"scope":                 {"https://vault.azure.net/.default"},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
			"client_assertion":      {assertions[i]},
		}.Encode()
	}
	var before int
	if before, err = countSignIns(ctx, r.Store); err != nil {
		return err
	}
	var ok atomic.Int64
	mint := func(u string, i int, count bool) error {
		resp, err := client.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body(i)))
		if err != nil {
			return err
		}
		// Drain to EOF so the connection is reused (keep-alive), as a
		// client that reads the whole answer does.
		defer func() { io.Copy(io.Discard, resp.Body); resp.Body.Close() }()
		var out struct {
			AccessToken string `json:"access_token"`
			Error       string `json:"error_description"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || out.AccessToken == "" {
			return fmt.Errorf("token request: %s %s", resp.Status, out.Error)
		}
		if count {
			ok.Add(1)
		}
		return nil
	}
	httpsOp := func(i int) error { return mint(tokenURL, i, true) }
	// The bare service gets the second half of the assertions: each is
	// single-use, and the ceiling only verifies them.
	bareOp := func(i int) error { return mint(offURL, n+i, false) }

	// The two are measured in alternating rounds, so that whatever else
	// the machine is doing weighs on both alike; the ratio is per round.
	per := n / rounds
	fmt.Printf("\n%-6s %14s %14s %8s %14s %8s\n", "round", "ceiling tok/s", "HTTPS tok/s", "ratio", "bare tok/s", "on/off")
	var ratios, costs []float64
	var sumC, sumH, sumB float64
	for round := 0; round < rounds; round++ {
		off := round * per
		ceiling, err := measure(per, runtime.GOMAXPROCS(0), func(i int) error { return ceilingOp(off + i) })
		if err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		// On and off swap order every round, so a drift in machine load
		// does not favour either.
		var https, bare float64
		for k := range 2 {
			if (round+k)%2 == 0 {
				https, err = measure(per, workers, func(i int) error { return httpsOp(off + i) })
			} else {
				bare, err = measure(per, workers, func(i int) error { return bareOp(off + i) })
			}
			if err != nil {
				return fmt.Errorf("https: %w", err)
			}
		}
		ratios = append(ratios, https/ceiling)
		costs = append(costs, https/bare)
		sumC, sumH, sumB = sumC+ceiling, sumH+https, sumB+bare
		fmt.Printf("%-6d %14.0f %14.0f %8.2f %14.0f %8.2f\n", round+1, ceiling, https, https/ceiling, bare, https/bare)
	}
	slices.Sort(ratios)
	slices.Sort(costs)
	after, err := countSignIns(ctx, r.Store)
	if err != nil {
		return err
	}

	fmt.Printf("\nmean: ceiling (verify assertion + RS256 sign) %.0f tokens/s; Signet STS over HTTPS, keep-alive %.0f tokens/s\n", sumC/rounds, sumH/rounds)
	fmt.Printf("median ratio over %d rounds: %.2f of the ceiling (target >= 0.70)\n", rounds, ratios[len(ratios)/2])
	fmt.Printf("auditing and metrics on vs off (bare %.0f tokens/s): median %.2f (target >= 0.90)\n", sumB/rounds, costs[len(costs)/2])
	fmt.Printf("sign-in records written: %d of %d tokens issued\n", after-before, ok.Load())
	if int64(after-before) != ok.Load() {
		return fmt.Errorf("sign-in records missing: %d written for %d tokens", after-before, ok.Load())
	}
	return nil
}

// measure runs fn(0..n-1) on workers goroutines and returns calls per second.
func measure(n, workers int, fn func(i int) error) (float64, error) {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return float64(n) / time.Since(start).Seconds(), firstErr
}

func countSignIns(ctx context.Context, st store.Store) (int, error) {
	var n int
	err := st.Read(ctx, func(tx store.Tx) error {
		recs, err := tx.ListSignIns(store.AuditFilter{Limit: 1 << 30})
		n = len(recs)
		return err
	})
	return n, err
}

func selfSigned() (*x509.Certificate, *rsa.PrivateKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// makeAssertions signs n client assertions the way MSAL Go does: PS256,
// x5t#S256 in standard base64, aud = the token endpoint, a fresh jti each.
func makeAssertions(n int, clientID, aud string, cert *x509.Certificate, key *rsa.PrivateKey) ([]string, error) {
	thumb := sha256.Sum256(cert.Raw)
	header, _ := json.Marshal(map[string]string{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.StdEncoding.EncodeToString(thumb[:])})
	h := base64.RawURLEncoding.EncodeToString(header)
	out := make([]string, n)
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	per := (n + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0)
	for start := 0; start < n; start += per {
		wg.Add(1)
		go func(lo, hi int) {
			defer wg.Done()
			for i := lo; i < hi && i < n; i++ {
				now := time.Now().Unix()
				payload, _ := json.Marshal(map[string]any{"aud": aud, "iss": clientID, "sub": clientID, "jti": directory.NewID(), "nbf": now, "exp": now + 600})
				input := h + "." + base64.RawURLEncoding.EncodeToString(payload)
				digest := sha256.Sum256([]byte(input))
				sig, err := rsa.SignPSS(rand.Reader, key, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				out[i] = input + "." + base64.RawURLEncoding.EncodeToString(sig)
			}
		}(start, start+per)
	}
	wg.Wait()
	return out, firstErr
}

// startBareSTS serves the same token service over the same store and keys
// with auditing and metrics off: no sign-in records (assertions are still
// spent, with the same group commit), the store without its metrics
// decorator, no request middleware. Its public URL is
// the real service's, so the same kind of assertion is accepted; the
// listener, TLS settings and server timeouts are the real ones'.
func startBareSTS(r *server.Running, dataDir string) (base string, stop func(), err error) {
	st := r.Store
	if u, ok := st.(interface{ Unwrap() store.Store }); ok {
		st = u.Unwrap() // without its latency histograms
	}
	// The client cache is not observability: the bare service has one too,
	// over its own watcher (stopped with the listener).
	gens := &store.GenerationWatcher{Store: st}
	watchCtx, stopWatch := context.WithCancel(context.Background())
	go gens.Run(watchCtx, nil)
	// Auditing off is the same recorder over a store that drops sign-in
	// records: replay markers still commit, batched exactly as with
	// auditing on, because they are security, not observability.
	markersOnly := audit.NewRecorder(noSignIns{st}, nil)
	bare := &sts.Server{
		Store: st, Signer: r.Keys, Keys: r.Keys, Recorder: markersOnly,
		PublicURLs:  []string{r.STSURL},
		Generations: gens,
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	pair, err := tls.LoadX509KeyPair(dataDir+"/tls/server.pem", dataDir+"/tls/server-key.pem")
	if err != nil {
		stopWatch()
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		stopWatch()
		return "", nil, err
	}
	srv := &http.Server{
		Handler:           bare.Handler(),
		TLSConfig:         &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}},
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	go srv.ServeTLS(ln, "", "")
	return "https://" + ln.Addr().String(), func() { srv.Close(); markersOnly.Close(); stopWatch() }, nil
}

// noSignIns is a store whose transactions drop sign-in records: auditing off.
type noSignIns struct{ store.Store }

func (s noSignIns) Write(ctx context.Context, fn func(store.Tx) error) error {
	return s.Store.Write(ctx, func(tx store.Tx) error { return fn(dropSignIns{tx}) })
}

type dropSignIns struct{ store.Tx }

func (dropSignIns) AppendSignIns([]store.SignIn) error { return nil }
