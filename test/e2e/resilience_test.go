package e2e

import (
	"io"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/signet-platform/signet/internal/server"
)

// forwarder is a TCP relay in front of the STS that a test can cut and
// restore, standing for one STS region going down and coming back.
type forwarder struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

// newForwarder listens now; its target is set once the STS it fronts runs.
func newForwarder(t *testing.T) *forwarder {
	f := &forwarder{t: t, conns: map[net.Conn]bool{}}
	f.start("127.0.0.1:0")
	t.Cleanup(f.stop)
	return f
}

// startWithRegions starts Signet with each forwarder as a login alias (a
// region's name for the same token service) and points them at it.
func startWithRegions(t *testing.T, regions ...*forwarder) *signet {
	s := startSignet(t, "", func(c *server.Config) {
		for _, r := range regions {
			c.LoginAliasURLs = append(c.LoginAliasURLs, r.url())
		}
	})
	for _, r := range regions {
		r.mu.Lock()
		r.target = hostPort(t, s.STSURL)
		r.mu.Unlock()
	}
	return s
}

func (f *forwarder) url() string { return "https://" + f.addr }

func (f *forwarder) start(addr string) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.ln, f.addr = ln, ln.Addr().String()
	f.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go f.relay(c)
		}
	}()
}

func (f *forwarder) relay(c net.Conn) {
	f.mu.Lock()
	target := f.target
	f.mu.Unlock()
	up, err := net.Dial("tcp", target)
	if err != nil {
		c.Close()
		return
	}
	f.mu.Lock()
	f.conns[c], f.conns[up] = true, true
	f.mu.Unlock()
	go func() { io.Copy(up, c); up.Close() }()
	io.Copy(c, up)
	c.Close()
}

// stop closes the listener and every relayed connection: the region is down.
func (f *forwarder) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ln != nil {
		f.ln.Close()
		f.ln = nil
	}
	for c := range f.conns {
		c.Close()
	}
	f.conns = map[net.Conn]bool{}
}

// restart brings the region back on the same address.
func (f *forwarder) restart() { f.start(f.addr) }

func hostPort(t *testing.T, u string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req.URL.Host
}

func TestAgentServesFromCacheWhileTheSTSIsDown(t *testing.T) {
	region := newForwarder(t)
	s := startWithRegions(t, region)
	h := newTestHost(t, s, region.url())
	cached := "api-version=2018-02-01&resource=https://vault.azure.net"
	if code, body := h.imdsGet(t, cached); code != http.StatusOK {
		t.Fatalf("warming the cache: %d %v", code, body)
	}
	region.stop()
	if code, body := h.imdsGet(t, cached); code != http.StatusOK || body["access_token"] == "" {
		t.Errorf("cached pair while the STS is down: %d %v, want the cached token", code, body)
	}
	fresh := "api-version=2018-02-01&resource=https://storage.azure.com"
	code, body := h.imdsGet(t, fresh)
	if code < 500 || body["error_description"] == "" {
		t.Errorf("new pair while the STS is down: %d %v, want a clear 5xx", code, body)
	}
	region.restart()
	// The agent backs off a failed region for a short while; a workload
	// retries as the SDKs do (5xx are retried).
	var ok bool
	for i := 0; i < 100 && !ok; i++ {
		code, _ = h.imdsGet(t, fresh)
		ok = code == http.StatusOK
		if !ok {
			waitABit()
		}
	}
	if !ok {
		t.Errorf("after the STS came back: %d, want 200", code)
	}
}

func TestAgentFailsOverBetweenSTSRegions(t *testing.T) {
	first, second := newForwarder(t), newForwarder(t)
	s := startWithRegions(t, first, second)
	h := newTestHost(t, s, first.url(), second.url())
	first.stop()
	for i, resource := range []string{"https://vault.azure.net", "https://storage.azure.com", "https://management.azure.com/", "api://app-one", "api://app-two"} {
		if code, body := h.imdsGet(t, "api-version=2018-02-01&resource="+resource); code != http.StatusOK {
			t.Errorf("request %d (%s) with the first region down: %d %v", i, resource, code, body)
		}
	}
}
