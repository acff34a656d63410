package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SignInFilter narrows ListSignIns. Zero fields match all.
type SignInFilter struct {
	Since       time.Time
	PrincipalID string
	Result      string // "success" or "failure"
	Top         int
}

// ListSignIns reads the subscription's sign-in log, newest first.
func (c *Client) ListSignIns(ctx context.Context, f SignInFilter) ([]SignIn, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	setSince(q, f.Since)
	setTop(q, f.Top)
	setFilter(q, f.PrincipalID, f.Result)
	return list[SignIn](ctx, c, call{path: sub + "/providers/Signet.Audit/signIns", apiVersion: APIVersionSignet, query: q})
}

// ActivityFilter narrows ListActivity. Zero fields match all.
type ActivityFilter struct {
	Since       time.Time
	PrincipalID string // the caller's object id
	Result      string // "success" or "failure"
	Top         int
}

// ListActivity reads the subscription's activity log (control-plane
// writes), newest first.
func (c *Client) ListActivity(ctx context.Context, f ActivityFilter) ([]ActivityEvent, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	setSince(q, f.Since)
	setTop(q, f.Top)
	setFilter(q, f.PrincipalID, f.Result)
	return list[ActivityEvent](ctx, c, call{path: sub + "/providers/Microsoft.Insights/eventtypes/management/values", apiVersion: APIVersionInsights, query: q})
}

func setSince(q url.Values, since time.Time) {
	if !since.IsZero() {
		q.Set("since", since.UTC().Format(time.RFC3339))
	}
}

func setFilter(q url.Values, principalID, result string) {
	if principalID != "" {
		q.Set("principalId", principalID)
	}
	if result != "" {
		q.Set("result", result)
	}
}

func setTop(q url.Values, top int) {
	if top > 0 {
		q.Set("top", strconv.Itoa(top))
	}
}

// RotateSigningKeys starts a signing-key rotation and returns the new key:
// published in the JWKS at once, signing from ActiveAt.
func (c *Client) RotateSigningKeys(ctx context.Context) (SigningKey, error) {
	var out SigningKey
	err := c.do(ctx, call{method: http.MethodPost, path: "/providers/Signet.Keys/rotate", apiVersion: APIVersionSignet}, &out)
	return out, err
}

// ListSigningKeys lists the signing keys the STS publishes or has published.
func (c *Client) ListSigningKeys(ctx context.Context) ([]SigningKey, error) {
	return list[SigningKey](ctx, c, call{path: "/providers/Signet.Keys/signingKeys", apiVersion: APIVersionSignet})
}
