package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/signet-platform/signet/client"
	"github.com/signet-platform/signet/internal/authz"
)

// devVaultName is the vault `signet dev` makes for its host.
const devVaultName = "signet-dev"

// devSecretName holds a value the README's walk-through reads as the host.
const devSecretName = "greeting"

// bootstrapDevVault makes sure the dev host has a vault whose secrets its
// identity may read (Key Vault Secrets User), holding one secret to read,
// and returns the vault's URL. It goes through the control plane and the
// vault's own API as the admin, as an operator would.
func (r *Running) bootstrapDevVault(ctx context.Context, c *client.Client, hostPrincipalID string) (string, error) {
	v, err := c.GetVault(ctx, r.Dev.ResourceGroup, devVaultName)
	var cerr *client.Error
	if errors.As(err, &cerr) && cerr.StatusCode == http.StatusNotFound {
		v, err = c.PutVault(ctx, r.Dev.ResourceGroup, devVaultName, client.Vault{Location: "local"})
		// Owner manages the vault but, as in Azure, reads and writes no
		// secrets: the admin gets the data role it needs to seed one.
		if err == nil {
			err = grant(ctx, c, v.ID, r.Dev.ObjectID, authz.KeyVaultSecretsOfficerRoleID)
		}
		if err == nil {
			err = r.seedDevSecret(ctx, c, v.Properties.VaultURI)
		}
	}
	if err != nil {
		return "", fmt.Errorf("dev vault: %w", err)
	}
	if err := grant(ctx, c, v.ID, hostPrincipalID, authz.KeyVaultSecretsUserRoleID); err != nil {
		return "", fmt.Errorf("dev vault: %w", err)
	}
	return v.Properties.VaultURI, nil
}

func (r *Running) seedDevSecret(ctx context.Context, c *client.Client, vaultURL string) error {
	vc, err := client.NewVaultClient(vaultURL, c, client.VaultOptions{CAFile: r.CAFile})
	if err != nil {
		return err
	}
	_, err = vc.SetSecret(ctx, devSecretName, client.SetSecretParams{Value: "hello from signet", ContentType: "text/plain"})
	return err
}

// grant assigns role to principal at scope unless it already is.
func grant(ctx context.Context, c *client.Client, scope, principalID, roleID string) error {
	_, err := c.CreateRoleAssignment(ctx, scope, client.RoleAssignmentProperties{
		RoleDefinitionID: c.RoleDefinitionID(roleID),
		PrincipalID:      principalID,
		PrincipalType:    "ServicePrincipal",
		Description:      "signet dev bootstrap",
	})
	var cerr *client.Error
	if errors.As(err, &cerr) && cerr.Code == "RoleAssignmentExists" {
		return nil
	}
	return err
}
