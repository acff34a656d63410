package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AccessToken is a bearer token and when it expires.
type AccessToken struct {
	Token     string
	ExpiresOn time.Time
}

// refreshMargin is how long before expiry a cached token stops being used,
// so a token never expires between being handed out and being presented.
const refreshMargin = 5 * time.Minute

type tokenCache struct {
	// mu is held across a fetch so concurrent callers share one token request.
	mu      sync.Mutex
	byScope map[string]AccessToken
}

// Token returns an access token for resource (an audience such as
// https://vault.azure.net, or a scope already ending in /.default), asking
// the STS by client credentials when no cached token has at least five
// minutes of life left.
func (c *Client) Token(ctx context.Context, resource string) (AccessToken, error) {
	if resource == "" {
		return AccessToken{}, errors.New("client: token resource is empty")
	}
	scope := scopeFor(resource)
	c.tokens.mu.Lock()
	defer c.tokens.mu.Unlock()
	if tok, ok := c.tokens.byScope[scope]; ok && time.Now().Before(tok.ExpiresOn.Add(-refreshMargin)) {
		return tok, nil
	}
	tok, err := c.requestToken(ctx, scope)
	if err != nil {
		return AccessToken{}, err
	}
	c.tokens.byScope[scope] = tok
	return tok, nil
}

// scopeFor turns a resource into its .default scope the way the az CLI
// does, keeping a trailing slash: https://management.azure.com/ becomes
// https://management.azure.com//.default, so the token's aud is the resource
// exactly as the user wrote it.
func scopeFor(resource string) string {
	if strings.HasSuffix(resource, "/.default") {
		return resource
	}
	return resource + "/.default"
}

// requestToken runs the client credentials grant (RFC 6749 §4.4) against the
// v2 token endpoint with a client secret (Entra's client_secret form field).
func (c *Client) requestToken(ctx context.Context, scope string) (AccessToken, error) {
	endpoint := *c.authority
	endpoint.Path += "/" + url.PathEscape(c.cfg.TenantID) + "/oauth2/v2.0/token"
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {c.cfg.ClientID},
		"client_secret": {c.cfg.ClientSecret},
		"scope":         {scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return AccessToken{}, fmt.Errorf("client: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		return AccessToken{}, fmt.Errorf("client: token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return AccessToken{}, fmt.Errorf("client: reading token response: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return AccessToken{}, decodeError(resp.StatusCode, body)
	}
	var tr struct {
		AccessToken string          `json:"access_token"`
		TokenType   string          `json:"token_type"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       string          `json:"error"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return AccessToken{}, fmt.Errorf("client: decoding token response: %w", err)
	}
	if tr.Error != "" {
		return AccessToken{}, decodeError(resp.StatusCode, body)
	}
	if tr.AccessToken == "" {
		return AccessToken{}, errors.New("client: token response has no access_token")
	}
	if tr.TokenType != "" && !strings.EqualFold(tr.TokenType, "Bearer") {
		return AccessToken{}, fmt.Errorf("client: token type %q is not Bearer", tr.TokenType)
	}
	secs, err := parseExpiresIn(tr.ExpiresIn)
	if err != nil {
		return AccessToken{}, err
	}
	// Measured from when the request was sent, so time in flight counts
	// against the token's life rather than extending it.
	return AccessToken{Token: tr.AccessToken, ExpiresOn: start.Add(time.Duration(secs) * time.Second)}, nil
}

// parseExpiresIn accepts expires_in as a JSON number (v2 endpoint) or a
// string of digits (v1 endpoint), as MSAL does.
func parseExpiresIn(raw json.RawMessage) (int64, error) {
	s := strings.Trim(string(raw), `"`)
	secs, err := strconv.ParseInt(s, 10, 64)
	if err != nil || secs <= 0 {
		return 0, fmt.Errorf("client: token response has invalid expires_in %q", string(raw))
	}
	return secs, nil
}
