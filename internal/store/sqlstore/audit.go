package sqlstore

import (
	"database/sql"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// defaultAuditLimit applies when AuditFilter.Limit is zero or negative.
const defaultAuditLimit = 1000

// auditTable describes one stream's table for listing: which columns each
// AuditFilter field matches ("" when the stream's records have no such
// field, so a non-empty filter value matches nothing).
type auditTable struct {
	principalCol string
	// resourceCol is matched exactly when resourceScope is false (the
	// sign-in's requested resource), or as an ARM scope prefix.
	resourceCol   string
	resourceScope bool
	operationCol  string
	tokenCol      string
}

var (
	signInTable   = auditTable{principalCol: "principal_key", resourceCol: "resource", tokenCol: "token_id"}
	activityTable = auditTable{principalCol: "caller_key", resourceCol: "resource_key", resourceScope: true, operationCol: "operation"}
)

// auditWhere builds the WHERE, ORDER BY and LIMIT shared by the logs. Since
// is inclusive, Until exclusive; the order is newest first by (time, id),
// which every filter's index ends in, and After continues it by keyset.
func auditWhere(f store.AuditFilter, tab auditTable) (string, []any) {
	var where []string
	var args []any
	cond := func(c string, a ...any) {
		where = append(where, c)
		args = append(args, a...)
	}
	if f.TenantID != "" {
		// Principal, token and resource filters select far fewer rows than
		// the tenant, but without statistics SQLite cannot tell the tenant
		// index from theirs; "|| ''" keeps it off the tenant index then.
		// PostgreSQL plans by statistics and only sees a filter.
		if f.PrincipalID != "" || f.TokenID != "" || f.ResourceID != "" {
			cond("tenant_key || '' = ?", key(f.TenantID))
		} else {
			cond("tenant_key = ?", key(f.TenantID))
		}
	}
	if f.PrincipalID != "" {
		cond(tab.principalCol+" = ?", key(f.PrincipalID))
	}
	if f.ResourceID != "" {
		switch k := scopeKey(f.ResourceID); {
		case !tab.resourceScope:
			cond(tab.resourceCol+" = ?", f.ResourceID)
		case k == "/":
			// Everything is below the root.
		default:
			// At the scope, or below it: the byte range [k, k+"0") ("0" is
			// the byte after "/") is what the index seeks; within it, keys
			// like k+"-x" are siblings, not below k.
			c := tab.resourceCol
			cond(c+" >= ? AND "+c+" < ? AND ("+c+" = ? OR "+c+" >= ?)", k, k+"0", k, k+"/")
		}
	}
	if f.Operation != "" {
		if tab.operationCol == "" {
			cond("1 = 0")
		} else {
			cond("lower("+tab.operationCol+") = ?", strings.ToLower(f.Operation))
		}
	}
	if f.TokenID != "" {
		if tab.tokenCol == "" {
			cond("1 = 0")
		} else {
			cond(tab.tokenCol+" = ?", f.TokenID)
		}
	}
	if !f.Since.IsZero() {
		cond("time >= ?", f.Since.UnixMicro())
	}
	if !f.Until.IsZero() {
		cond("time < ?", f.Until.UnixMicro())
	}
	if f.Result != "" {
		cond("result = ?", f.Result)
	}
	if !f.After.IsZero() {
		// The plain bound on time is what the index seeks; the row value
		// then skips the records of that microsecond already listed.
		at := f.After.Time.UnixMicro()
		cond("time <= ? AND (time, id) < (?, ?)", at, at, f.After.ID)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	q := ""
	if len(where) > 0 {
		q = " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC LIMIT ?"
	return q, append(args, limit)
}

// chainCols are the columns every log carries for its hash chain. seq is
// NULL only in a row written behind the store's back.
const chainCols = "seq, prev_hash, hash"

func chainDest(seq *sql.NullInt64, prev, hash *[]byte) []any { return []any{seq, prev, hash} }

const signInCols = `id, time, tenant_id, principal_id, client_id, resource, result, error_code, reason,
	caller_address, credential_type, token_id`

func signInFields(v store.SignIn) []any {
	return []any{v.ID, v.Time.UnixMicro(), v.TenantID, v.PrincipalID, v.ClientID, v.Resource, v.Result, v.ErrorCode,
		v.Reason, v.CallerAddress, v.CredentialType, v.TokenID}
}

func scanSignIn(sc scanner, extra ...any) (store.SignIn, error) {
	var v store.SignIn
	var at int64
	var seq sql.NullInt64
	dest := append([]any{&v.ID, &at, &v.TenantID, &v.PrincipalID, &v.ClientID, &v.Resource, &v.Result, &v.ErrorCode,
		&v.Reason, &v.CallerAddress, &v.CredentialType, &v.TokenID}, chainDest(&seq, &v.PrevHash, &v.Hash)...)
	err := sc.Scan(append(dest, extra...)...)
	v.Time, v.Seq = time.UnixMicro(at).UTC(), seq.Int64
	return v, err
}

var signInChain = withInserts(chainStream[store.SignIn]{
	stream: store.StreamSignIns, table: "sign_ins", cols: signInCols,
	keyCols: []string{"tenant_key", "principal_key"},
	fields:  signInFields,
	at:      func(v store.SignIn) time.Time { return v.Time },
	keys:    func(v store.SignIn) []string { return []string{key(v.TenantID), key(v.PrincipalID)} },
	scan:    scanSignIn,
	link:    func(v *store.SignIn) (*int64, *[]byte, *[]byte, string) { return &v.Seq, &v.PrevHash, &v.Hash, v.ID },
})

// AppendSignIns appends records to the sign-in chain; a duplicate ID is
// ErrConflict and, as with any error, the caller's Write keeps none of the
// batch.
func (t *tx) AppendSignIns(records []store.SignIn) error {
	return appendChained(t, signInChain, records)
}

// ListSignIns lists sign-ins newest first; PrincipalID filters on the
// sign-in's principal.
func (t *tx) ListSignIns(f store.AuditFilter) ([]store.SignIn, error) {
	where, args := auditWhere(f, signInTable)
	return list(t, "list sign-ins", func(sc scanner) (store.SignIn, error) { return scanSignIn(sc) },
		"SELECT "+signInCols+", "+chainCols+" FROM sign_ins"+where, args...)
}

const activityCols = "id, time, tenant_id, caller_id, operation, resource_id, result, status, message, caller_address"

func activityFields(v store.Activity) []any {
	return []any{v.ID, v.Time.UnixMicro(), v.TenantID, v.CallerID, v.Operation, v.ResourceID, v.Result, int64(v.Status),
		v.Message, v.CallerAddress}
}

func scanActivity(sc scanner, extra ...any) (store.Activity, error) {
	var v store.Activity
	var at int64
	var seq sql.NullInt64
	dest := append([]any{&v.ID, &at, &v.TenantID, &v.CallerID, &v.Operation, &v.ResourceID, &v.Result, &v.Status,
		&v.Message, &v.CallerAddress}, chainDest(&seq, &v.PrevHash, &v.Hash)...)
	err := sc.Scan(append(dest, extra...)...)
	v.Time, v.Seq = time.UnixMicro(at).UTC(), seq.Int64
	return v, err
}

var activityChain = withInserts(chainStream[store.Activity]{
	stream: store.StreamActivity, table: "activity", cols: activityCols,
	keyCols: []string{"tenant_key", "caller_key", "resource_key"},
	fields:  activityFields,
	at:      func(v store.Activity) time.Time { return v.Time },
	keys: func(v store.Activity) []string {
		return []string{key(v.TenantID), key(v.CallerID), key(v.ResourceID)}
	},
	scan: scanActivity,
	link: func(v *store.Activity) (*int64, *[]byte, *[]byte, string) { return &v.Seq, &v.PrevHash, &v.Hash, v.ID },
})

// AppendActivity appends records to the activity chain; a duplicate ID is
// ErrConflict.
func (t *tx) AppendActivity(records []store.Activity) error {
	return appendChained(t, activityChain, records)
}

// ListActivity lists activity newest first; PrincipalID filters on CallerID.
func (t *tx) ListActivity(f store.AuditFilter) ([]store.Activity, error) {
	where, args := auditWhere(f, activityTable)
	return list(t, "list activity", func(sc scanner) (store.Activity, error) { return scanActivity(sc) },
		"SELECT "+activityCols+", "+chainCols+" FROM activity"+where, args...)
}

const accessCols = `id, time, tenant_id, caller_id, client_id, service, resource_id, item, action, result, status,
	error_code, caller_address, token_id`

func accessFields(v store.Access) []any {
	return []any{v.ID, v.Time.UnixMicro(), v.TenantID, v.CallerID, v.ClientID, v.Service, v.ResourceID, v.Item, v.Action,
		v.Result, int64(v.Status), v.ErrorCode, v.CallerAddress, v.TokenID}
}

func scanAccess(sc scanner, extra ...any) (store.Access, error) {
	var v store.Access
	var at int64
	var seq sql.NullInt64
	dest := append([]any{&v.ID, &at, &v.TenantID, &v.CallerID, &v.ClientID, &v.Service, &v.ResourceID, &v.Item,
		&v.Action, &v.Result, &v.Status, &v.ErrorCode, &v.CallerAddress, &v.TokenID},
		chainDest(&seq, &v.PrevHash, &v.Hash)...)
	err := sc.Scan(append(dest, extra...)...)
	v.Time, v.Seq = time.UnixMicro(at).UTC(), seq.Int64
	return v, err
}

// accessChain is the access log's hash chain, and the row layout of
// access_log, where migration 0010 found the records it moved into pages
// (access.go).
var accessChain = withInserts(chainStream[store.Access]{
	stream: store.StreamAccess, table: "access_log", cols: accessCols,
	keyCols: []string{"tenant_key", "caller_key", "resource_key"},
	fields:  accessFields,
	at:      func(v store.Access) time.Time { return v.Time },
	keys: func(v store.Access) []string {
		return []string{key(v.TenantID), key(v.CallerID), key(v.ResourceID)}
	},
	scan: scanAccess,
	link: func(v *store.Access) (*int64, *[]byte, *[]byte, string) { return &v.Seq, &v.PrevHash, &v.Hash, v.ID },
})
