package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// VaultResource is Azure Key Vault's token audience. Signet's vaults accept
// it beside the resource their challenge names (azure-wire-protocol §8.1).
const VaultResource = "https://vault.azure.net"

// APIVersionKeyVault is sent to the vault data plane, which accepts any.
const APIVersionKeyVault = "7.5"

// TokenSource gives bearer tokens for a resource (an audience). *Client is
// one (client credentials); a managed identity endpoint is another.
type TokenSource interface {
	Token(ctx context.Context, resource string) (AccessToken, error)
}

// VaultClient calls one vault's Key Vault-compatible secrets API
// (azure-wire-protocol §8.2). It is safe for concurrent use.
type VaultClient struct {
	base   *url.URL // the vault URL; Path is "" (host-style) or "/{vault}" (path-style)
	tokens TokenSource
	http   *http.Client

	mu       sync.Mutex
	resource string // the audience tokens are asked for, once known
}

// VaultOptions tune a VaultClient; the zero value is usable.
type VaultOptions struct {
	// CAFile is a PEM bundle of the CAs to trust instead of the system roots.
	CAFile string
	// Resource is the audience to ask tokens for. Empty: the resource the
	// vault's challenge names when it is the vault's own (the check
	// azsecrets makes), else VaultResource.
	Resource string
	// HTTPClient replaces the client built from CAFile. It must not follow
	// redirects: a bearer token would go with them.
	HTTPClient *http.Client
}

// NewVaultClient returns a client for the vault at vaultURL: host-style
// (https://kv1.vault.localhost:8446/) or path-style
// (https://127.0.0.1:8446/kv1).
func NewVaultClient(vaultURL string, tokens TokenSource, opts VaultOptions) (*VaultClient, error) {
	base, err := parseBaseURL("vault URL", vaultURL)
	if err != nil {
		return nil, err
	}
	if strings.Count(base.Path, "/") > 1 {
		return nil, fmt.Errorf("client: vault URL %q: want https://{vault}.{suffix}/ or https://{host}/{vault}", vaultURL)
	}
	if tokens == nil {
		return nil, errors.New("client: vault client needs a token source")
	}
	if opts.Resource != "" {
		if _, err := parseBaseURL("vault token resource", opts.Resource); err != nil {
			return nil, err
		}
	}
	hc := opts.HTTPClient
	if hc == nil {
		if hc, err = vaultHTTPClient(opts.CAFile); err != nil {
			return nil, err
		}
	}
	return &VaultClient{base: base, tokens: tokens, http: hc, resource: opts.Resource}, nil
}

// URL is the vault's URL, without a trailing slash.
func (v *VaultClient) URL() string { return v.base.String() }

// vaultHTTPClient trusts caFile's CAs (or the system roots) and dials
// *.localhost names on loopback, as RFC 6761 §6.3 asks of name resolution
// APIs: `signet dev` hands out vault URLs like https://kv1.vault.localhost:8446/
// and a resolver that does not special-case them would fail to find them.
func vaultHTTPClient(caFile string) (*http.Client, error) {
	cfg, err := TLSConfig(caFile)
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = cfg
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if host, port, err := net.SplitHostPort(addr); err == nil && isLocalhostName(host) {
			addr = net.JoinHostPort("127.0.0.1", port)
		}
		return dialer.DialContext(ctx, network, addr)
	}
	proxy := tr.Proxy
	tr.Proxy = func(r *http.Request) (*url.URL, error) {
		if isLocalhostName(r.URL.Hostname()) {
			return nil, nil // a proxy could not reach our loopback
		}
		return proxy(r)
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}

func isLocalhostName(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	return host == "localhost" || strings.HasSuffix(host, ".localhost")
}

// audience returns the resource to ask tokens for, learning it from the
// vault's challenge on first use: a request without a token, answered 401
// with WWW-Authenticate naming the resource (§8.1).
func (v *VaultClient) audience(ctx context.Context) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.resource != "" {
		return v.resource, nil
	}
	u := v.endpoint("/secrets", url.Values{"maxresults": {"1"}})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := v.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("client: reaching vault %s: %w", v.base.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		v.resource = v.challengeResource(resp.Header.Values("WWW-Authenticate"))
	case http.StatusNotFound, http.StatusBadRequest:
		// No such vault (VaultNotFound) or not a vault at all: say so now
		// rather than after getting a token for it.
		return "", decodeError(resp.StatusCode, body)
	default:
		v.resource = VaultResource
	}
	return v.resource, nil
}

// challengeResource picks the resource (or scope) a challenge names when
// the vault's host is a subdomain of it, the check azsecrets makes so a
// server cannot ask for a token for some other service; anything else
// (a path-style URL, no challenge) gets VaultResource.
func (v *VaultClient) challengeResource(headers []string) string {
	for _, h := range headers {
		params := parseChallenge(h)
		res := params["resource"]
		if scope, ok := params["scope"]; ok {
			res = strings.TrimSuffix(scope, "/.default")
		}
		u, err := url.Parse(res)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || strings.Trim(u.Path, "/") != "" {
			continue
		}
		if strings.HasSuffix(strings.ToLower(v.base.Host), "."+strings.ToLower(u.Host)) {
			return "https://" + u.Host
		}
	}
	return VaultResource
}

// parseChallenge reads `Bearer k="v", k2="v2"` into a map.
func parseChallenge(h string) map[string]string {
	out := map[string]string{}
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return out
	}
	for _, part := range strings.FieldsFunc(rest, func(r rune) bool { return r == ',' || r == ' ' }) {
		k, val, ok := strings.Cut(part, "=")
		if ok {
			out[strings.ToLower(k)] = strings.Trim(val, `"`)
		}
	}
	return out
}

// endpoint is the URL of path (below the vault) with api-version added.
func (v *VaultClient) endpoint(path string, query url.Values) string {
	u := *v.base
	u.Path += path
	u.RawPath = ""
	q := url.Values{}
	for k, vs := range query {
		q[k] = vs
	}
	q.Set("api-version", APIVersionKeyVault)
	u.RawQuery = q.Encode()
	return u.String()
}

// errUndecodable stands in for a JSON error: its text could quote the
// body, and a vault's body may hold a secret value.
func errUndecodable(what string) error {
	return fmt.Errorf("client: the vault's answer to %s is not the JSON expected", what)
}

// send makes one authorized request to target (a full URL on the vault)
// and decodes a JSON answer into out when out is non-nil. want is the
// success status.
func (v *VaultClient) send(ctx context.Context, method, target string, body any, want int, out any, what string) error {
	resource, err := v.audience(ctx)
	if err != nil {
		return err
	}
	tok, err := v.tokens.Token(ctx, resource)
	if err != nil {
		return err
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("client: encoding %s: %w", what, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := v.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s: %w", what, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("client: reading the vault's answer to %s: %w", what, err)
	}
	if resp.StatusCode != want {
		return decodeError(resp.StatusCode, b)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return errUndecodable(what)
	}
	return nil
}

// sameVault resolves a nextLink and refuses one that leaves the vault's
// origin: azsecrets requests nextLink as-is (§8.2), but a token is only
// ever sent where the vault is.
func (v *VaultClient) sameVault(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("client: invalid nextLink from the vault: %w", err)
	}
	if !u.IsAbs() {
		u = v.base.ResolveReference(u)
	}
	if u.Scheme != v.base.Scheme || !strings.EqualFold(u.Host, v.base.Host) || u.User != nil {
		return "", fmt.Errorf("client: nextLink leaves the vault %s for %s", v.base.Host, u.Host)
	}
	return u.String(), nil
}

// listAll GETs a collection below the vault and follows nextLink.
func listAll[T any](ctx context.Context, v *VaultClient, path, what string) ([]T, error) {
	get := func(target string, p *page[T]) error {
		return v.send(ctx, http.MethodGet, target, nil, http.StatusOK, p, what)
	}
	return followPages(v.endpoint(path, nil), get, v.sameVault, what, 0)
}
