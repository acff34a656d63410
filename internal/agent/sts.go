package agent

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// TokenFetcher obtains a fresh token from the STS. resource is normalized
// (NormalizeResource); the scope asked for is resource + "/.default".
type TokenFetcher interface {
	FetchToken(ctx context.Context, id *Identity, resource string) (*Token, error)
}

// ErrSTSUnavailable is wrapped by FetchToken's error when no STS endpoint
// answered usefully: transport errors, timeouts, 5xx, 408 and 429 from all
// of them. It is transient.
var ErrSTSUnavailable = errors.New("token service unavailable")

// RejectedError is an STS's definitive refusal (a 4xx other than 408/429):
// an identity or request problem that another region would answer the same.
type RejectedError struct {
	Status      int
	Code        string // OAuth "error", e.g. invalid_client
	Description string // the STS's error_description, first line, bounded
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("token service refused the request (%d %s): %s", e.Status, e.Code, e.Description)
}

// STSClient is the agent's client of Signet's STS token endpoint
// (POST {endpoint}/{tenant}/oauth2/v2.0/token, client_credentials with a
// certificate client assertion). It tries Endpoints in order: a transport
// error or 5xx moves on to the next, a 4xx is final. A failed endpoint is
// skipped for a growing time while another one is not backing off.
type STSClient struct {
	endpoints []string
	client    *http.Client
	cfg       STSConfig

	// slots bounds fetches in flight: a burst of distinct misses is
	// served in waves instead of holding a thousand assertions, TLS streams
	// and responses in memory at once (and stampeding the STS).
	slots chan struct{}

	mu     sync.Mutex
	health []endpointHealth
}

// DefaultMaxConcurrentFetches bounds an STSClient's fetches in flight.
const DefaultMaxConcurrentFetches = 16

// STSConfig configures an STSClient.
type STSConfig struct {
	// Endpoints are the STS base URLs (regions), home region first, e.g.
	// https://login.region1.example:8443. They must be https.
	Endpoints []string
	// RootCAs verifies the STS's certificate; nil uses the system pool.
	RootCAs *x509.CertPool
	// Transport overrides the HTTP transport (tests); RootCAs is then unused.
	Transport http.RoundTripper
	// AttemptTimeout bounds one request to one endpoint; default 10 s.
	AttemptTimeout time.Duration
	// BackoffBase and BackoffMax shape the per-endpoint backoff: after n
	// consecutive failures an endpoint is skipped for
	// min(BackoffBase·2^(n-1), BackoffMax). Defaults 2 s and 1 min.
	BackoffBase, BackoffMax time.Duration
	// MaxConcurrentFetches bounds token requests in flight; default
	// DefaultMaxConcurrentFetches.
	MaxConcurrentFetches int
	Logger               *slog.Logger
}

type endpointHealth struct {
	failures  int
	skipUntil time.Time
}

// NewSTSClient validates cfg and returns a client.
func NewSTSClient(cfg STSConfig) (*STSClient, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("sts: no endpoints configured")
	}
	eps := make([]string, len(cfg.Endpoints))
	for i, e := range cfg.Endpoints {
		u, err := url.Parse(e)
		if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("sts: endpoint %q must be an https base URL", e)
		}
		eps[i] = strings.TrimSuffix(e, "/")
	}
	if cfg.AttemptTimeout <= 0 {
		cfg.AttemptTimeout = 10 * time.Second
	}
	if cfg.BackoffBase <= 0 {
		cfg.BackoffBase = 2 * time.Second
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	rt := cfg.Transport
	if rt == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: cfg.RootCAs, MinVersion: tls.VersionTLS12}
		// The STS is reached directly: an environment proxy would see
		// every client assertion.
		t.Proxy = nil
		rt = t
	}
	if cfg.MaxConcurrentFetches <= 0 {
		cfg.MaxConcurrentFetches = DefaultMaxConcurrentFetches
	}
	return &STSClient{
		slots:     make(chan struct{}, cfg.MaxConcurrentFetches),
		endpoints: eps,
		client: &http.Client{
			Transport: rt,
			// A redirect would re-send the assertion elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		cfg:    cfg,
		health: make([]endpointHealth, len(eps)),
	}, nil
}

// order returns the endpoint indexes to try now: those not backing off, in
// configured order. If every endpoint is backing off, all of them, the one
// whose backoff ends first leading: a fetch always has somewhere to go, and
// the first region to come back is found at once.
func (c *STSClient) order(now time.Time) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	idx := make([]int, 0, len(c.health))
	for i, h := range c.health {
		if !now.Before(h.skipUntil) {
			idx = append(idx, i)
		}
	}
	if len(idx) > 0 {
		return idx
	}
	for i := range c.health {
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		return c.health[a].skipUntil.Compare(c.health[b].skipUntil)
	})
	return idx
}

func (c *STSClient) markFailure(i int, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := &c.health[i]
	h.failures++
	h.skipUntil = now.Add(backoff(c.cfg.BackoffBase, c.cfg.BackoffMax, h.failures))
}

// backoff is base·2^(failures-1), capped at limit (and on overflow).
func backoff(base, limit time.Duration, failures int) time.Duration {
	d := base << min(failures-1, 20)
	if d > limit || d <= 0 {
		d = limit
	}
	return d
}

func (c *STSClient) markHealthy(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.health[i] = endpointHealth{}
}

// FetchToken implements TokenFetcher.
func (c *STSClient) FetchToken(ctx context.Context, id *Identity, resource string) (*Token, error) {
	if id.TenantID == "" || id.ClientID == "" {
		return nil, errors.New("sts: identity has no tenant or client id")
	}
	select {
	case c.slots <- struct{}{}:
		defer func() { <-c.slots }()
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrSTSUnavailable, ctx.Err())
	}
	var errs []error
	for _, i := range c.order(time.Now()) {
		tok, err := c.try(ctx, i, id, resource)
		if err == nil {
			c.markHealthy(i)
			return tok, nil
		}
		var rej *RejectedError
		if errors.As(err, &rej) {
			c.markHealthy(i) // it answered; the request is what is wrong
			return nil, err
		}
		if errors.Is(err, errNoCredential) || ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ErrSTSUnavailable, err)
		}
		c.markFailure(i, time.Now())
		c.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "sts endpoint failed",
			slog.String("endpoint", c.endpoints[i]), slog.String("client_id", id.ClientID),
			slog.String("cause", err.Error()))
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("%w: %w", ErrSTSUnavailable, errors.Join(errs...))
}

// maxTokenResponse bounds what is read from the STS.
const maxTokenResponse = 1 << 20

// try asks endpoint i once.
func (c *STSClient) try(ctx context.Context, i int, id *Identity, resource string) (*Token, error) {
	tokenURL := c.endpoints[i] + "/" + url.PathEscape(id.TenantID) + "/oauth2/v2.0/token"
	// A fresh assertion per attempt: aud names this endpoint and the STS
	// burns each jti.
	assertion, err := clientAssertion(id, tokenURL, time.Now())
	if err != nil {
		return nil, err
	}
	form := url.Values{
		"grant_type":            {"client_credentials"},
		"client_id":             {id.ClientID},
		"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
		"client_assertion":      {assertion},
		"scope":                 {resource + "/.default"},
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Client-Request-Id", uuid.NewString())
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.endpoints[i], err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return nil, fmt.Errorf("%s: read response: %w", c.endpoints[i], err)
	}
	received := time.Now()
	switch {
	case resp.StatusCode == http.StatusOK:
		tok, err := parseTokenResponse(body, received)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.endpoints[i], err)
		}
		tok.ClientID, tok.Resource = id.ClientID, resource
		return tok, nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 &&
		resp.StatusCode != http.StatusRequestTimeout && resp.StatusCode != http.StatusTooManyRequests:
		return nil, rejection(resp.StatusCode, body)
	default:
		return nil, fmt.Errorf("%s: status %d", c.endpoints[i], resp.StatusCode)
	}
}

// rejection reads an Entra error body (reference §6.6) into a RejectedError.
func rejection(status int, body []byte) *RejectedError {
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	_ = json.Unmarshal(body, &e) // a body that is not JSON leaves the fields empty
	if e.Error == "" || hasControl(e.Error) || len(e.Error) > 64 {
		e.Error = "invalid_request"
	}
	// Entra appends trace and correlation ids after a CRLF; keep the text.
	desc, _, _ := strings.Cut(e.Description, "\r\n")
	desc, _, _ = strings.Cut(desc, "\n")
	if len(desc) > 512 {
		desc = desc[:512]
	}
	if desc == "" {
		desc = "The token service refused the request (HTTP " + strconv.Itoa(status) + ")."
	}
	return &RejectedError{Status: status, Code: e.Error, Description: desc}
}

// jsonInt is an integer sent as a JSON number or a numeric string.
type jsonInt int64

func (n *jsonInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*n = jsonInt(v)
	return nil
}

// parseTokenResponse reads a v2 token response (reference §6.6).
func parseTokenResponse(body []byte, received time.Time) (*Token, error) {
	var r struct {
		AccessToken  string  `json:"access_token"`
		TokenType    string  `json:"token_type"`
		ExpiresIn    jsonInt `json:"expires_in"`
		ExtExpiresIn jsonInt `json:"ext_expires_in"`
		RefreshIn    jsonInt `json:"refresh_in"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("token response: %w", err)
	}
	switch {
	case r.AccessToken == "":
		return nil, errors.New("token response: no access_token")
	case !strings.EqualFold(r.TokenType, "Bearer"):
		return nil, fmt.Errorf("token response: token_type %q, want Bearer", r.TokenType)
	case r.ExpiresIn <= 0 || r.ExpiresIn > 10*365*24*3600:
		return nil, fmt.Errorf("token response: expires_in %d out of range", r.ExpiresIn)
	}
	t := &Token{
		AccessToken: r.AccessToken,
		IssuedAt:    received,
		ExpiresOn:   received.Add(time.Duration(r.ExpiresIn) * time.Second),
	}
	if r.ExtExpiresIn > 0 && r.ExtExpiresIn >= r.ExpiresIn {
		t.ExtExpiresOn = received.Add(time.Duration(r.ExtExpiresIn) * time.Second)
	}
	if r.RefreshIn > 0 && r.RefreshIn < r.ExpiresIn {
		t.RefreshIn = time.Duration(r.RefreshIn) * time.Second
	}
	return t, nil
}
