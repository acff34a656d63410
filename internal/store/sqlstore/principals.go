package sqlstore

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/signet-platform/signet/internal/store"
)

const principalCols = "object_id, client_id, tenant_id, kind, display_name, resource_id, enabled, created_at"

func scanPrincipal(sc scanner) (store.Principal, error) {
	var v store.Principal
	var created sql.NullInt64
	err := sc.Scan(&v.ObjectID, &v.ClientID, &v.TenantID, &v.Kind, &v.DisplayName, &v.ResourceID, &v.Enabled, &created)
	v.CreatedAt = fromMicros(created)
	return v, err
}

// CreatePrincipal fails with ErrConflict if the object id is taken, the
// client id is taken in the tenant, or a principal of the same kind already
// has the ResourceID.
func (t *tx) CreatePrincipal(v store.Principal) error {
	return t.changed(store.GenPrincipals, t.insert("create principal "+v.ObjectID,
		`INSERT INTO principals (object_key, object_id, client_key, client_id, tenant_key, tenant_id, kind,
			display_name, resource_key, resource_id, enabled, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		key(v.ObjectID), v.ObjectID, key(v.ClientID), v.ClientID, key(v.TenantID), v.TenantID, string(v.Kind),
		v.DisplayName, key(v.ResourceID), v.ResourceID, v.Enabled, micros(v.CreatedAt)))
}

func (t *tx) UpdatePrincipal(v store.Principal) error {
	what := "update principal " + v.ObjectID
	// Guarded: a changed client or resource id may collide with another
	// principal, and the caller may want to go on after ErrConflict.
	res, err := t.execGuarded(
		`UPDATE principals SET object_id = ?, client_key = ?, client_id = ?, tenant_key = ?, tenant_id = ?, kind = ?,
			display_name = ?, resource_key = ?, resource_id = ?, enabled = ?, created_at = ?
		WHERE object_key = ?`,
		v.ObjectID, key(v.ClientID), v.ClientID, key(v.TenantID), v.TenantID, string(v.Kind),
		v.DisplayName, key(v.ResourceID), v.ResourceID, v.Enabled, micros(v.CreatedAt), key(v.ObjectID))
	if err != nil {
		return mapErr(err, what)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return t.BumpGeneration(store.GenPrincipals)
}

func (t *tx) GetPrincipal(objectID string) (store.Principal, error) {
	return getOne(t, "get principal "+objectID, scanPrincipal,
		"SELECT "+principalCols+" FROM principals WHERE object_key = ?", key(objectID))
}

func (t *tx) GetPrincipalByClientID(tenantID, clientID string) (store.Principal, error) {
	what := "get principal by client id " + clientID
	if clientID == "" {
		return store.Principal{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return getOne(t, what, scanPrincipal,
		"SELECT "+principalCols+" FROM principals WHERE tenant_key = ? AND client_key = ?", key(tenantID), key(clientID))
}

func (t *tx) GetPrincipalByResourceID(kind store.PrincipalKind, id string) (store.Principal, error) {
	what := "get " + string(kind) + " principal of " + id
	if id == "" {
		// "" means "no resource": it must never match a plain service principal.
		return store.Principal{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return getOne(t, what, scanPrincipal,
		"SELECT "+principalCols+" FROM principals WHERE kind = ? AND resource_key = ?", string(kind), key(id))
}

// ListPrincipals lists a tenant's principals, ordered by object id.
func (t *tx) ListPrincipals(tenantID string) ([]store.Principal, error) {
	return list(t, "list principals", scanPrincipal,
		"SELECT "+principalCols+" FROM principals WHERE tenant_key = ? ORDER BY object_key", key(tenantID))
}

// DeletePrincipal deletes a principal and its credentials. Role assignments
// are left to DeleteRoleAssignmentsForPrincipal, as in Azure, where they
// outlive the principal until removed.
func (t *tx) DeletePrincipal(objectID string) error {
	what := "delete principal " + objectID
	// Explicit rather than relying on ON DELETE CASCADE alone, so that a
	// connection opened without foreign_keys still cannot orphan a secret.
	if _, err := t.count(what, "DELETE FROM credentials WHERE principal_key = ?", key(objectID)); err != nil {
		return err
	}
	return t.changed(store.GenPrincipals, t.affect(what, "DELETE FROM principals WHERE object_key = ?", key(objectID)))
}

const credentialCols = `id, principal_id, kind, secret_hash, hint, certificate_der, thumbprint_sha256,
	not_before, not_after, created_at`

func scanCredential(sc scanner) (store.Credential, error) {
	var v store.Credential
	var nb, na, created sql.NullInt64
	err := sc.Scan(&v.ID, &v.PrincipalID, &v.Kind, &v.SecretHash, &v.Hint, &v.CertificateDER, &v.ThumbprintSHA256,
		&nb, &na, &created)
	v.NotBefore, v.NotAfter, v.CreatedAt = fromMicros(nb), fromMicros(na), fromMicros(created)
	return v, err
}

// CreateCredential fails with ErrNotFound if the principal does not exist and
// with ErrConflict if the id or the certificate thumbprint is taken.
func (t *tx) CreateCredential(v store.Credential) error {
	what := "create credential " + v.ID
	var one int
	err := t.queryRow("SELECT 1 FROM principals WHERE object_key = ?", key(v.PrincipalID)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: principal %s: %w", what, v.PrincipalID, store.ErrNotFound)
	}
	if err != nil {
		return mapErr(err, what)
	}
	return t.changed(store.GenPrincipals, t.insert(what,
		`INSERT INTO credentials (id_key, id, principal_key, principal_id, kind, secret_hash, hint, certificate_der,
			thumbprint_sha256, not_before, not_after, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		key(v.ID), v.ID, key(v.PrincipalID), v.PrincipalID, string(v.Kind), blob(v.SecretHash), v.Hint,
		blob(v.CertificateDER), blob(v.ThumbprintSHA256), micros(v.NotBefore), micros(v.NotAfter), micros(v.CreatedAt)))
}

// ListCredentials lists a principal's credentials, oldest first.
func (t *tx) ListCredentials(principalID string) ([]store.Credential, error) {
	return list(t, "list credentials of "+principalID, scanCredential,
		"SELECT "+credentialCols+" FROM credentials WHERE principal_key = ? ORDER BY created_at, id_key", key(principalID))
}

func (t *tx) GetCredentialByThumbprint(sha256Thumbprint []byte) (store.Credential, error) {
	what := "get credential by thumbprint"
	if len(sha256Thumbprint) == 0 {
		return store.Credential{}, fmt.Errorf("%s: %w", what, store.ErrNotFound)
	}
	return getOne(t, what, scanCredential,
		"SELECT "+credentialCols+" FROM credentials WHERE thumbprint_sha256 = ? AND kind = ?",
		sha256Thumbprint, string(store.CredentialCertificate))
}

func (t *tx) DeleteCredential(id string) error {
	return t.changed(store.GenPrincipals, t.affect("delete credential "+id, "DELETE FROM credentials WHERE id_key = ?", key(id)))
}
