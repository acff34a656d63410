package client

import (
	"context"
	"encoding/json"
	"net/http"
)

// TypeKeyVault is the ARM type of key vaults.
const TypeKeyVault = "Microsoft.KeyVault/vaults"

// APIVersionKeyVaultManagement is sent to Microsoft.KeyVault on the
// control plane.
const APIVersionKeyVaultManagement = "2023-07-01"

// Vault is a Microsoft.KeyVault/vaults resource.
type Vault struct {
	ID         string            `json:"id,omitempty"`
	Name       string            `json:"name,omitempty"`
	Type       string            `json:"type,omitempty"`
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags,omitempty"`
	Properties VaultProperties   `json:"properties"`
	Raw        json.RawMessage   `json:"-"`
}

func (v *Vault) UnmarshalJSON(b []byte) error {
	type plain Vault
	return unmarshalKeepRaw(b, (*plain)(v), &v.Raw)
}

// VaultProperties are a vault's properties. On input only the retention
// and purge protection matter; the server fills in the rest (vaultUri,
// tenantId, RBAC authorization and soft delete, which are always on).
type VaultProperties struct {
	VaultURI                  string    `json:"vaultUri,omitempty"`
	TenantID                  string    `json:"tenantId,omitempty"`
	SKU                       *VaultSKU `json:"sku,omitempty"`
	EnableRbacAuthorization   *bool     `json:"enableRbacAuthorization,omitempty"`
	EnableSoftDelete          *bool     `json:"enableSoftDelete,omitempty"`
	SoftDeleteRetentionInDays int       `json:"softDeleteRetentionInDays,omitempty"`
	// EnablePurgeProtection is null until turned on, and once on it stays on.
	EnablePurgeProtection *bool `json:"enablePurgeProtection,omitempty"`
}

// VaultSKU is a vault's pricing tier, kept for Azure's shape.
type VaultSKU struct {
	Family string `json:"family"`
	Name   string `json:"name"`
}

// VaultID is the resource id of the vault name in group.
func (c *Client) VaultID(group, name string) (string, error) {
	return c.ResourceID(group, TypeKeyVault, name)
}

// PutVault creates a vault, or updates one (retention cannot change, purge
// protection cannot be turned off).
func (c *Client) PutVault(ctx context.Context, group, name string, body Vault) (Vault, error) {
	id, err := c.VaultID(group, name)
	if err != nil {
		return Vault{}, err
	}
	var out Vault
	err = c.do(ctx, call{method: http.MethodPut, path: id, apiVersion: APIVersionKeyVaultManagement, body: body}, &out)
	return out, err
}

// GetVault reads a vault.
func (c *Client) GetVault(ctx context.Context, group, name string) (Vault, error) {
	id, err := c.VaultID(group, name)
	if err != nil {
		return Vault{}, err
	}
	var out Vault
	err = c.do(ctx, call{method: http.MethodGet, path: id, apiVersion: APIVersionKeyVaultManagement}, &out)
	return out, err
}

// ListVaults lists the vaults in group, or in the whole subscription when
// group is "".
func (c *Client) ListVaults(ctx context.Context, group string) ([]Vault, error) {
	scope, err := c.subscriptionPath()
	if group != "" {
		scope, err = c.groupPath(group)
	}
	if err != nil {
		return nil, err
	}
	return list[Vault](ctx, c, call{path: scope + "/providers/" + TypeKeyVault, apiVersion: APIVersionKeyVaultManagement})
}

// DeleteVault deletes a vault and every secret in it; Signet does not keep
// deleted vaults.
func (c *Client) DeleteVault(ctx context.Context, group, name string) error {
	id, err := c.VaultID(group, name)
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: id, apiVersion: APIVersionKeyVaultManagement}, nil)
}
