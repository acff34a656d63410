package server

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// startDev starts `signet dev` with its agent on free ports and returns it
// with an HTTPS client that trusts it (and reaches *.localhost vaults on
// loopback).
func startDev(t *testing.T) (*Running, *http.Client) {
	t.Helper()
	cfg := Config{Dev: true, DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		DevAgent: &DevAgentConfig{}}
	cfg.FreePorts()
	r, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("starting signet: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	pem, err := os.ReadFile(r.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, _ := net.SplitHostPort(addr)
		if strings.HasSuffix(host, ".localhost") {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	return r, &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// scrape reads /metrics and returns each series (as exposed, labels
// included) with its value.
func scrape(t *testing.T, r *Running) map[string]float64 {
	t.Helper()
	resp, err := http.Get(r.OpsURL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func token(t *testing.T, hc *http.Client, r *Running, secret, clientRequestID string) *http.Response {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {r.Dev.ClientID},
		"client_secret": {secret}, "scope": {"https://management.azure.com/.default"}}
	req, _ := http.NewRequest(http.MethodPost, r.STSURL+"/"+r.Dev.TenantID+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-ms-client-request-id", clientRequestID)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// agentToken gets a token for resource from the dev agent's IMDS.
func agentToken(t *testing.T, r *Running, resource string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, r.Agent.IMDSURL()+"/metadata/identity/oauth2/token?api-version=2018-02-01&resource="+url.QueryEscape(resource), nil)
	req.Header.Set("Metadata", "true")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("IMDS token: %s %v", resp.Status, err)
	}
	return out.AccessToken
}

func bearerGet(t *testing.T, hc *http.Client, u, tok string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestMetricsMoveWithRequests(t *testing.T) {
	r, hc := startDev(t)
	type step struct {
		name   string
		do     func(t *testing.T)
		series string
		min    float64 // the least the series must grow by
	}
	steps := []step{
		{"token issued", func(t *testing.T) {
			id := uuid.NewString()
			resp := token(t, hc, r, r.Dev.ClientSecret, id)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("token: %s", resp.Status)
			}
			if _, err := uuid.Parse(resp.Header.Get("x-ms-request-id")); err != nil {
				t.Errorf("x-ms-request-id = %q, want a GUID", resp.Header.Get("x-ms-request-id"))
			}
			if got := resp.Header.Get("x-ms-client-request-id"); got != id {
				t.Errorf("x-ms-client-request-id = %q, want %q echoed", got, id)
			}
		}, `signet_sts_tokens_total{reason="",result="success"}`, 1},
		{"token refused", func(t *testing.T) {
			if resp := token(t, hc, r, "not-the-secret", "x"); resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("token with a wrong secret: %s", resp.Status)
			}
		}, `signet_sts_tokens_total{reason="AADSTS7000215",result="failure"}`, 1},
		{"token latency", func(t *testing.T) {
			token(t, hc, r, r.Dev.ClientSecret, "")
		}, `signet_http_request_duration_seconds_count{code="200",route="token",service="login"}`, 1},
		{"agent cache hit", func(t *testing.T) {
			agentToken(t, r, "https://management.azure.com/")
			agentToken(t, r, "https://management.azure.com/")
		}, `signet_agent_token_cache_hits_total`, 1},
		{"key vault get", func(t *testing.T) {
			tok := agentToken(t, r, "https://vault.azure.net")
			if code := bearerGet(t, hc, r.DevVaultURL+"secrets/greeting?api-version=7.4", tok); code != http.StatusOK {
				t.Fatalf("get secret: %d", code)
			}
		}, `signet_dataplane_operations_total{action="Microsoft.KeyVault/vaults/secrets/getSecret/action",code="200",result="success",service="keyvault"}`, 1},
		{"rbac denial", func(t *testing.T) {
			// The dev host's identity may read the vault's secrets, not
			// the resource group.
			tok := agentToken(t, r, "https://management.azure.com/")
			u := r.ARMURL + "/subscriptions/" + r.Dev.SubscriptionID + "/resourceGroups/" + r.Dev.ResourceGroup + "?api-version=2021-04-01"
			if code := bearerGet(t, hc, u, tok); code != http.StatusForbidden {
				t.Fatalf("get resource group as the host: %d, want 403", code)
			}
		}, `signet_rbac_decisions_total{decision="deny",service="management"}`, 1},
		{"key vault rbac denial", func(t *testing.T) {
			// The dev host's identity may read the vault's secrets, not
			// set them.
			tok := agentToken(t, r, "https://vault.azure.net")
			req, _ := http.NewRequest(http.MethodPut, r.DevVaultURL+"secrets/other?api-version=7.4", strings.NewReader(`{"value":"x"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("set secret as the host: %s, want 403", resp.Status)
			}
		}, `signet_rbac_decisions_total{decision="deny",service="keyvault"}`, 1},
		{"store latency", func(t *testing.T) {
			token(t, hc, r, r.Dev.ClientSecret, "")
		}, `signet_store_transaction_duration_seconds_count{kind="write",result="ok"}`, 1},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := scrape(t, r)[s.series]
			s.do(t)
			after := scrape(t, r)[s.series]
			if after-before < s.min {
				t.Errorf("%s went from %v to %v, want it up by at least %v", s.series, before, after, s.min)
			}
		})
	}
}

func TestReadyzFollowsTheStore(t *testing.T) {
	r, _ := startDev(t)
	get := func(path string) (int, string) {
		resp, err := http.Get(r.OpsURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz = %d %q, want 200", code, body)
	}
	r.Store.Close() // the store goes away under the running server
	if code, body := get("/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "store unreachable") {
		t.Errorf("/readyz with the store closed = %d %q, want 503 store unreachable", code, body)
	}
	if code, _ := get("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d, want 200: the process is alive", code)
	}
}
