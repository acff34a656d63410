// Command blob measures Signet's Blob data plane with the official azblob
// client, side by side in the same run with Azurite 3.37 (installed with
// npm into a temporary directory, shared-key auth, over HTTPS with a
// self-signed certificate made for the run) and with a minimal Go HTTPS
// server that streams the same bytes to and from a file (the TLS ceiling
// of this machine). All three are HTTPS, so the ratios compare like with
// like; each target's name says its transport:
//
//   - 64 MiB upload (one Put Blob) and download (one GET), MB/s, best of
//     -rounds; targets: Signet >= 3x Azurite and >= 0.5x the ceiling;
//
//   - -small uploads then downloads of 4 KiB blobs with -workers workers,
//     operations/s; target: Signet >= 3x Azurite.
//
//     go run ./bench/blob
//     go run ./bench/blob -azurite=false   # without node/npm
//     go run ./bench/blob -inline=false    # every Signet blob in a content file
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/blob"
	"github.com/signet-platform/signet/internal/server"
	"github.com/signet-platform/signet/internal/store"
)

const bigSize = 64 << 20

func main() {
	rounds := flag.Int("rounds", 3, "64 MiB transfers per target and direction (the best counts)")
	small := flag.Int("small", 1000, "4 KiB blobs to upload, then download")
	workers := flag.Int("workers", 16, "concurrent workers for the small blobs")
	useAzurite := flag.Bool("azurite", true, "install and measure Azurite 3.37 (needs node and npm)")
	inline := flag.Bool("inline", true, "keep Signet's small blobs in their records (false: every blob in a content file, as before)")
	azuriteHTTP := flag.Bool("azurite-http", false, "serve Azurite over plain HTTP instead of HTTPS (the old, unlike comparison)")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run (client and Signet) here")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "blob bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(*rounds, *small, *workers, *useAzurite, *azuriteHTTP, *inline); err != nil {
		fmt.Fprintln(os.Stderr, "blob bench:", err)
		os.Exit(1)
	}
}

// target is one server under test, reached through azblob.
type target struct {
	name   string
	client *azblob.Client
}

type results struct {
	up, down           float64 // MB/s
	smallUp, smallDown float64 // ops/s
}

func run(rounds, small, workers int, useAzurite, azuriteHTTP, inline bool) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "signet-blob-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	signetClient, caPool, tlsDir, stop, err := startSignet(ctx, filepath.Join(dir, "signet"), inline)
	if err != nil {
		return err
	}
	defer stop()
	targets := []target{{name: "Signet (HTTPS, bearer token, RBAC, encrypted)", client: signetClient}}

	ceiling, stopCeiling, err := startCeiling(filepath.Join(dir, "ceiling"), tlsDir, caPool)
	if err != nil {
		return err
	}
	defer stopCeiling()

	if useAzurite {
		az, stopAz, err := startAzurite(ctx, filepath.Join(dir, "azurite"), azuriteHTTP)
		if err != nil {
			return err
		}
		defer stopAz()
		name := "Azurite 3.37 (HTTPS, shared key)"
		if azuriteHTTP {
			name = "Azurite 3.37 (plain HTTP!, shared key)"
		}
		targets = append(targets, target{name: name, client: az})
	}

	payload := make([]byte, bigSize)
	for i := range payload {
		payload[i] = byte(i*131 + i>>9)
	}
	fmt.Printf("cores: %d, GOMAXPROCS %d; 64 MiB transfers: best of %d; small: %d x 4 KiB, %d workers; Signet inline blobs: %v\n\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), rounds, small, workers, inline)

	res := map[string]*results{}
	all := append([]target{{name: "minimal Go server (HTTPS, ceiling)", client: ceiling}}, targets...)
	for _, t := range all {
		res[t.name] = &results{}
	}
	// Alternate targets within each round so drift on the machine hits all alike.
	for r := 0; r < rounds; r++ {
		for _, t := range all {
			up, down, err := transfer(ctx, t.client, payload, fmt.Sprintf("big-%d", r))
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			res[t.name].up = max(res[t.name].up, up)
			res[t.name].down = max(res[t.name].down, down)
		}
	}
	for _, t := range targets {
		up, down, err := smallOps(ctx, t.client, small, workers)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		res[t.name].smallUp, res[t.name].smallDown = up, down
	}

	fmt.Printf("%-48s %12s %12s %14s %14s\n", "target", "upload MB/s", "download MB/s", "4K uploads/s", "4K downloads/s")
	for _, t := range all {
		r := res[t.name]
		fmt.Printf("%-48s %12.0f %12.0f %14s %14s\n", t.name, r.up, r.down, rate(r.smallUp), rate(r.smallDown))
	}
	s, c := res[targets[0].name], res[all[0].name]
	fmt.Printf("\nSignet / ceiling:  upload %.2f  download %.2f   (target >= 0.5)\n", s.up/c.up, s.down/c.down)
	if useAzurite {
		a := res[targets[1].name]
		fmt.Printf("Signet / Azurite:  upload %.2f  download %.2f   (target >= 3)\n", s.up/a.up, s.down/a.down)
		fmt.Printf("Signet / Azurite:  4K uploads %.2f  4K downloads %.2f   (target >= 3)\n", s.smallUp/a.smallUp, s.smallDown/a.smallDown)
	}
	return nil
}

func rate(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}

// transfer uploads payload with one Put Blob and downloads it with one GET.
func transfer(ctx context.Context, c *azblob.Client, payload []byte, name string) (up, down float64, err error) {
	start := time.Now()
	if _, err := c.UploadBuffer(ctx, "bench", name, payload, &azblob.UploadBufferOptions{BlockSize: 256 << 20}); err != nil {
		return 0, 0, fmt.Errorf("upload: %w", err)
	}
	up = mbps(len(payload), time.Since(start))
	start = time.Now()
	resp, err := c.DownloadStream(ctx, "bench", name, nil)
	if err != nil {
		return 0, 0, fmt.Errorf("download: %w", err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || n != int64(len(payload)) {
		return 0, 0, fmt.Errorf("download: %d bytes, %v", n, err)
	}
	return up, mbps(len(payload), time.Since(start)), nil
}

func mbps(n int, d time.Duration) float64 { return float64(n) / 1e6 / d.Seconds() }

// smallOps uploads n 4 KiB blobs, then downloads them, with w workers.
func smallOps(ctx context.Context, c *azblob.Client, n, w int) (up, down float64, err error) {
	data := bytes.Repeat([]byte("0123456789abcdef"), 256)
	runOps := func(op func(i int) error) (float64, error) {
		var next atomic.Int64
		var firstErr error
		var once sync.Once
		var wg sync.WaitGroup
		start := time.Now()
		for range w {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					if err := op(i); err != nil {
						once.Do(func() { firstErr = err })
						return
					}
				}
			}()
		}
		wg.Wait()
		return float64(n) / time.Since(start).Seconds(), firstErr
	}
	up, err = runOps(func(i int) error {
		_, err := c.UploadBuffer(ctx, "bench", fmt.Sprintf("small/%05d", i), data, nil)
		return err
	})
	if err != nil {
		return 0, 0, fmt.Errorf("small upload: %w", err)
	}
	down, err = runOps(func(i int) error {
		resp, err := c.DownloadStream(ctx, "bench", fmt.Sprintf("small/%05d", i), nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if n, err := io.Copy(io.Discard, resp.Body); err != nil || n != int64(len(data)) {
			return fmt.Errorf("small download: %d bytes, %v", n, err)
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("small download: %w", err)
	}
	return up, down, nil
}

// startSignet runs Signet in process with one storage account whose data
// the dev admin owns, and returns an azblob client for it.
func startSignet(ctx context.Context, dir string, inline bool) (*azblob.Client, *x509.CertPool, string, func(), error) {
	cfg := server.Config{Dev: true, DataDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cfg.FreePorts()
	r, err := server.Start(ctx, cfg)
	if err != nil {
		return nil, nil, "", nil, err
	}
	if !inline {
		r.Blob.InlineMax = -1 // set before the bench's first request
	}
	const name = "benchstore"
	res := store.Resource{ID: "/subscriptions/" + r.Dev.SubscriptionID + "/resourceGroups/" + r.Dev.ResourceGroup +
		"/providers/Microsoft.Storage/storageAccounts/" + name, SubscriptionID: r.Dev.SubscriptionID,
		ResourceGroup: r.Dev.ResourceGroup, Type: blob.AccountType, Name: name, Location: "local", CreatedAt: time.Now()}
	hooks := &blob.AccountHooks{Server: r.Blob, Endpoint: func(a string) string { return r.BlobURL + "/" + a + "/" }}
	err = r.Store.Write(ctx, func(tx store.Tx) error {
		if invalid, err := hooks.Prepare(tx, &res, true); err != nil || invalid != "" {
			return fmt.Errorf("storage account: %v %s", err, invalid)
		}
		if err := tx.PutResource(res); err != nil {
			return err
		}
		return tx.CreateRoleAssignment(store.RoleAssignment{ID: uuid.NewString(), Scope: res.ID,
			RoleDefinitionID: authz.StorageBlobDataOwnerRoleID, PrincipalID: r.Dev.ObjectID,
			PrincipalType: "ServicePrincipal", CreatedAt: time.Now()})
	})
	if err != nil {
		r.Close()
		return nil, nil, "", nil, err
	}
	pool := x509.NewCertPool()
	caPEM, err := os.ReadFile(r.CAFile)
	if err != nil {
		r.Close()
		return nil, nil, "", nil, err
	}
	pool.AppendCertsFromPEM(caPEM)
	hc := httpsClient(pool)
	opts := policy.ClientOptions{Transport: hc, Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: r.STSURL + "/"}}
	cred, err := azidentity.NewClientSecretCredential(r.Dev.TenantID, r.Dev.ClientID, r.Dev.ClientSecret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
	if err != nil {
		r.Close()
		return nil, nil, "", nil, err
	}
	c, err := azblob.NewClient(r.BlobURL+"/"+name+"/", cred, &azblob.ClientOptions{ClientOptions: policy.ClientOptions{Transport: hc}})
	if err != nil {
		r.Close()
		return nil, nil, "", nil, err
	}
	if _, err := c.CreateContainer(ctx, "bench", nil); err != nil {
		r.Close()
		return nil, nil, "", nil, err
	}
	return c, pool, filepath.Join(dir, "tls"), func() { r.Close() }, nil
}

// httpsClient is one transport shared by a target's workers, with room for
// every worker's keep-alive connection.
func httpsClient(pool *x509.CertPool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}

// staticToken satisfies azblob's need for a credential against the
// ceiling server, which checks nothing.
type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "x", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
