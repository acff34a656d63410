package e2e

import (
	"bytes"
	"crypto/md5"
	"io"
	"net/http"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/google/uuid"
)

const (
	storageType = "Microsoft.Storage/storageAccounts"
	storageAPI  = "2023-05-01"
)

type storageAccount struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Location   string `json:"location"`
	Properties struct {
		PrimaryEndpoints struct {
			Blob string `json:"blob"`
		} `json:"primaryEndpoints"`
	} `json:"properties"`
}

func (s *signet) storagePath(name string) string {
	return "/subscriptions/" + s.Dev.SubscriptionID + "/resourceGroups/" + s.Dev.ResourceGroup + "/providers/" + storageType + "/" + name
}

// createStorageAccount creates an account through the control plane, as
// `az storage account create` would, and returns it.
func (s *signet) createStorageAccount(t testing.TB, name string) storageAccount {
	t.Helper()
	var out storageAccount
	if _, err := armDo(ctxT(t), t, s, s.adminCredential(t), http.MethodPut, s.storagePath(name), storageAPI,
		map[string]any{"location": "local", "kind": "StorageV2"}, &out); err != nil {
		t.Fatalf("PUT storage account %s: %v", name, err)
	}
	if out.Properties.PrimaryEndpoints.Blob == "" {
		t.Fatalf("storage account %s has no primaryEndpoints.blob", name)
	}
	return out
}

// getStorageAccount reads an account through the control plane.
func (s *signet) getStorageAccount(t testing.TB, name string) storageAccount {
	t.Helper()
	var out storageAccount
	if _, err := armDo(ctxT(t), t, s, s.adminCredential(t), http.MethodGet, s.storagePath(name), storageAPI, nil, &out); err != nil {
		t.Fatalf("GET storage account %s: %v", name, err)
	}
	return out
}

// grant assigns a built-in role to a principal at a scope.
func (s *signet) grant(t testing.TB, principalID, roleID, scope string) {
	t.Helper()
	ra, err := armauthorization.NewRoleAssignmentsClient(s.Dev.SubscriptionID, s.adminCredential(t), s.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = ra.Create(ctxT(t), scope, uuid.NewString(), armauthorization.RoleAssignmentCreateParameters{
		Properties: &armauthorization.RoleAssignmentProperties{
			RoleDefinitionID: to.Ptr("/subscriptions/" + s.Dev.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + roleID),
			PrincipalID:      to.Ptr(principalID),
			PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
		}}, nil)
	if err != nil {
		t.Fatalf("granting role %s at %s: %v", roleID, scope, err)
	}
}

// blobOptions points the official azblob client at Signet: a transport
// trusting the dev CA, no retries (a test sees the first answer).
func (s *signet) blobOptions() *azblob.ClientOptions {
	return &azblob.ClientOptions{ClientOptions: policy.ClientOptions{
		Transport: s.http,
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}}
}

func (s *signet) blobClient(t testing.TB, endpoint string, cred azcore.TokenCredential) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClient(endpoint, cred, s.blobOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// patterned returns n bytes of a recognisable, non-repeating-block pattern.
func patterned(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	return b
}

func md5Of(r io.Reader) ([]byte, int64, error) {
	h := md5.New()
	n, err := io.Copy(h, r)
	return h.Sum(nil), n, err
}

func md5Bytes(b []byte) []byte { s := md5.Sum(b); return s[:] }

func sameBytes(a, b []byte) bool { return bytes.Equal(a, b) }
