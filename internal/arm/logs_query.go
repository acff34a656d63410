package arm

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/resourceid"
	"github.com/signet-platform/signet/internal/store"
)

// The audit query API: one set of filters and one paging scheme over the
// three logs (sign-ins, activity, data access), an NDJSON export and the
// hash-chain check. Query parameters:
//
//	since, until   RFC 3339; since inclusive, until exclusive
//	principalId    the sign-in's principal, or the caller of a write or access
//	resourceId     sign-ins: the resource (audience) asked for, exactly;
//	               activity and access: at or below this ARM scope, which
//	               must be inside the subscription (permission is checked
//	               there, so a reader of one group can read its logs)
//	operation      activity: the operation; access: the data action
//	result         success or failure
//	tokenId        the token's uti (sign-ins and access)
//	top            page size, 1 to 1000 (default 1000)
//	$skiptoken     opaque; from nextLink
//
// Pages are newest first by (time, id) and continue by keyset, never by
// offset, so a page is as cheap as the first and records appended between
// requests neither repeat nor vanish.

const (
	actionActivityLogsRead = "Signet.Audit/activityLogs/read"
	actionAuditVerify      = "Signet.Audit/verify/action"
	ndjsonType             = "application/x-ndjson"
)

// auditStream says how one log is queried and shown.
type auditStream struct {
	stream store.AuditStream
	// action is the permission a reader needs; scoped streams check it at
	// the resourceId asked for (or the subscription), sign-ins at the
	// subscription (they belong to the tenant, not to a resource).
	action string
	scoped bool
	// fetch reads one page of records as their JSON shapes, with each
	// one's position for the next page.
	fetch func(tx store.Tx, f store.AuditFilter) ([]any, []store.AuditCursor, error)
}

var auditStreamsByName = map[string]auditStream{
	"signins": {store.StreamSignIns, actionSignInsRead, false, func(tx store.Tx, f store.AuditFilter) ([]any, []store.AuditCursor, error) {
		recs, err := tx.ListSignIns(f)
		return shape(recs, signInOut, func(r store.SignIn) store.AuditCursor { return store.AuditCursor{Time: r.Time, ID: r.ID} }, err)
	}},
	"activity": {store.StreamActivity, actionActivityLogsRead, true, func(tx store.Tx, f store.AuditFilter) ([]any, []store.AuditCursor, error) {
		recs, err := tx.ListActivity(f)
		return shape(recs, activityOut, func(r store.Activity) store.AuditCursor { return store.AuditCursor{Time: r.Time, ID: r.ID} }, err)
	}},
	"access": {store.StreamAccess, actionAccessLogsRead, true, func(tx store.Tx, f store.AuditFilter) ([]any, []store.AuditCursor, error) {
		recs, err := tx.ListAccess(f)
		return shape(recs, accessOut, func(r store.Access) store.AuditCursor { return store.AuditCursor{Time: r.Time, ID: r.ID} }, err)
	}},
}

func shape[R, J any](recs []R, out func(R) J, cursor func(R) store.AuditCursor, err error) ([]any, []store.AuditCursor, error) {
	if err != nil {
		return nil, nil, err
	}
	vs := make([]any, 0, len(recs))
	cs := make([]store.AuditCursor, 0, len(recs))
	for _, r := range recs {
		vs = append(vs, out(r))
		cs = append(cs, cursor(r))
	}
	return vs, cs, nil
}

// auditQuery authorizes the caller for a stream in the route's
// subscription and reads the filters.
func (s *Server) auditQuery(req *request, st auditStream, action string) (store.AuditFilter, error) {
	sub, err := s.subscription(req, req.route.sub)
	if err != nil {
		return store.AuditFilter{}, err
	}
	f, err := parseAuditFilter(req.URL.Query(), st)
	if err != nil {
		return f, err
	}
	subScope := "/subscriptions/" + sub.ID
	scope := subScope
	if st.scoped {
		if f.ResourceID != "" {
			if !resourceid.Contains(subScope, f.ResourceID) {
				return f, newError(http.StatusBadRequest, codeInvalidQueryParameter,
					"The 'resourceId' parameter must be a scope inside subscription '%s'.", sub.ID)
			}
			scope = f.ResourceID
		} else {
			f.ResourceID = subScope
		}
	}
	if err := s.authorize(req, action, scope); err != nil {
		return f, err
	}
	f.TenantID = sub.TenantID
	return f, nil
}

// parseAuditFilter reads the query parameters above; errors are 400s
// naming the parameter.
func parseAuditFilter(q url.Values, st auditStream) (store.AuditFilter, error) {
	bad := func(format string, args ...any) error {
		return newError(http.StatusBadRequest, codeInvalidQueryParameter, format, args...)
	}
	f := store.AuditFilter{
		PrincipalID: q.Get("principalId"), ResourceID: q.Get("resourceId"), Operation: q.Get("operation"),
		Result: q.Get("result"), TokenID: q.Get("tokenId"), Limit: maxLogRecords,
	}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := q.Get(p.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return f, bad("The '%s' parameter must be an RFC 3339 time.", p.name)
			}
			*p.dst = t
		}
	}
	if f.Result != "" && f.Result != "success" && f.Result != "failure" {
		return f, bad("The 'result' parameter must be 'success' or 'failure'.")
	}
	if f.Operation != "" && st.stream == store.StreamSignIns {
		return f, bad("The 'operation' parameter does not apply to sign-ins.")
	}
	if f.TokenID != "" && st.stream == store.StreamActivity {
		return f, bad("The 'tokenId' parameter does not apply to the activity log.")
	}
	if st.scoped && f.ResourceID != "" {
		if _, err := resourceid.ParseScope(f.ResourceID); err != nil {
			return f, bad("The 'resourceId' parameter must be an ARM resource id or scope.")
		}
	}
	if v := q.Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLogRecords {
			return f, bad("The 'top' parameter must be an integer from 1 to %d.", maxLogRecords)
		}
		f.Limit = n
	}
	if tok := q.Get("$skiptoken"); tok != "" {
		c, err := decodeCursor(tok)
		if err != nil {
			return f, bad("The $skiptoken is invalid.")
		}
		f.After = c
	}
	return f, nil
}

// cursorJSON is the $skiptoken's content before encoding.
type cursorJSON struct {
	T int64  `json:"t"` // unix microseconds
	I string `json:"i"`
}

func encodeCursor(c store.AuditCursor) string {
	b, _ := json.Marshal(cursorJSON{T: c.Time.UnixMicro(), I: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(tok string) (store.AuditCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return store.AuditCursor{}, err
	}
	var c cursorJSON
	if err := json.Unmarshal(b, &c); err != nil || c.I == "" {
		return store.AuditCursor{}, errors.New("bad cursor")
	}
	return store.AuditCursor{Time: time.UnixMicro(c.T).UTC(), ID: c.I}, nil
}

// listAudit answers one page of a stream, with a nextLink while more may
// follow.
func (s *Server) listAudit(w http.ResponseWriter, req *request, st auditStream, action string) error {
	f, err := s.auditQuery(req, st, action)
	if err != nil {
		return err
	}
	top := f.Limit
	f.Limit = top + 1 // one more tells whether another page follows
	var vals []any
	var cursors []store.AuditCursor
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		vals, cursors, err = st.fetch(tx, f)
		return err
	}); err != nil {
		return internalError(err)
	}
	out := list[any]{Value: vals}
	if len(vals) > top {
		out.Value = vals[:top]
		q := req.URL.Query()
		q.Set("$skiptoken", encodeCursor(cursors[top-1]))
		// https: the listener is HTTPS-only (see page in jsonio.go).
		u := url.URL{Scheme: "https", Host: req.Host, Path: req.URL.Path, RawQuery: q.Encode()}
		out.NextLink = u.String()
	}
	return writeJSON(w, http.StatusOK, out)
}

// exportAudit streams every record a query selects as JSON Lines, newest
// first, reading in pages so memory stays flat however long the log.
func (s *Server) exportAudit(w http.ResponseWriter, req *request) error {
	name := strings.ToLower(req.URL.Query().Get("stream"))
	st, ok := auditStreamsByName[name]
	if !ok {
		return newError(http.StatusBadRequest, codeInvalidQueryParameter,
			"The 'stream' parameter must be 'signins', 'activity' or 'access'.")
	}
	f, err := s.auditQuery(req, st, st.action)
	if err != nil {
		return err
	}
	f.Limit = maxLogRecords
	started := false
	enc := json.NewEncoder(w)
	for {
		var vals []any
		var cursors []store.AuditCursor
		if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
			vals, cursors, err = st.fetch(tx, f)
			return err
		}); err != nil {
			if !started {
				return internalError(err)
			}
			// The status is sent: cut the stream short so the client sees
			// a truncated body rather than a clean end.
			s.logger().ErrorContext(req.Context(), "audit export failed", "stream", name, "err", err)
			panic(http.ErrAbortHandler)
		}
		if !started {
			w.Header().Set("Content-Type", ndjsonType)
			w.WriteHeader(http.StatusOK)
			started = true
		}
		for _, v := range vals {
			if err := enc.Encode(v); err != nil {
				return nil // the client went away
			}
		}
		if len(vals) < f.Limit {
			return nil
		}
		f.After = cursors[len(cursors)-1]
	}
}

// verifyJSON is one stream's chain check.
type verifyJSON struct {
	OK       bool       `json:"ok"`
	Checked  int64      `json:"checked"`
	HeadSeq  int64      `json:"headSeq"`
	HeadHash string     `json:"headHash"`
	Pruned   int64      `json:"prunedThrough"`
	FirstBad *faultJSON `json:"firstBad,omitempty"`
}

type faultJSON struct {
	Seq    int64  `json:"seq"`
	ID     string `json:"id,omitempty"`
	Reason string `json:"reason"`
}

// verifyAudit checks the hash chains. The chains span every tenant's
// records, so the permission is checked at the root: a subscription's
// reader must not learn other tenants' record ids or counts.
func (s *Server) verifyAudit(w http.ResponseWriter, req *request) error {
	if _, err := s.subscription(req, req.route.sub); err != nil {
		return err
	}
	if err := s.authorize(req, actionAuditVerify, "/"); err != nil {
		return err
	}
	streams := store.AuditStreams
	if name := req.URL.Query().Get("stream"); name != "" {
		st, ok := auditStreamsByName[strings.ToLower(name)]
		if !ok {
			return newError(http.StatusBadRequest, codeInvalidQueryParameter,
				"The 'stream' parameter must be 'signins', 'activity' or 'access'.")
		}
		streams = []store.AuditStream{st.stream}
	}
	out := map[string]verifyJSON{}
	for _, stream := range streams {
		var v store.AuditVerification
		if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
			var err error
			v, err = tx.VerifyAudit(stream)
			return err
		}); err != nil {
			return internalError(fmt.Errorf("verify %s: %w", stream, err))
		}
		j := verifyJSON{OK: v.OK, Checked: v.Checked, HeadSeq: v.Head.Seq,
			HeadHash: base64.StdEncoding.EncodeToString(v.Head.Hash), Pruned: v.Pruned.Seq}
		if v.FirstBad != nil {
			j.FirstBad = &faultJSON{Seq: v.FirstBad.Seq, ID: v.FirstBad.ID, Reason: v.FirstBad.Reason}
		}
		out[string(stream)] = j
	}
	return writeJSON(w, http.StatusOK, out)
}
