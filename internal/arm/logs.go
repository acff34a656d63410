package arm

import (
	"fmt"
	"net/http"
	"time"

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

// The JSON shapes of the three logs. seq and hash place a record in its
// stream's hash chain (hash is base64), so an export can be checked
// outside Signet.
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
	Seq            int64     `json:"seq,omitempty"`
	Hash           []byte    `json:"hash,omitempty"`
}

func signInOut(r store.SignIn) signInJSON {
	return signInJSON{ID: r.ID, Time: r.Time, TenantID: r.TenantID, PrincipalID: r.PrincipalID, ClientID: r.ClientID,
		Resource: r.Resource, Result: r.Result, ErrorCode: r.ErrorCode, Reason: r.Reason, CallerAddress: r.CallerAddress,
		CredentialType: r.CredentialType, TokenID: r.TokenID, Seq: r.Seq, Hash: r.Hash}
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
	Seq           int64     `json:"seq,omitempty"`
	Hash          []byte    `json:"hash,omitempty"`
}

func activityOut(r store.Activity) activityJSON {
	return activityJSON{ID: r.ID, Time: r.Time, TenantID: r.TenantID, CallerID: r.CallerID, Operation: r.Operation,
		ResourceID: r.ResourceID, Result: r.Result, Status: r.Status, Message: r.Message, CallerAddress: r.CallerAddress,
		Seq: r.Seq, Hash: r.Hash}
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
	Seq           int64     `json:"seq,omitempty"`
	Hash          []byte    `json:"hash,omitempty"`
}

func accessOut(r store.Access) accessJSON {
	return accessJSON{ID: r.ID, Time: r.Time, TenantID: r.TenantID, CallerID: r.CallerID, ClientID: r.ClientID,
		Service: r.Service, ResourceID: r.ResourceID, Item: r.Item, Action: r.Action, Result: r.Result, Status: r.Status,
		ErrorCode: r.ErrorCode, CallerAddress: r.CallerAddress, TokenID: r.TokenID, Seq: r.Seq, Hash: r.Hash}
}

// listSignIns answers the tenant's sign-in log (the subscription names the
// tenant and the scope the permission is checked at). Filters and paging:
// logs_query.go.
func (s *Server) listSignIns(w http.ResponseWriter, req *request) error {
	return s.listAudit(w, req, auditStreamsByName["signins"], actionSignInsRead)
}

// listActivity answers the activity records of writes inside the
// subscription (or inside resourceId), with Azure's activity-log
// permission.
func (s *Server) listActivity(w http.ResponseWriter, req *request) error {
	return s.listAudit(w, req, auditStreamsByName["activity"], actionActivityRead)
}

// listAccessLogs answers the data-access records (secrets and blobs
// touched, or refused) of resources inside the subscription (or inside
// resourceId).
func (s *Server) listAccessLogs(w http.ResponseWriter, req *request) error {
	return s.listAudit(w, req, auditStreamsByName["access"], actionAccessLogsRead)
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
