package sqlstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// defaultAuditLimit applies when AuditFilter.Limit is zero or negative.
const defaultAuditLimit = 1000

// auditWhere builds the WHERE clause shared by both logs. principalCol is the
// key column AuditFilter.PrincipalID is matched against. Since is inclusive,
// Until exclusive.
func auditWhere(f store.AuditFilter, principalCol string) (string, []any) {
	var where []string
	var args []any
	if f.TenantID != "" {
		where = append(where, "tenant_key = ?")
		args = append(args, key(f.TenantID))
	}
	if f.PrincipalID != "" {
		where = append(where, principalCol+" = ?")
		args = append(args, key(f.PrincipalID))
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= ?")
		args = append(args, f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		where = append(where, "time < ?")
		args = append(args, f.Until.UnixMicro())
	}
	if f.Result != "" {
		where = append(where, "result = ?")
		args = append(args, f.Result)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	q := ""
	if len(where) > 0 {
		q = " WHERE " + strings.Join(where, " AND ")
	}
	// Newest first; id breaks ties so that pages are stable.
	q += " ORDER BY time DESC, id DESC LIMIT ?"
	return q, append(args, limit)
}

const signInCols = `id, time, tenant_id, principal_id, client_id, resource, result, error_code, reason,
	caller_address, credential_type, token_id`

func scanSignIn(sc scanner) (store.SignIn, error) {
	var v store.SignIn
	var at int64
	err := sc.Scan(&v.ID, &at, &v.TenantID, &v.PrincipalID, &v.ClientID, &v.Resource, &v.Result, &v.ErrorCode,
		&v.Reason, &v.CallerAddress, &v.CredentialType, &v.TokenID)
	v.Time = time.UnixMicro(at).UTC()
	return v, err
}

// AppendSignIns appends records; a duplicate ID is ErrConflict and, as with
// any error, the caller's Write keeps none of the batch.
func (t *tx) AppendSignIns(records []store.SignIn) error {
	for _, v := range records {
		if err := t.insert("append sign-in "+v.ID,
			`INSERT INTO sign_ins (id, time, tenant_key, tenant_id, principal_key, principal_id, client_id, resource,
				result, error_code, reason, caller_address, credential_type, token_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			v.ID, v.Time.UnixMicro(), key(v.TenantID), v.TenantID, key(v.PrincipalID), v.PrincipalID, v.ClientID,
			v.Resource, v.Result, v.ErrorCode, v.Reason, v.CallerAddress, v.CredentialType, v.TokenID); err != nil {
			return err
		}
	}
	return nil
}

// ListSignIns lists sign-ins newest first; PrincipalID filters on the
// sign-in's principal.
func (t *tx) ListSignIns(f store.AuditFilter) ([]store.SignIn, error) {
	where, args := auditWhere(f, "principal_key")
	return list(t, "list sign-ins", scanSignIn, "SELECT "+signInCols+" FROM sign_ins"+where, args...)
}

const activityCols = "id, time, tenant_id, caller_id, operation, resource_id, result, status, message, caller_address"

func scanActivity(sc scanner) (store.Activity, error) {
	var v store.Activity
	var at int64
	err := sc.Scan(&v.ID, &at, &v.TenantID, &v.CallerID, &v.Operation, &v.ResourceID, &v.Result, &v.Status,
		&v.Message, &v.CallerAddress)
	v.Time = time.UnixMicro(at).UTC()
	return v, err
}

// AppendActivity appends records; a duplicate ID is ErrConflict.
func (t *tx) AppendActivity(records []store.Activity) error {
	for _, v := range records {
		if err := t.insert(fmt.Sprintf("append activity %s", v.ID),
			`INSERT INTO activity (id, time, tenant_key, tenant_id, caller_key, caller_id, operation, resource_id,
				result, status, message, caller_address)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			v.ID, v.Time.UnixMicro(), key(v.TenantID), v.TenantID, key(v.CallerID), v.CallerID, v.Operation,
			v.ResourceID, v.Result, v.Status, v.Message, v.CallerAddress); err != nil {
			return err
		}
	}
	return nil
}

// ListActivity lists activity newest first; PrincipalID filters on CallerID.
func (t *tx) ListActivity(f store.AuditFilter) ([]store.Activity, error) {
	where, args := auditWhere(f, "caller_key")
	return list(t, "list activity", scanActivity, "SELECT "+activityCols+" FROM activity"+where, args...)
}

const accessCols = `id, time, tenant_id, caller_id, client_id, service, resource_id, item, action, result, status,
	error_code, caller_address, token_id`

func scanAccess(sc scanner) (store.Access, error) {
	var v store.Access
	var at int64
	err := sc.Scan(&v.ID, &at, &v.TenantID, &v.CallerID, &v.ClientID, &v.Service, &v.ResourceID, &v.Item, &v.Action,
		&v.Result, &v.Status, &v.ErrorCode, &v.CallerAddress, &v.TokenID)
	v.Time = time.UnixMicro(at).UTC()
	return v, err
}

// AppendAccess appends data-access records; a duplicate ID is ErrConflict.
func (t *tx) AppendAccess(records []store.Access) error {
	for _, v := range records {
		if err := t.insert("append access "+v.ID,
			`INSERT INTO access_log (id, time, tenant_key, tenant_id, caller_key, caller_id, client_id, service,
				resource_key, resource_id, item, action, result, status, error_code, caller_address, token_id)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			v.ID, v.Time.UnixMicro(), key(v.TenantID), v.TenantID, key(v.CallerID), v.CallerID, v.ClientID, v.Service,
			key(v.ResourceID), v.ResourceID, v.Item, v.Action, v.Result, v.Status, v.ErrorCode, v.CallerAddress,
			v.TokenID); err != nil {
			return err
		}
	}
	return nil
}

// ListAccess lists data-access records newest first; PrincipalID filters on
// CallerID.
func (t *tx) ListAccess(f store.AuditFilter) ([]store.Access, error) {
	where, args := auditWhere(f, "caller_key")
	return list(t, "list access", scanAccess, "SELECT "+accessCols+" FROM access_log"+where, args...)
}
