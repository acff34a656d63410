package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/signet-platform/signet/client"
)

// logQuery is the log API's filter as the log pages' forms carry it, with
// the times as typed so a form shows them back.
type logQuery struct {
	client.LogFilter
	SinceText, UntilText string
	// Stream is the log the form filters; it decides which fields apply
	// (no operation on sign-ins, no token id on activity).
	Stream string
}

const defaultTop = 100

// parseLogQuery reads the filters the log endpoints take: since and until
// (RFC 3339), principalId, resourceId, operation, result, tokenId, top.
func parseLogQuery(r *http.Request, stream string) (logQuery, error) {
	q := r.URL.Query()
	field := func(name string) string { return strings.TrimSpace(q.Get(name)) }
	lq := logQuery{Stream: stream, SinceText: field("since"), UntilText: field("until")}
	lq.PrincipalID, lq.ResourceID, lq.Result, lq.Top = field("principalId"), field("resourceId"), field("result"), defaultTop
	if stream != client.StreamSignIns {
		lq.Operation = field("operation")
	}
	if stream != client.StreamActivity {
		lq.TokenID = field("tokenId")
	}
	for _, t := range []struct {
		text string
		into *time.Time
		name string
	}{{lq.SinceText, &lq.Since, "Since"}, {lq.UntilText, &lq.Until, "Until"}} {
		if t.text == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339, t.text)
		if err != nil {
			return lq, badRequest("%s must be an RFC 3339 time, like 2025-01-02T15:04:05Z.", t.name)
		}
		*t.into = v
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
	Access   []client.AccessEntry
	Note     string
}

func (s *Server) signInLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	q, err := parseLogQuery(r, client.StreamSignIns)
	if err != nil {
		return err
	}
	v := logView{Query: q}
	v.SignIns, err = sess.client.ListSignIns(r.Context(), q.LogFilter)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "signins", sess, "Sign-in log", v)
	return nil
}

func (s *Server) activityLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	q, err := parseLogQuery(r, client.StreamActivity)
	if err != nil {
		return err
	}
	v := logView{Query: q}
	v.Activity, err = sess.client.ListActivity(r.Context(), q.LogFilter)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "activity", sess, "Activity log", v)
	return nil
}

func (s *Server) accessLog(w http.ResponseWriter, r *http.Request, sess *session) error {
	q, err := parseLogQuery(r, client.StreamAccess)
	if err != nil {
		return err
	}
	v := logView{Query: q}
	if v.Access, v.Note, err = s.listAccess(r.Context(), sess.client, q.LogFilter); err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "access", sess, "Access log", v)
	return nil
}

// listAccess reads the access log. A control plane without the endpoint,
// or a principal without the permission, gives a note instead of an error:
// the pages that show access records have other things to show too.
func (s *Server) listAccess(ctx context.Context, c *client.Client, f client.LogFilter) ([]client.AccessEntry, string, error) {
	recs, err := c.ListAccessLogs(ctx, f)
	var ce *client.Error
	switch {
	case errors.As(err, &ce) && ce.StatusCode == http.StatusNotFound:
		return nil, "This control plane does not offer the access log.", nil
	case errors.As(err, &ce) && ce.StatusCode == http.StatusForbidden:
		return nil, "Your principal may not read the access log (Signet.Audit/accessLogs/read).", nil
	case err != nil:
		return nil, "", err
	}
	return recs, "", nil
}
