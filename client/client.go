package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// ManagementResource is the audience of control-plane tokens.
const ManagementResource = "https://management.azure.com/"

// maxBody bounds a response body read into memory.
const maxBody = 32 << 20

// Client calls Signet's STS and control plane. It is safe for concurrent use.
type Client struct {
	cfg        Config
	management *url.URL
	authority  *url.URL
	http       *http.Client
	tokens     *tokenCache
}

// New returns a Client for cfg. Both service URLs must be https: the client
// sends its secret to one and bearer tokens to the other.
func New(cfg Config) (*Client, error) {
	mgmt, err := parseBaseURL("management URL", cfg.ManagementURL)
	if err != nil {
		return nil, err
	}
	auth, err := parseBaseURL("authority host", cfg.AuthorityHost)
	if err != nil {
		return nil, err
	}
	if cfg.TenantID == "" {
		return nil, errors.New("client: tenant id is empty")
	}
	tlsConfig, err := TLSConfig(cfg.CAFile)
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsConfig
	return &Client{
		cfg:        cfg,
		management: mgmt,
		authority:  auth,
		http: &http.Client{
			Transport: transport,
			Timeout:   60 * time.Second,
			// Never follow a redirect with a bearer token or a secret attached.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		tokens: &tokenCache{byScope: make(map[string]AccessToken)},
	}, nil
}

// TLSConfig trusts caFile's CAs (a PEM bundle) instead of the system roots
// when caFile is set: the TLS settings every client of Signet uses.
func TLSConfig(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("client: reading CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("client: no certificates in CA file %s", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}

func parseBaseURL(what, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("client: %s is empty", what)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("client: %s: %w", what, err)
	}
	if u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("client: %s %q must be an https URL", what, raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("client: %s %q must not have credentials, a query or a fragment", what, raw)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// SubscriptionID is the configured default subscription.
func (c *Client) SubscriptionID() string { return c.cfg.SubscriptionID }

// TenantID is the configured tenant.
func (c *Client) TenantID() string { return c.cfg.TenantID }

// WithSubscription returns a client for another subscription that shares
// this one's connections and token cache.
func (c *Client) WithSubscription(id string) *Client {
	clone := *c
	clone.cfg.SubscriptionID = id
	return &clone
}
