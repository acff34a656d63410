package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// LogFilter narrows an audit-log listing or export. Zero fields match all.
type LogFilter struct {
	Since, Until time.Time // Since inclusive, Until exclusive
	// PrincipalID is the sign-in's principal, or the caller of a write or
	// a data access.
	PrincipalID string
	// ResourceID: sign-ins: the resource (audience) asked for; activity and
	// access: at or below this ARM scope.
	ResourceID string
	Operation  string // activity: the operation; access: the data action
	Result     string // "success" or "failure"
	TokenID    string // the token's uti (sign-ins and access)
	// Top bounds how many records are returned in all (0: every record).
	Top int
}

// SignInFilter narrows ListSignIns.
type SignInFilter = LogFilter

// ActivityFilter narrows ListActivity.
type ActivityFilter = LogFilter

// Audit log streams, as ExportLogs and VerifyLogs name them.
const (
	StreamSignIns  = "signins"
	StreamActivity = "activity"
	StreamAccess   = "access"
)

// maxLogPage is the control plane's largest audit page.
const maxLogPage = 1000

func (f LogFilter) query() url.Values {
	q := url.Values{}
	setSince(q, f.Since)
	if !f.Until.IsZero() {
		q.Set("until", f.Until.UTC().Format(time.RFC3339))
	}
	setTop(q, min(f.Top, maxLogPage))
	setFilter(q, f.PrincipalID, f.Result)
	for k, v := range map[string]string{"resourceId": f.ResourceID, "operation": f.Operation, "tokenId": f.TokenID} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// ListSignIns reads the subscription's sign-in log, newest first.
func (c *Client) ListSignIns(ctx context.Context, f SignInFilter) ([]SignIn, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return nil, err
	}
	return listLog[SignIn](ctx, c, call{path: sub + "/providers/Signet.Audit/signIns", apiVersion: APIVersionSignet, query: f.query()}, f.Top)
}

// ListActivity reads the subscription's activity log (control-plane
// writes), newest first.
func (c *Client) ListActivity(ctx context.Context, f ActivityFilter) ([]ActivityEvent, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return nil, err
	}
	return listLog[ActivityEvent](ctx, c, call{path: sub + "/providers/Microsoft.Insights/eventtypes/management/values", apiVersion: APIVersionInsights, query: f.query()}, f.Top)
}

// AccessFilter narrows ListAccessLogs.
type AccessFilter = LogFilter

// AccessEntry is one data-plane access in the access log: a secret or blob
// touched, or an attempt refused. It never holds what was read or written.
type AccessEntry struct {
	ID            string          `json:"id"`
	Time          time.Time       `json:"time"`
	TenantID      string          `json:"tenantId,omitempty"`
	CallerID      string          `json:"callerId,omitempty"` // object id of the caller
	ClientID      string          `json:"clientId,omitempty"`
	Service       string          `json:"service,omitempty"`    // keyvault or blob
	ResourceID    string          `json:"resourceId,omitempty"` // the vault or storage account
	Item          string          `json:"item,omitempty"`       // e.g. secrets/db-password
	Action        string          `json:"action,omitempty"`     // the RBAC data action
	Result        string          `json:"result"`               // success or failure
	Status        int             `json:"status,omitempty"`     // HTTP status answered
	ErrorCode     string          `json:"errorCode,omitempty"`
	CallerAddress string          `json:"callerAddress,omitempty"`
	TokenID       string          `json:"tokenId,omitempty"` // the token's uti
	Raw           json.RawMessage `json:"-"`
}

func (e *AccessEntry) UnmarshalJSON(b []byte) error {
	type plain AccessEntry
	return unmarshalKeepRaw(b, (*plain)(e), &e.Raw)
}

// ListAccessLogs reads the data-access log of the subscription's vaults and
// storage accounts, newest first.
func (c *Client) ListAccessLogs(ctx context.Context, f AccessFilter) ([]AccessEntry, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return nil, err
	}
	return listLog[AccessEntry](ctx, c, call{path: sub + "/providers/Signet.Audit/accessLogs", apiVersion: APIVersionSignet, query: f.query()}, f.Top)
}

// listLog is list that stops once it has top records (top > 0), so a small
// --top does not page through a whole log.
func listLog[T any](ctx context.Context, c *Client, cl call, top int) ([]T, error) {
	all, err := listUpTo[T](ctx, c, cl, top)
	if err != nil {
		return nil, err
	}
	if top > 0 && len(all) > top {
		all = all[:top]
	}
	if all == nil {
		all = []T{}
	}
	return all, nil
}

// ExportLogs streams every record of a stream the filter selects to w as
// JSON Lines, newest first (Top is ignored), and returns the bytes
// written. The body is streamed, not held in memory.
func (c *Client) ExportLogs(ctx context.Context, stream string, f LogFilter, w io.Writer) (int64, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return 0, err
	}
	f.Top = 0
	q := f.query()
	q.Set("stream", stream)
	q.Set("api-version", APIVersionSignet)
	u := *c.management
	u.Path += sub + "/providers/Signet.Audit/export"
	u.RawQuery = q.Encode()
	tok, err := c.Token(ctx, ManagementResource)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return 0, fmt.Errorf("client: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/x-ndjson")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, fmt.Errorf("client: export %s: %w", stream, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		return 0, decodeError(resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-ndjson") {
		return 0, fmt.Errorf("client: export %s: unexpected Content-Type %q", stream, ct)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		// A body cut short means the server failed midway: the export is
		// incomplete and must not look finished.
		return n, fmt.Errorf("client: export %s: incomplete after %d bytes: %w", stream, n, err)
	}
	return n, nil
}

// ChainCheck is the control plane's check of one audit stream's hash chain.
type ChainCheck struct {
	OK            bool        `json:"ok"`
	Checked       int64       `json:"checked"`
	HeadSeq       int64       `json:"headSeq"`
	HeadHash      string      `json:"headHash"`
	PrunedThrough int64       `json:"prunedThrough"`
	FirstBad      *ChainFault `json:"firstBad,omitempty"`
}

// ChainFault names the first altered, inserted or missing record. ID is ""
// for a missing (deleted) record.
type ChainFault struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

// VerifyLogs checks the audit streams' hash chains (stream "" checks all
// three) and returns each stream's result by name.
func (c *Client) VerifyLogs(ctx context.Context, stream string) (map[string]ChainCheck, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return nil, err
	}
	q := url.Values{}
	if stream != "" {
		q.Set("stream", stream)
	}
	out := map[string]ChainCheck{}
	err = c.do(ctx, call{method: http.MethodPost, path: sub + "/providers/Signet.Audit/verify", apiVersion: APIVersionSignet, query: q}, &out)
	return out, err
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
