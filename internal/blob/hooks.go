package blob

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/blob/content"
	"github.com/signet-platform/signet/internal/store"
)

// AccountType is the ARM type whose hooks AccountHooks implements.
const AccountType = "Microsoft.Storage/storageAccounts"

// AccountHooks are the control plane's hooks for storage accounts
// (arm.TypeHooks, satisfied structurally: this package does not import
// arm). Prepare gives a new account its data-plane record — a name unique
// across the deployment and a fresh content key sealed under the master
// key — and Present reports properties.primaryEndpoints.blob as the
// deployment serves it on every read; Deleted removes the
// account's containers and blobs with it, and the server removes its files
// once that commits.
type AccountHooks struct {
	Server *Server
	// Endpoint returns an account's primary blob endpoint (with a
	// trailing slash), e.g. https://127.0.0.1:8447/{account}/.
	Endpoint func(account string) string
}

// Prepare validates the account name and completes the properties.
func (h *AccountHooks) Prepare(tx store.Tx, res *store.Resource, created bool) (string, error) {
	if !validAccountName(res.Name) {
		return fmt.Sprintf("AccountNameInvalid: %s is not a valid storage account name. Storage account name must be between 3 and 24 characters in length and use numbers and lower-case letters only.", res.Name), nil
	}
	acct, err := tx.GetBlobAccountByResourceID(res.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if acct, err = h.create(tx, res); err != nil || acct.Name == "" {
			if err == nil {
				return fmt.Sprintf("StorageAccountAlreadyTaken: The storage account named %s is already taken.", res.Name), nil
			}
			return "", err
		}
	case err != nil:
		return "", err
	}
	props := map[string]any{}
	if len(res.Properties) > 0 && string(res.Properties) != "null" {
		if err := json.Unmarshal(res.Properties, &props); err != nil {
			return "properties must be a JSON object", nil
		}
	}
	delete(props, "primaryEndpoints") // the deployment's, set by Present on every read
	props["provisioningState"] = "Succeeded"
	props["encryption"] = map[string]any{"keySource": "Microsoft.Storage",
		"services": map[string]any{"blob": map[string]any{"enabled": true, "keyType": "Account"}}}
	props["allowBlobPublicAccess"] = false
	props["allowSharedKeyAccess"] = false
	props["supportsHttpsTrafficOnly"] = true
	raw, err := json.Marshal(props)
	if err != nil {
		return "", err
	}
	res.Properties = raw
	return "", nil
}

// Present reports the account's blob endpoint as this deployment serves it
// now (arm.Presenter): the port can change between runs, so it is not
// stored.
func (h *AccountHooks) Present(res store.Resource, props map[string]json.RawMessage) error {
	raw, err := json.Marshal(map[string]string{"blob": h.Endpoint(res.Name)})
	if err != nil {
		return err
	}
	props["primaryEndpoints"] = raw
	return nil
}

// create records a new account; an empty result means the name is taken.
func (h *AccountHooks) create(tx store.Tx, res *store.Resource) (store.BlobAccount, error) {
	if _, err := tx.GetBlobAccount(res.Name); err == nil {
		return store.BlobAccount{}, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.BlobAccount{}, err
	}
	sub, err := tx.GetSubscription(res.SubscriptionID)
	if err != nil {
		return store.BlobAccount{}, fmt.Errorf("storage account %s: subscription: %w", res.Name, err)
	}
	key := make([]byte, content.KeySize)
	rand.Read(key)
	acct := store.BlobAccount{Name: res.Name, ID: strings.ReplaceAll(uuid.NewString(), "-", ""),
		ResourceID: res.ID, TenantID: sub.TenantID, CreatedAt: h.Server.now()}
	if acct.KeySealed, err = h.Server.Seal.Seal(key, accountKeyAD(acct.ID)); err != nil {
		return store.BlobAccount{}, err
	}
	if err := tx.CreateBlobAccount(acct); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return store.BlobAccount{}, nil
		}
		return store.BlobAccount{}, err
	}
	return acct, nil
}

// Deleted drops the account's records in the control plane's
// transaction, and asks the server to remove its files after the commit.
func (h *AccountHooks) Deleted(tx store.Tx, res store.Resource) error {
	acct, err := tx.GetBlobAccountByResourceID(res.ID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := tx.DeleteBlobAccount(acct.Name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	h.Server.accountDeleted()
	return nil
}
