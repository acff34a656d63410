package arm

import (
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/signet-platform/signet/internal/resourceid"
	"github.com/signet-platform/signet/internal/store"
)

const (
	actionSignInsRead    = "Signet.Audit/signIns/read"
	actionAccessLogsRead = "Signet.Audit/accessLogs/read"
	actionActivityRead   = "Microsoft.Insights/eventtypes/values/read"
	actionKeysRotate     = "Signet.Keys/rotate/action"
	actionSigningKeysGet = "Signet.Keys/signingKeys/read"
	maxLogRecords        = 1000
)

type signInJSON struct {
	ID             string    `json:"id"`
	Time           time.Time `json:"time"`
	TenantID       string    `json:"tenantId"`
	PrincipalID    string    `json:"principalId"`
	ClientID       string    `json:"clientId"`
	Resource       string    `json:"resource"`
	Result         string    `json:"result"`
	ErrorCode      string    `json:"errorCode,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	CallerAddress  string    `json:"callerAddress"`
	CredentialType string    `json:"credentialType"`
	TokenID        string    `json:"tokenId,omitempty"`
}

type activityJSON struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	TenantID      string    `json:"tenantId"`
	CallerID      string    `json:"callerId"`
	Operation     string    `json:"operation"`
	ResourceID    string    `json:"resourceId"`
	Result        string    `json:"result"`
	Status        int       `json:"status"`
	Message       string    `json:"message,omitempty"`
	CallerAddress string    `json:"callerAddress"`
}

type accessJSON struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	TenantID      string    `json:"tenantId"`
	CallerID      string    `json:"callerId"`
	ClientID      string    `json:"clientId"`
	Service       string    `json:"service"`
	ResourceID    string    `json:"resourceId"`
	Item          string    `json:"item"`
	Action        string    `json:"action"`
	Result        string    `json:"result"`
	Status        int       `json:"status"`
	ErrorCode     string    `json:"errorCode,omitempty"`
	CallerAddress string    `json:"callerAddress"`
	TokenID       string    `json:"tokenId,omitempty"`
}

// logFilter reads since, top, principalId and result from the query.
func logFilter(req *request, tenantID string) (store.AuditFilter, error) {
	q := req.URL.Query()
	f := store.AuditFilter{TenantID: tenantID, PrincipalID: q.Get("principalId"), Result: q.Get("result"), Limit: maxLogRecords}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return f, newError(http.StatusBadRequest, codeInvalidQueryParameter, "The 'since' parameter must be an RFC 3339 time.")
		}
		f.Since = t
	}
	if v := q.Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLogRecords {
			return f, newError(http.StatusBadRequest, codeInvalidQueryParameter, "The 'top' parameter must be an integer from 1 to %d.", maxLogRecords)
		}
		f.Limit = n
	}
	return f, nil
}

// listSignIns answers the tenant's sign-in log (the subscription names the
// tenant and the scope the permission is checked at).
func (s *Server) listSignIns(w http.ResponseWriter, req *request) error {
	sub, err := s.subscription(req, req.route.sub)
	if err != nil {
		return err
	}
	if err := s.authorize(req, actionSignInsRead, "/subscriptions/"+sub.ID); err != nil {
		return err
	}
	f, err := logFilter(req, sub.TenantID)
	if err != nil {
		return err
	}
	var recs []store.SignIn
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		recs, err = tx.ListSignIns(f)
		return err
	}); err != nil {
		return internalError(err)
	}
	out := list[signInJSON]{Value: make([]signInJSON, 0, len(recs))}
	for _, r := range recs {
		out.Value = append(out.Value, signInJSON(r))
	}
	return writeJSON(w, http.StatusOK, out)
}

// listActivity answers the activity records of writes inside the
// subscription. Records are filtered after the store's limit, so a page may
// hold fewer than top records when the tenant has other subscriptions.
func (s *Server) listActivity(w http.ResponseWriter, req *request) error {
	sub, err := s.subscription(req, req.route.sub)
	if err != nil {
		return err
	}
	scope := "/subscriptions/" + sub.ID
	if err := s.authorize(req, actionActivityRead, scope); err != nil {
		return err
	}
	f, err := logFilter(req, sub.TenantID)
	if err != nil {
		return err
	}
	top := f.Limit
	f.Limit = maxLogRecords
	var recs []store.Activity
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		recs, err = tx.ListActivity(f)
		return err
	}); err != nil {
		return internalError(err)
	}
	out := list[activityJSON]{Value: []activityJSON{}}
	for _, r := range recs {
		if len(out.Value) == top {
			break
		}
		if resourceid.Contains(scope, r.ResourceID) {
			out.Value = append(out.Value, activityJSON(r))
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// listAccessLogs answers the data-access records (secrets and blobs
// touched, or refused) of resources inside the subscription. As with the
// activity log, records are filtered after the store's limit.
func (s *Server) listAccessLogs(w http.ResponseWriter, req *request) error {
	sub, err := s.subscription(req, req.route.sub)
	if err != nil {
		return err
	}
	scope := "/subscriptions/" + sub.ID
	if err := s.authorize(req, actionAccessLogsRead, scope); err != nil {
		return err
	}
	f, err := logFilter(req, sub.TenantID)
	if err != nil {
		return err
	}
	top := f.Limit
	f.Limit = maxLogRecords
	var recs []store.Access
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		recs, err = tx.ListAccess(f)
		return err
	}); err != nil {
		return internalError(err)
	}
	out := list[accessJSON]{Value: []accessJSON{}}
	for _, r := range recs {
		if len(out.Value) == top {
			break
		}
		if resourceid.Contains(scope, r.ResourceID) {
			out.Value = append(out.Value, accessJSON{ID: r.ID, Time: r.Time, TenantID: r.TenantID, CallerID: r.CallerID,
				ClientID: r.ClientID, Service: r.Service, ResourceID: r.ResourceID, Item: r.Item, Action: r.Action,
				Result: r.Result, Status: r.Status, ErrorCode: r.ErrorCode, CallerAddress: r.CallerAddress, TokenID: r.TokenID})
		}
	}
	return writeJSON(w, http.StatusOK, out)
}

// signingKeyJSON is a signing key's public lifecycle; key material, even
// public, is served by the JWKS endpoint, not here.
type signingKeyJSON struct {
	KID         string     `json:"kid"`
	PublishAt   time.Time  `json:"publishAt"`
	ActiveAt    time.Time  `json:"activeAt"`
	RetiredAt   *time.Time `json:"retiredAt,omitempty"`
	UnpublishAt *time.Time `json:"unpublishAt,omitempty"`
}

func signingKeyOut(k store.SigningKey) signingKeyJSON {
	out := signingKeyJSON{KID: k.KID, PublishAt: k.PublishAt, ActiveAt: k.ActiveAt}
	if !k.RetiredAt.IsZero() {
		out.RetiredAt = &k.RetiredAt
	}
	if !k.UnpublishAt.IsZero() {
		out.UnpublishAt = &k.UnpublishAt
	}
	return out
}

func (s *Server) keysEnabled() error {
	if s.Keys == nil {
		return newError(http.StatusNotFound, codeNoRegisteredProvider, "Signing-key management is not enabled on this server.")
	}
	return nil
}

func (s *Server) rotateKeys(w http.ResponseWriter, req *request) error {
	if err := s.authorize(req, actionKeysRotate, "/"); err != nil {
		return err
	}
	if err := s.keysEnabled(); err != nil {
		return err
	}
	k, err := s.Keys.Rotate(req.Context())
	if err != nil {
		return internalError(fmt.Errorf("rotate signing keys: %w", err))
	}
	return writeJSON(w, http.StatusOK, signingKeyOut(k))
}

func (s *Server) listSigningKeys(w http.ResponseWriter, req *request) error {
	if err := s.authorize(req, actionSigningKeysGet, "/"); err != nil {
		return err
	}
	if err := s.keysEnabled(); err != nil {
		return err
	}
	keys, err := s.Keys.List(req.Context())
	if err != nil {
		return internalError(fmt.Errorf("list signing keys: %w", err))
	}
	out := list[signingKeyJSON]{Value: make([]signingKeyJSON, 0, len(keys))}
	for _, k := range keys {
		out.Value = append(out.Value, signingKeyOut(k))
	}
	return writeJSON(w, http.StatusOK, out)
}
