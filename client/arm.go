package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// API versions sent to the control plane, per resource provider.
const (
	APIVersionResources     = "2021-04-01" // Microsoft.Resources (resource groups)
	APIVersionCompute       = "2024-03-01" // Microsoft.Compute
	APIVersionMSI           = "2023-01-31" // Microsoft.ManagedIdentity
	APIVersionAuthorization = "2022-04-01" // Microsoft.Authorization
	APIVersionInsights      = "2015-04-01" // Microsoft.Insights activity log
	// APIVersionSignet is sent to Signet's own providers (Signet.Audit,
	// Signet.Keys); ARM requires an api-version on every request.
	APIVersionSignet = "2024-01-01"
)

// providerAPIVersions maps a provider namespace (lower case) to the version
// generic resource calls use for it.
var providerAPIVersions = map[string]string{
	"microsoft.compute":         APIVersionCompute,
	"microsoft.managedidentity": APIVersionMSI,
	"microsoft.authorization":   APIVersionAuthorization,
	"microsoft.resources":       APIVersionResources,
	"microsoft.insights":        APIVersionInsights,
	"microsoft.web":             "2023-12-01",
	"microsoft.keyvault":        "2023-07-01",
	"microsoft.storage":         "2023-05-01",
	"microsoft.hybridcompute":   "2024-07-10",
}

// apiVersionFor picks the api-version for a resource id or a provider type
// by the provider namespace it names (the segment after the last
// "/providers/", or the first segment of a bare type).
func apiVersionFor(idOrType string) string {
	ns := idOrType
	if i := strings.LastIndex(strings.ToLower(idOrType), "/providers/"); i >= 0 {
		ns = idOrType[i+len("/providers/"):]
	}
	ns, _, _ = strings.Cut(strings.TrimPrefix(ns, "/"), "/")
	if v, ok := providerAPIVersions[strings.ToLower(ns)]; ok {
		return v
	}
	return APIVersionResources
}

// call is one control-plane request.
type call struct {
	method     string
	path       string // absolute ARM path, e.g. /subscriptions/s/resourceGroups/g
	apiVersion string
	query      url.Values
	body       any
	// ok lists the success statuses; empty means 200, 201, 202 and 204.
	ok []int
}

// do sends a call with a management token and decodes a JSON answer into
// out (when out is non-nil and the body is non-empty).
func (c *Client) do(ctx context.Context, cl call, out any) error {
	target, err := c.target(cl)
	if err != nil {
		return err
	}
	return c.send(ctx, cl, target, out)
}

// target is the URL of a call: its path on the control plane, with its
// query and api-version.
func (c *Client) target(cl call) (string, error) {
	if err := checkPath(cl.path); err != nil {
		return "", err
	}
	u := *c.management
	u.Path += cl.path
	q := url.Values{}
	for k, v := range cl.query {
		q[k] = v
	}
	q.Set("api-version", cl.apiVersion)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func (c *Client) send(ctx context.Context, cl call, target string, out any) error {
	tok, err := c.Token(ctx, ManagementResource)
	if err != nil {
		return err
	}
	var body io.Reader
	if cl.body != nil {
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fmt.Errorf("client: encoding %s body: %w", cl.method, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, target, body)
	if err != nil {
		return fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", cl.method, cl.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("client: reading response: %w", err)
	}
	if !statusOK(resp.StatusCode, cl.ok) {
		return decodeError(resp.StatusCode, b)
	}
	if out == nil || len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("client: decoding %s %s response: %w", cl.method, cl.path, err)
	}
	return nil
}

func statusOK(status int, ok []int) bool {
	if len(ok) == 0 {
		ok = []int{http.StatusOK, http.StatusCreated, http.StatusAccepted, http.StatusNoContent}
	}
	for _, s := range ok {
		if status == s {
			return true
		}
	}
	return false
}

// page is ARM's list envelope.
type page[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink"`
}

// maxPages stops a server that keeps answering with a nextLink.
const maxPages = 1000

// list GETs a collection and follows nextLink while it stays on the control
// plane's own origin: a token is never sent anywhere else.
func list[T any](ctx context.Context, c *Client, cl call) ([]T, error) {
	return listUpTo[T](ctx, c, cl, 0)
}

// listUpTo is list that stops following nextLink once it has top items
// (top > 0); it may return more than top.
func listUpTo[T any](ctx context.Context, c *Client, cl call, top int) ([]T, error) {
	cl.method = http.MethodGet
	first, err := c.target(cl)
	if err != nil {
		return nil, err
	}
	get := func(target string, p *page[T]) error { return c.send(ctx, cl, target, p) }
	return followPages(first, get, c.sameOrigin, "listing "+cl.path, top)
}

// followPages GETs first and each nextLink after it, resolved by next
// (which refuses a link that leaves the service), until there is none or
// there are top items (top > 0), and stops a server whose paging never
// ends or loops.
func followPages[T any](first string, get func(target string, p *page[T]) error, next func(link string) (string, error), what string, top int) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	for target, n := first, 0; target != ""; n++ {
		if n >= maxPages || seen[target] {
			return nil, fmt.Errorf("client: %s: paging does not end", what)
		}
		seen[target] = true
		var p page[T]
		if err := get(target, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Value...)
		target = ""
		if p.NextLink != "" && (top <= 0 || len(all) < top) {
			var err error
			if target, err = next(p.NextLink); err != nil {
				return nil, err
			}
		}
	}
	return all, nil
}

func (c *Client) sameOrigin(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", fmt.Errorf("client: invalid nextLink: %w", err)
	}
	if !u.IsAbs() {
		u = c.management.ResolveReference(u)
	}
	if u.Scheme != c.management.Scheme || !strings.EqualFold(u.Host, c.management.Host) {
		return "", fmt.Errorf("client: nextLink %q leaves the control plane %s", link, c.management.Host)
	}
	return u.String(), nil
}

// checkPath refuses paths that are not absolute or whose segments a server
// or proxy could resolve to somewhere else ("." and ".." segments).
func checkPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("client: %q is not an absolute resource path", p)
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "." || seg == ".." {
			return fmt.Errorf("client: invalid resource path %q", p)
		}
	}
	return nil
}

// checkName validates one name that becomes a path segment.
func checkName(what, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("client: %s name is empty", what)
	case strings.ContainsAny(name, "/?#") || name == "." || name == "..":
		return fmt.Errorf("client: invalid %s name %q", what, name)
	}
	return nil
}

// errNoSubscription is returned by subscription-scoped calls on a client
// configured without one.
var errNoSubscription = errors.New("client: no subscription configured")

func (c *Client) subscriptionPath() (string, error) {
	if c.cfg.SubscriptionID == "" {
		return "", errNoSubscription
	}
	if err := checkName("subscription", c.cfg.SubscriptionID); err != nil {
		return "", err
	}
	return "/subscriptions/" + c.cfg.SubscriptionID, nil
}

func (c *Client) groupPath(group string) (string, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return "", err
	}
	if err := checkName("resource group", group); err != nil {
		return "", err
	}
	return sub + "/resourceGroups/" + group, nil
}
