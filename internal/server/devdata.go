package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"net/http"
	"time"

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

// devStorageAccount is the storage account `signet dev` makes for its host.
const devStorageAccount = "signetdev"

// bootstrapDevStorage makes sure the dev host has a storage account whose
// blobs its identity may read (Storage Blob Data Reader), holding
// images/sample.jpg, and returns the account's blob endpoint.
func (r *Running) bootstrapDevStorage(ctx context.Context, c *client.Client, hostPrincipalID string) (string, error) {
	id, err := c.ResourceID(r.Dev.ResourceGroup, "Microsoft.Storage/storageAccounts", devStorageAccount)
	if err != nil {
		return "", err
	}
	endpoint := r.BlobURL + "/" + devStorageAccount
	_, err = c.GetResource(ctx, id)
	var cerr *client.Error
	if errors.As(err, &cerr) && cerr.StatusCode == http.StatusNotFound {
		_, err = c.PutResource(ctx, id, client.Resource{Location: "local"})
		// As in Azure, Owner reads and writes no blobs: the admin gets the
		// data role it needs to seed one.
		if err == nil {
			err = grant(ctx, c, id, r.Dev.ObjectID, authz.StorageBlobDataContributorRoleID)
		}
		if err == nil {
			err = r.seedDevBlob(ctx, c, endpoint)
		}
	}
	if err != nil {
		return "", fmt.Errorf("dev storage account: %w", err)
	}
	if err := grant(ctx, c, id, hostPrincipalID, authz.StorageBlobDataReaderRoleID); err != nil {
		return "", fmt.Errorf("dev storage account: %w", err)
	}
	return endpoint, nil
}

// seedDevBlob creates the images container and uploads sample.jpg into it
// through the Blob API, as the admin.
func (r *Running) seedDevBlob(ctx context.Context, c *client.Client, endpoint string) error {
	tok, err := c.Token(ctx, "https://storage.azure.com")
	if err != nil {
		return err
	}
	httpc, err := caClient(r.CAFile)
	if err != nil {
		return err
	}
	var img bytes.Buffer
	if err := jpeg.Encode(&img, sampleImage(), &jpeg.Options{Quality: 85}); err != nil {
		return err
	}
	for _, step := range []struct {
		url  string
		body []byte
		hdr  map[string]string
	}{
		{endpoint + "/images?restype=container", nil, nil},
		{endpoint + "/images/sample.jpg", img.Bytes(), map[string]string{"x-ms-blob-type": "BlockBlob", "x-ms-blob-content-type": "image/jpeg"}},
	} {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, step.url, bytes.NewReader(step.body))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		req.Header.Set("x-ms-version", "2026-02-06")
		for k, v := range step.hdr {
			req.Header.Set(k, v)
		}
		resp, err := httpc.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
			return fmt.Errorf("PUT %s: %s", step.url, resp.Status)
		}
	}
	return nil
}

// sampleImage is a small gradient: something real to download.
func sampleImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 64; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{R: uint8(x * 4), G: uint8(y * 4), B: 160, A: 255})
		}
	}
	return img
}

// caClient is an HTTPS client trusting only the PEM bundle at caFile.
func caClient(caFile string) (*http.Client, error) {
	cfg, err := client.TLSConfig(caFile)
	if err != nil {
		return nil, err
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: 30 * time.Second}, nil
}
