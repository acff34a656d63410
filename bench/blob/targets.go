package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
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
// repository), runs its blob service on a free port — over HTTPS with a
// self-signed certificate for 127.0.0.1 made in dir, unless plainHTTP —
// and returns a shared-key azblob client for it that trusts only that
// certificate.
func startAzurite(ctx context.Context, dir string, plainHTTP bool) (*azblob.Client, func(), error) {
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
	args := []string{"--blobHost", "127.0.0.1", "--blobPort", port, "--location", filepath.Join(dir, "data"),
		"--silent", "--skipApiVersionCheck", "--loose"}
	scheme, tr := "https", http.DefaultTransport.(*http.Transport).Clone()
	if plainHTTP {
		scheme = "http"
	} else {
		certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		pool, err := selfSignedCert(certFile, keyFile)
		if err != nil {
			return nil, nil, err
		}
		args = append(args, "--cert", certFile, "--key", keyFile)
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	cmd := exec.Command(filepath.Join(dir, "node_modules", ".bin", "azurite-blob"), args...)
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
	tr.MaxIdleConnsPerHost = 64
	c, err := azblob.NewClientWithSharedKeyCredential(scheme+"://127.0.0.1:"+port+"/"+azuriteAccount+"/", cred,
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

// selfSignedCert writes a P-256 certificate for 127.0.0.1 (its own CA,
// valid for a day) and its key as PEM, and returns a pool trusting it.
func selfSignedCert(certFile, keyFile string) (*x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:             time.Now().Add(-time.Minute),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool, nil
}
