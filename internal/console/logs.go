package console

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/signet-platform/signet/client"
)

// logQuery is the API's filter, as the log pages' forms carry it.
type logQuery struct {
	Since       time.Time
	SinceText   string
	PrincipalID string
	Result      string
	Top         int
}

const defaultTop = 100

// parseLogQuery reads since (RFC 3339), principalId, result and top, the
// filters the log endpoints take.
func parseLogQuery(r *http.Request) (logQuery, error) {
	q := r.URL.Query()
	lq := logQuery{SinceText: strings.TrimSpace(q.Get("since")), PrincipalID: strings.TrimSpace(q.Get("principalId")),
		Result: q.Get("result"), Top: defaultTop}
	if lq.SinceText != "" {
		t, err := time.Parse(time.RFC3339, lq.SinceText)
		if err != nil {
			return lq, badRequest("Since must be an RFC 3339 time, like 2025-01-02T15:04:05Z.")
		}
		lq.Since = t
	}
	switch lq.Result {
	case "", "success", "failure":
	default:
		return lq, badRequest("Result must be success or failure.")
	}
	if v := q.Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return lq, badRequest("Top must be a number from 1 to 1000.")
		}
		lq.Top = n
	}
	return lq, nil
}

type logView struct {
	Query    logQuery
	SignIns  []client.SignIn
	Activity []client.ActivityEvent
	Access   []accessRecord
	Note     string
}

func (s *Server) signInLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	q, err := parseLogQuery(r)
	if err != nil {
		return err
	}
	v := logView{Query: q}
	v.SignIns, err = sess.client.ListSignIns(r.Context(), client.SignInFilter{Since: q.Since, PrincipalID: q.PrincipalID, Result: q.Result, Top: q.Top})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "signins", sess, "Sign-in log", v)
	return nil
}

func (s *Server) activityLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	q, err := parseLogQuery(r)
	if err != nil {
		return err
	}
	v := logView{Query: q}
	v.Activity, err = sess.client.ListActivity(r.Context(), client.ActivityFilter{Since: q.Since, PrincipalID: q.PrincipalID, Result: q.Result, Top: q.Top})
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "activity", sess, "Activity log", v)
	return nil
}

func (s *Server) accessLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	q, err := parseLogQuery(r)
	if err != nil {
		return err
	}
	v := logView{Query: q}
	if v.Access, v.Note, err = s.listAccess(r.Context(), sess.client, q); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "access", sess, "Access log", v)
	return nil
}

// accessRecord is one data-plane access (a secret read, a blob written),
// as GET …/providers/Signet.Audit/accessLogs answers it.
type accessRecord struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	CallerID      string    `json:"callerId"`
	ClientID      string    `json:"clientId"`
	Service       string    `json:"service"`
	ResourceID    string    `json:"resourceId"`
	Item          string    `json:"item"`
	Action        string    `json:"action"`
	Result        string    `json:"result"`
	Status        int       `json:"status"`
	ErrorCode     string    `json:"errorCode"`
	CallerAddress string    `json:"callerAddress"`
	TokenID       string    `json:"tokenId"`
}

// listAccess reads the access log. Package client has no call for it yet,
// so this is one bounded GET with the session's own management token (the
// same credential, audience and TLS trust as every other call). A control
// plane without the endpoint gives a note instead of an error.
func (s *Server) listAccess(ctx context.Context, c *client.Client, q logQuery) ([]accessRecord, string, error) {
	tok, err := c.Token(ctx, client.ManagementResource)
	if err != nil {
		return nil, "", err
	}
	v := url.Values{"api-version": {client.APIVersionSignet}}
	if !q.Since.IsZero() {
		v.Set("since", q.Since.UTC().Format(time.RFC3339))
	}
	if q.PrincipalID != "" {
		v.Set("principalId", q.PrincipalID)
	}
	if q.Result != "" {
		v.Set("result", q.Result)
	}
	if q.Top > 0 {
		v.Set("top", strconv.Itoa(q.Top))
	}
	target := strings.TrimRight(s.Base.ManagementURL, "/") + "/subscriptions/" + url.PathEscape(c.SubscriptionID()) +
		"/providers/Signet.Audit/accessLogs?" + v.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("access log: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, "", fmt.Errorf("access log: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "accessLogs"):
		return nil, "This control plane does not offer the access log.", nil
	case resp.StatusCode == http.StatusForbidden:
		return nil, "Your principal may not read the access log (Signet.Audit/accessLogs/read).", nil
	case resp.StatusCode != http.StatusOK:
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		return nil, "", &client.Error{StatusCode: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	var page struct {
		Value []accessRecord `json:"value"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, "", fmt.Errorf("access log: %w", err)
	}
	return page.Value, "", nil
}

// httpClient trusts caFile's CAs only when set (as package client does),
// and never follows a redirect with a bearer token attached.
func httpClient(caFile string) (*http.Client, error) {
	tlsConfig := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("console: reading CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, errors.New("console: no certificates in CA file " + caFile)
		}
		tlsConfig.RootCAs = pool
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsConfig
	return &http.Client{
		Transport:     tr,
		Timeout:       60 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, nil
}
