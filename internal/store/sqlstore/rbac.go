package sqlstore

import (
	"database/sql"
	"fmt"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

const roleDefinitionCols = "id, role_name, description, role_type, assignable_scopes, permissions, created_at, updated_at"

func scanRoleDefinition(sc scanner) (store.RoleDefinition, error) {
	var v store.RoleDefinition
	var scopes, perms string
	var created, updated sql.NullInt64
	if err := sc.Scan(&v.ID, &v.RoleName, &v.Description, &v.RoleType, &scopes, &perms, &created, &updated); err != nil {
		return v, err
	}
	v.CreatedAt, v.UpdatedAt = fromMicros(created), fromMicros(updated)
	if err := fromJSON(scopes, &v.AssignableScopes); err != nil {
		return v, fmt.Errorf("decode assignable scopes: %w", err)
	}
	if err := fromJSON(perms, &v.Permissions); err != nil {
		return v, fmt.Errorf("decode permissions: %w", err)
	}
	return v, nil
}

func (t *tx) PutRoleDefinition(v store.RoleDefinition) error {
	what := "put role definition " + v.ID
	scopes, err := toJSON(v.AssignableScopes)
	if err != nil {
		return fmt.Errorf("%s: encode assignable scopes: %w", what, err)
	}
	perms, err := toJSON(v.Permissions)
	if err != nil {
		return fmt.Errorf("%s: encode permissions: %w", what, err)
	}
	_, err = t.count(what,
		`INSERT INTO role_definitions (id_key, id, role_name, description, role_type, assignable_scopes, permissions,
			created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id_key) DO UPDATE SET
			id = excluded.id, role_name = excluded.role_name, description = excluded.description,
			role_type = excluded.role_type, assignable_scopes = excluded.assignable_scopes,
			permissions = excluded.permissions, created_at = excluded.created_at, updated_at = excluded.updated_at`,
		key(v.ID), v.ID, v.RoleName, v.Description, v.RoleType, scopes, perms, micros(v.CreatedAt), micros(v.UpdatedAt))
	return t.changed(store.GenRBAC, err)
}

func (t *tx) GetRoleDefinition(id string) (store.RoleDefinition, error) {
	return getOne(t, "get role definition "+id, scanRoleDefinition,
		"SELECT "+roleDefinitionCols+" FROM role_definitions WHERE id_key = ?", key(id))
}

// ListRoleDefinitions lists every role definition, ordered by ID.
func (t *tx) ListRoleDefinitions() ([]store.RoleDefinition, error) {
	return list(t, "list role definitions", scanRoleDefinition,
		"SELECT "+roleDefinitionCols+" FROM role_definitions ORDER BY id_key")
}

func (t *tx) DeleteRoleDefinition(id string) error {
	return t.changed(store.GenRBAC, t.affect("delete role definition "+id, "DELETE FROM role_definitions WHERE id_key = ?", key(id)))
}

const roleAssignmentCols = "id, scope, role_definition_id, principal_id, principal_type, description, created_at, created_by"

func scanRoleAssignment(sc scanner) (store.RoleAssignment, error) {
	var v store.RoleAssignment
	var created sql.NullInt64
	err := sc.Scan(&v.ID, &v.Scope, &v.RoleDefinitionID, &v.PrincipalID, &v.PrincipalType, &v.Description,
		&created, &v.CreatedBy)
	v.CreatedAt = fromMicros(created)
	return v, err
}

// CreateRoleAssignment fails with ErrConflict if the id exists or the
// principal already has the role at the scope (scope compared
// case-insensitively, ignoring a trailing slash).
func (t *tx) CreateRoleAssignment(v store.RoleAssignment) error {
	return t.changed(store.GenRBAC, t.insert("create role assignment "+v.ID,
		`INSERT INTO role_assignments (id_key, id, scope_key, scope, role_definition_key, role_definition_id,
			principal_key, principal_id, principal_type, description, created_at, created_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		key(v.ID), v.ID, scopeKey(v.Scope), v.Scope, key(v.RoleDefinitionID), v.RoleDefinitionID,
		key(v.PrincipalID), v.PrincipalID, v.PrincipalType, v.Description, micros(v.CreatedAt), v.CreatedBy))
}

func (t *tx) GetRoleAssignment(id string) (store.RoleAssignment, error) {
	return getOne(t, "get role assignment "+id, scanRoleAssignment,
		"SELECT "+roleAssignmentCols+" FROM role_assignments WHERE id_key = ?", key(id))
}

func (t *tx) DeleteRoleAssignment(id string) error {
	return t.changed(store.GenRBAC, t.affect("delete role assignment "+id, "DELETE FROM role_assignments WHERE id_key = ?", key(id)))
}

// underScope is the condition "scope is s or below it". It is a range on
// scope_key rather than LIKE so that it uses the index on every backend and
// needs no escaping: every key below "/a" sorts in ["/a/", "/a0"), because
// '0' follows '/' in byte order.
func underScope(s string) (string, []any) {
	k := scopeKey(s)
	if k == "/" {
		return "", nil // the root is above everything
	}
	return "(scope_key = ? OR (scope_key >= ? AND scope_key < ?))", []any{k, k + "/", k + "0"}
}

// ListRoleAssignments lists the assignments matching every set field of f,
// ordered by ID.
func (t *tx) ListRoleAssignments(f store.RoleAssignmentFilter) ([]store.RoleAssignment, error) {
	q, args := roleAssignmentQuery(f)
	return list(t, "list role assignments", scanRoleAssignment, q, args...)
}

// roleAssignmentQuery builds ListRoleAssignments' query. Every filter is
// answered from an index (see TestRoleAssignmentQueriesUseIndexes): RBAC
// checks run it on every control-plane request, over 100k+ assignments.
func roleAssignmentQuery(f store.RoleAssignmentFilter) (string, []any) {
	var where []string
	var args []any
	if f.PrincipalID != "" {
		where = append(where, "principal_key = ?")
		args = append(args, key(f.PrincipalID))
	}
	if f.AtScope != "" {
		where = append(where, "scope_key = ?")
		args = append(args, scopeKey(f.AtScope))
	}
	if f.UnderScope != "" {
		if cond, a := underScope(f.UnderScope); cond != "" {
			where = append(where, cond)
			args = append(args, a...)
		}
	}
	if f.AboveScope != "" {
		// The ancestors are few (one per path segment), so an IN list of
		// exact keys beats any prefix trick and uses the scope index.
		ancestors := scopeAncestors(scopeKey(f.AboveScope))
		where = append(where, "scope_key IN ("+placeholders(len(ancestors))+")")
		for _, a := range ancestors {
			args = append(args, a)
		}
	}
	q := "SELECT " + roleAssignmentCols + " FROM role_assignments"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q + " ORDER BY id_key", args
}

func (t *tx) DeleteRoleAssignmentsForPrincipal(principalID string) (int, error) {
	return t.countChanged(store.GenRBAC, "delete role assignments of "+principalID,
		"DELETE FROM role_assignments WHERE principal_key = ?", key(principalID))
}

func (t *tx) DeleteRoleAssignmentsUnderScope(scope string) (int, error) {
	q := "DELETE FROM role_assignments"
	cond, args := underScope(scope)
	if cond != "" {
		q += " WHERE " + cond
	}
	return t.countChanged(store.GenRBAC, "delete role assignments under "+scope, q, args...)
}
