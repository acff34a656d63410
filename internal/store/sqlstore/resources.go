package sqlstore

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

const resourceCols = `id, subscription_id, resource_group, type, name, location, tags, properties,
	system_assigned_principal_id, created_at, created_by, updated_at, updated_by`

func scanResource(sc scanner) (store.Resource, error) {
	var v store.Resource
	var tags string
	var props sql.NullString
	var created, updated sql.NullInt64
	if err := sc.Scan(&v.ID, &v.SubscriptionID, &v.ResourceGroup, &v.Type, &v.Name, &v.Location, &tags, &props,
		&v.SystemAssignedPrincipalID, &created, &v.CreatedBy, &updated, &v.UpdatedBy); err != nil {
		return v, err
	}
	v.CreatedAt, v.UpdatedAt = fromMicros(created), fromMicros(updated)
	if props.Valid {
		v.Properties = json.RawMessage(props.String)
	}
	if err := fromJSON(tags, &v.Tags); err != nil {
		return v, fmt.Errorf("decode tags: %w", err)
	}
	return v, nil
}

// PutResource creates or replaces a resource, every field included: the
// caller owns CreatedAt/CreatedBy across replacements.
func (t *tx) PutResource(v store.Resource) error {
	what := "put resource " + v.ID
	tags, err := toJSON(v.Tags)
	if err != nil {
		return fmt.Errorf("%s: encode tags: %w", what, err)
	}
	var props sql.NullString
	if v.Properties != nil {
		if !json.Valid(v.Properties) {
			return fmt.Errorf("%s: properties are not valid JSON", what)
		}
		props = sql.NullString{String: string(v.Properties), Valid: true}
	}
	_, err = t.count(what,
		`INSERT INTO resources (id_key, id, subscription_key, subscription_id, rg_key, resource_group, type_key, type,
			name, location, tags, properties, system_assigned_principal_id, created_at, created_by, updated_at, updated_by)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id_key) DO UPDATE SET
			id = excluded.id, subscription_key = excluded.subscription_key, subscription_id = excluded.subscription_id,
			rg_key = excluded.rg_key, resource_group = excluded.resource_group, type_key = excluded.type_key,
			type = excluded.type, name = excluded.name, location = excluded.location, tags = excluded.tags,
			properties = excluded.properties, system_assigned_principal_id = excluded.system_assigned_principal_id,
			created_at = excluded.created_at, created_by = excluded.created_by,
			updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
		key(v.ID), v.ID, key(v.SubscriptionID), v.SubscriptionID, key(v.ResourceGroup), v.ResourceGroup,
		key(v.Type), v.Type, v.Name, v.Location, tags, props, v.SystemAssignedPrincipalID,
		micros(v.CreatedAt), v.CreatedBy, micros(v.UpdatedAt), v.UpdatedBy)
	return err
}

func (t *tx) GetResource(id string) (store.Resource, error) {
	return getOne(t, "get resource "+id, scanResource,
		"SELECT "+resourceCols+" FROM resources WHERE id_key = ?", key(id))
}

// ListResources lists a subscription's resources, optionally narrowed to a
// resource group and a type (both case-insensitive), ordered by ID.
func (t *tx) ListResources(subscriptionID, rg, typ string) ([]store.Resource, error) {
	where := []string{"subscription_key = ?"}
	args := []any{key(subscriptionID)}
	if rg != "" {
		where = append(where, "rg_key = ?")
		args = append(args, key(rg))
	}
	if typ != "" {
		where = append(where, "type_key = ?")
		args = append(args, key(typ))
	}
	return list(t, "list resources", scanResource,
		"SELECT "+resourceCols+" FROM resources WHERE "+strings.Join(where, " AND ")+" ORDER BY id_key", args...)
}

// DeleteResource deletes a resource and its set of user-assigned identities.
func (t *tx) DeleteResource(id string) error {
	what := "delete resource " + id
	if _, err := t.count(what, "DELETE FROM resource_identities WHERE resource_key = ?", key(id)); err != nil {
		return err
	}
	return t.affect(what, "DELETE FROM resources WHERE id_key = ?", key(id))
}

// SetResourceIdentities replaces the identities a resource uses. Ids that
// differ only in case count once (the first spelling is kept).
func (t *tx) SetResourceIdentities(resourceID string, identityResourceIDs []string) error {
	what := "set identities of " + resourceID
	rk := key(resourceID)
	if _, err := t.count(what, "DELETE FROM resource_identities WHERE resource_key = ?", rk); err != nil {
		return err
	}
	for _, id := range identityResourceIDs {
		if _, err := t.count(what,
			`INSERT INTO resource_identities (resource_key, identity_key, resource_id, identity_id)
			VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			rk, key(id), resourceID, id); err != nil {
			return err
		}
	}
	return nil
}

func scanString(sc scanner) (string, error) {
	var s string
	err := sc.Scan(&s)
	return s, err
}

// ListResourceIdentities lists the identity resource ids a resource uses,
// ordered case-insensitively.
func (t *tx) ListResourceIdentities(resourceID string) ([]string, error) {
	return list(t, "list identities of "+resourceID, scanString,
		"SELECT identity_id FROM resource_identities WHERE resource_key = ? ORDER BY identity_key", key(resourceID))
}

// ListIdentityUsers lists the resource ids using an identity, ordered
// case-insensitively.
func (t *tx) ListIdentityUsers(identityResourceID string) ([]string, error) {
	return list(t, "list users of "+identityResourceID, scanString,
		"SELECT resource_id FROM resource_identities WHERE identity_key = ? ORDER BY resource_key", key(identityResourceID))
}
