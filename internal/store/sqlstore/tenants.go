package sqlstore

import (
	"database/sql"
	"fmt"

	"github.com/signet-platform/signet/internal/store"
)

const tenantCols = "id, display_name, created_at"

func scanTenant(sc scanner) (store.Tenant, error) {
	var v store.Tenant
	var created sql.NullInt64
	err := sc.Scan(&v.ID, &v.DisplayName, &created)
	v.CreatedAt = fromMicros(created)
	return v, err
}

func (t *tx) CreateTenant(v store.Tenant) error {
	return t.insert("create tenant "+v.ID,
		"INSERT INTO tenants (id_key, id, display_name, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
		key(v.ID), v.ID, v.DisplayName, micros(v.CreatedAt))
}

func (t *tx) GetTenant(id string) (store.Tenant, error) {
	return getOne(t, "get tenant "+id, scanTenant,
		"SELECT "+tenantCols+" FROM tenants WHERE id_key = ?", key(id))
}

// ListTenants lists every tenant, ordered by ID.
func (t *tx) ListTenants() ([]store.Tenant, error) {
	return list(t, "list tenants", scanTenant,
		"SELECT "+tenantCols+" FROM tenants ORDER BY id_key")
}

const subscriptionCols = "id, tenant_id, display_name, state, created_at"

func scanSubscription(sc scanner) (store.Subscription, error) {
	var v store.Subscription
	var created sql.NullInt64
	err := sc.Scan(&v.ID, &v.TenantID, &v.DisplayName, &v.State, &created)
	v.CreatedAt = fromMicros(created)
	return v, err
}

func (t *tx) CreateSubscription(v store.Subscription) error {
	return t.insert("create subscription "+v.ID,
		`INSERT INTO subscriptions (id_key, id, tenant_key, tenant_id, display_name, state, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		key(v.ID), v.ID, key(v.TenantID), v.TenantID, v.DisplayName, v.State, micros(v.CreatedAt))
}

func (t *tx) GetSubscription(id string) (store.Subscription, error) {
	return getOne(t, "get subscription "+id, scanSubscription,
		"SELECT "+subscriptionCols+" FROM subscriptions WHERE id_key = ?", key(id))
}

// ListSubscriptions lists a tenant's subscriptions, ordered by ID.
func (t *tx) ListSubscriptions(tenantID string) ([]store.Subscription, error) {
	return list(t, "list subscriptions", scanSubscription,
		"SELECT "+subscriptionCols+" FROM subscriptions WHERE tenant_key = ? ORDER BY id_key", key(tenantID))
}

const resourceGroupCols = "subscription_id, name, location, tags, created_at"

func scanResourceGroup(sc scanner) (store.ResourceGroup, error) {
	var v store.ResourceGroup
	var tags string
	var created sql.NullInt64
	if err := sc.Scan(&v.SubscriptionID, &v.Name, &v.Location, &tags, &created); err != nil {
		return v, err
	}
	v.CreatedAt = fromMicros(created)
	if err := fromJSON(tags, &v.Tags); err != nil {
		return v, fmt.Errorf("decode tags: %w", err)
	}
	return v, nil
}

func (t *tx) PutResourceGroup(v store.ResourceGroup) error {
	what := "put resource group " + v.Name
	tags, err := toJSON(v.Tags)
	if err != nil {
		return fmt.Errorf("%s: encode tags: %w", what, err)
	}
	_, err = t.count(what,
		`INSERT INTO resource_groups (subscription_key, name_key, subscription_id, name, location, tags, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (subscription_key, name_key) DO UPDATE SET
			subscription_id = excluded.subscription_id, name = excluded.name, location = excluded.location,
			tags = excluded.tags, created_at = excluded.created_at`,
		key(v.SubscriptionID), key(v.Name), v.SubscriptionID, v.Name, v.Location, tags, micros(v.CreatedAt))
	return err
}

func (t *tx) GetResourceGroup(subscriptionID, name string) (store.ResourceGroup, error) {
	return getOne(t, "get resource group "+name, scanResourceGroup,
		"SELECT "+resourceGroupCols+" FROM resource_groups WHERE subscription_key = ? AND name_key = ?",
		key(subscriptionID), key(name))
}

// ListResourceGroups lists a subscription's resource groups, ordered by name
// (case-insensitively).
func (t *tx) ListResourceGroups(subscriptionID string) ([]store.ResourceGroup, error) {
	return list(t, "list resource groups", scanResourceGroup,
		"SELECT "+resourceGroupCols+" FROM resource_groups WHERE subscription_key = ? ORDER BY name_key",
		key(subscriptionID))
}

// DeleteResourceGroup deletes the group record only; deleting what is in it
// is the caller's decision.
func (t *tx) DeleteResourceGroup(subscriptionID, name string) error {
	return t.affect("delete resource group "+name,
		"DELETE FROM resource_groups WHERE subscription_key = ? AND name_key = ?",
		key(subscriptionID), key(name))
}
