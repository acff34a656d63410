package secrets

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

// VaultType is the ARM resource type whose hooks Server provides (the key
// of the control plane's TypeHooks map is its lower-cased form).
const VaultType = "Microsoft.KeyVault/vaults"

const (
	defaultRetentionDays = 90
	minRetentionDays     = 7
	maxRetentionDays     = 90
)

// Prepare validates and completes a vault's properties before the control
// plane stores it, and keeps the data plane's vault record in step, in the
// same transaction. It is the control plane's TypeHooks.Prepare.
//
// Filled in: tenantId, enableRbacAuthorization (always true: RBAC
// is the only permission model here), enableSoftDelete (always true),
// softDeleteRetentionInDays (7–90, default 90, fixed once the vault exists,
// as in Azure) and enablePurgeProtection (once true, never false again).
// vaultUri is not stored: Present reports it on every read.
func (s *Server) Prepare(tx store.Tx, res *store.Resource, created bool) (invalid string, err error) {
	if !validVaultName(res.Name) {
		return "The vault name '" + truncate(res.Name, 64) + "' is invalid: a vault name is 3 to 24 letters, digits and dashes, starts with a letter, ends with a letter or digit and has no consecutive dashes.", nil
	}
	props := map[string]any{}
	if len(res.Properties) > 0 && string(res.Properties) != "null" {
		if err := json.Unmarshal(res.Properties, &props); err != nil {
			return "The vault's properties must be a JSON object.", nil
		}
	}
	if v, ok := props["enableRbacAuthorization"]; ok && v != true && v != nil {
		return "Signet vaults use the Azure RBAC permission model only: enableRbacAuthorization must be true.", nil
	}
	if v, ok := props["enableSoftDelete"]; ok && v != true && v != nil {
		return "Soft delete cannot be turned off: enableSoftDelete must be true.", nil
	}
	retention := defaultRetentionDays
	if v, ok := props["softDeleteRetentionInDays"]; ok && v != nil {
		f, isNum := v.(float64)
		if !isNum || f != float64(int(f)) || f < minRetentionDays || f > maxRetentionDays {
			return fmt.Sprintf("softDeleteRetentionInDays must be an integer from %d to %d.", minRetentionDays, maxRetentionDays), nil
		}
		retention = int(f)
	}
	purgeProtection := false
	if v, ok := props["enablePurgeProtection"]; ok && v != nil {
		b, isBool := v.(bool)
		if !isBool {
			return "enablePurgeProtection must be a boolean.", nil
		}
		purgeProtection = b
	}
	sub, err := tx.GetSubscription(res.SubscriptionID)
	if err != nil {
		return "", fmt.Errorf("vault %s: subscription: %w", res.Name, err)
	}
	name := strings.ToLower(res.Name)

	if created {
		sealed, err := newDataKey(s.Master, name)
		if err != nil {
			return "", fmt.Errorf("vault %s: data key: %w", name, err)
		}
		err = tx.CreateVault(store.Vault{Name: name, ResourceID: res.ID, TenantID: sub.TenantID, DataKeySealed: sealed,
			RetentionDays: retention, PurgeProtection: purgeProtection, CreatedAt: res.CreatedAt})
		if errors.Is(err, store.ErrConflict) {
			return "The vault name '" + name + "' is already in use. Vault names are global: choose another.", nil
		}
		if err != nil {
			return "", err
		}
	} else {
		v, err := tx.GetVault(name)
		if err != nil {
			return "", fmt.Errorf("vault %s: %w", name, err)
		}
		if _, given := props["softDeleteRetentionInDays"]; given && retention != v.RetentionDays {
			return "softDeleteRetentionInDays cannot be changed once a vault exists.", nil
		}
		retention = v.RetentionDays
		if v.PurgeProtection && !purgeProtection {
			if _, given := props["enablePurgeProtection"]; given {
				return "Purge protection cannot be turned off once enabled.", nil
			}
			purgeProtection = true
		}
		v.RetentionDays, v.PurgeProtection = retention, purgeProtection
		if err := tx.UpdateVault(v); err != nil {
			return "", err
		}
	}

	delete(props, "vaultUri") // the deployment's, set by Present on every read
	props["tenantId"] = sub.TenantID
	props["enableRbacAuthorization"] = true
	props["enableSoftDelete"] = true
	props["softDeleteRetentionInDays"] = retention
	if purgeProtection {
		props["enablePurgeProtection"] = true
	} else {
		delete(props, "enablePurgeProtection") // Azure reports null until it is on
	}
	if _, ok := props["sku"]; !ok {
		props["sku"] = map[string]string{"family": "A", "name": "standard"}
	}
	b, err := json.Marshal(props)
	if err != nil {
		return "", err
	}
	res.Properties = b
	return "", nil
}

// Present reports the vault's URI as this deployment serves it now
// (arm.Presenter): the data plane's port can change between runs.
func (s *Server) Present(res store.Resource, props map[string]json.RawMessage) error {
	raw, err := json.Marshal(s.VaultURL(res.Name))
	if err != nil {
		return err
	}
	props["vaultUri"] = raw
	return nil
}

// Deleted removes the vault's data-plane record and, with it (the store
// cascades), every secret and version in it. It is the control plane's
// TypeHooks.Deleted.
func (s *Server) Deleted(tx store.Tx, res store.Resource) error {
	v, err := tx.GetVault(res.Name)
	if errors.Is(err, store.ErrNotFound) || err == nil && !strings.EqualFold(v.ResourceID, res.ID) {
		return nil // not this resource's vault
	}
	if err != nil {
		return err
	}
	return tx.DeleteVault(res.Name)
}
