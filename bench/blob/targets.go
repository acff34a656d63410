package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// startCeiling serves the least a blob server must do over HTTPS, with
// the same certificate: PUT streams the body into a file, GET streams the
// file back. No fsync, no encryption, no auth: the ceiling.
func startCeiling(dir, tlsDir string, pool *x509.CertPool) (*azblob.Client, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	cert, err := tls.LoadX509KeyPair(filepath.Join(tlsDir, "server.pem"), filepath.Join(tlsDir, "server-key.pem"))
	if err != nil {
		return nil, nil, err
	}
	file := func(r *http.Request) string {
		return filepath.Join(dir, strings.NewReplacer("/", "_").Replace(r.URL.Path))
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Query().Get("restype") == "":
			f, err := os.Create(file(r))
			if err == nil {
				_, err = io.Copy(f, r.Body)
				f.Close()
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodGet:
			f, err := os.Open(file(r))
			if err != nil {
				http.Error(w, err.Error(), http.StatusNotFound)
				return
			}
			defer f.Close()
			st, _ := f.Stat()
			w.Header().Set("Content-Length", strconv.FormatInt(st.Size(), 10))
			io.Copy(w, f)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: h, TLSConfig: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	go srv.ServeTLS(ln, "", "")
	c, err := azblob.NewClient("https://"+ln.Addr().String()+"/ceiling/", staticToken{},
		&azblob.ClientOptions{ClientOptions: policy.ClientOptions{Transport: httpsClient(pool)}})
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	if _, err := c.CreateContainer(context.Background(), "bench", nil); err != nil {
		srv.Close()
		return nil, nil, err
	}
	return c, func() { srv.Close() }, nil
}

// Azurite's well-known development account.
const (
	azuriteAccount = "devstoreaccount1"
	azuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// startAzurite installs azurite@3.37.x with npm into dir (never into the
// repository), runs its blob service over HTTP on a free port, and
// returns a shared-key azblob client for it.
func startAzurite(ctx context.Context, dir string) (*azblob.Client, func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	fmt.Println("installing azurite@3.37.x with npm …")
	install := exec.CommandContext(ctx, "npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "azurite@3.37.x")
	if out, err := install.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("npm install azurite: %v\n%s", err, out)
	}
	version, _ := exec.Command("node", "-p", "require('"+filepath.Join(dir, "node_modules", "azurite", "package.json")+"').version").Output()
	fmt.Printf("azurite %s\n", strings.TrimSpace(string(version)))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command(filepath.Join(dir, "node_modules", ".bin", "azurite-blob"), "--blobHost", "127.0.0.1",
		"--blobPort", port, "--location", filepath.Join(dir, "data"), "--silent", "--skipApiVersionCheck", "--loose")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	stop := func() { cmd.Process.Kill(); cmd.Wait() }
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return nil, nil, errors.New("azurite did not start listening")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cred, err := azblob.NewSharedKeyCredential(azuriteAccount, azuriteKey)
	if err != nil {
		stop()
		return nil, nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	c, err := azblob.NewClientWithSharedKeyCredential("http://127.0.0.1:"+port+"/"+azuriteAccount+"/", cred,
		&azblob.ClientOptions{ClientOptions: policy.ClientOptions{Transport: &http.Client{Transport: tr}}})
	if err != nil {
		stop()
		return nil, nil, err
	}
	if _, err := c.CreateContainer(ctx, "bench", nil); err != nil {
		stop()
		return nil, nil, err
	}
	return c, stop, nil
}
