package e2e

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/store"
)

// The seed scenario: a VM's managed identity, through a real agent and
// the official ManagedIdentityCredential, reads and writes blobs exactly as
// far as its roles allow.
func TestBlobSeedScenarioWithManagedIdentity(t *testing.T) {
	s := startSignet(t, "")
	h := newTestHost(t, s)
	ctx := ctxT(t)
	acct := s.createStorageAccount(t, "seedstore")
	endpoint := acct.Properties.PrimaryEndpoints.Blob

	// The operator (Storage Blob Data Owner) puts the image there.
	s.grant(t, s.Dev.ObjectID, authz.StorageBlobDataOwnerRoleID, acct.ID)
	admin := s.blobClient(t, endpoint, s.adminCredential(t))
	if _, err := admin.CreateContainer(ctx, "images", nil); err != nil {
		t.Fatal(err)
	}
	image := patterned(300<<10, 1)
	if _, err := admin.UploadBuffer(ctx, "images", "sample.jpg", image, nil); err != nil {
		t.Fatal(err)
	}

	clearMIEnv(t)
	vmCred := func(id azidentity.ManagedIDKind) azcore.TokenCredential {
		cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: id, ClientOptions: h.imdsOptions()})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	vm := s.blobClient(t, endpoint, vmCred(nil))
	containerScope := acct.ID + "/blobServices/default/containers/images"

	// No role: refused, with the action and the role to ask for.
	_, err := vm.DownloadBuffer(ctx, "images", "sample.jpg", make([]byte, len(image)), nil)
	wantBlobError(t, "download with no role", err, http.StatusForbidden, bloberror.AuthorizationPermissionMismatch)
	if !strings.Contains(err.Error(), "blobs/read") || !strings.Contains(err.Error(), "Storage Blob Data Reader") {
		t.Errorf("denial does not name the action and the least-privileged role: %v", err)
	}

	// Reader on the container: downloads, cannot upload.
	s.grant(t, h.sysOID, authz.StorageBlobDataReaderRoleID, containerScope)
	got := make([]byte, len(image))
	n, err := vm.DownloadBuffer(ctx, "images", "sample.jpg", got, nil)
	if err != nil || n != int64(len(image)) || !bytes.Equal(got, image) {
		t.Fatalf("reader download: %d bytes, %v; want the uploaded %d bytes", n, err, len(image))
	}
	_, err = vm.UploadBuffer(ctx, "images", "upload.jpg", []byte("new"), nil)
	wantBlobError(t, "upload as reader", err, http.StatusForbidden, bloberror.AuthorizationPermissionMismatch)
	if !strings.Contains(err.Error(), "Storage Blob Data Contributor") {
		t.Errorf("denial does not suggest Storage Blob Data Contributor: %v", err)
	}

	// Contributor: uploads.
	s.grant(t, h.sysOID, authz.StorageBlobDataContributorRoleID, containerScope)
	if _, err := vm.UploadBuffer(ctx, "images", "upload.jpg", []byte("new"), nil); err != nil {
		t.Fatalf("upload as contributor: %v", err)
	}

	// A user-assigned identity of the same VM holds no role: refused.
	other := s.blobClient(t, endpoint, vmCred(azidentity.ClientID(*h.uamis[1].Properties.ClientID)))
	_, err = other.DownloadBuffer(ctx, "images", "sample.jpg", got, nil)
	wantBlobError(t, "download by an identity without a role", err, http.StatusForbidden, bloberror.AuthorizationPermissionMismatch)

	// Every operation is in the access log, with the token's uti.
	var recs []store.Access
	if err := s.Store.Read(ctx, func(tx store.Tx) (err error) {
		recs, err = tx.ListAccess(store.AuditFilter{PrincipalID: h.sysOID})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var results []string
	for _, r := range recs {
		if r.Service != "blob" || r.TokenID == "" || !strings.EqualFold(r.ResourceID, acct.ID) {
			t.Errorf("access record %+v: want service blob, the account, a token id", r)
		}
		results = append(results, r.Result+" "+r.Item)
	}
	for _, want := range []string{"failure images/sample.jpg", "success images/sample.jpg", "failure images/upload.jpg", "success images/upload.jpg"} {
		if !slices.Contains(results, want) {
			t.Errorf("access log %v lacks %q", results, want)
		}
	}
}

func wantBlobError(t *testing.T, what string, err error, status int, code bloberror.Code) {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("%s: got %v, want HTTP %d %s", what, err, status, code)
	}
	if re.StatusCode != status || re.ErrorCode != string(code) {
		t.Fatalf("%s: got %d %s, want %d %s", what, re.StatusCode, re.ErrorCode, status, code)
	}
}

// blobFixture is a Signet with one account whose data the admin owns.
func blobFixture(t *testing.T, name string) (*signet, *azblob.Client, storageAccount) {
	s := startSignet(t, "")
	acct := s.createStorageAccount(t, name)
	s.grant(t, s.Dev.ObjectID, authz.StorageBlobDataOwnerRoleID, acct.ID)
	c := s.blobClient(t, acct.Properties.PrimaryEndpoints.Blob, s.adminCredential(t))
	if _, err := c.CreateContainer(ctxT(t), "data", nil); err != nil {
		t.Fatal(err)
	}
	return s, c, acct
}

func TestBlobUploadsAndDownloadsWithTheOfficialClient(t *testing.T) {
	_, c, _ := blobFixture(t, "transfers")
	ctx := ctxT(t)
	data := patterned(5<<20+12345, 2)

	// UploadBuffer: one Put Blob; the server's MD5 comes back on download.
	if _, err := c.UploadBuffer(ctx, "data", "buffer.bin", data, &azblob.UploadBufferOptions{
		Metadata: map[string]*string{"origin": to.Ptr("buffer")}}); err != nil {
		t.Fatal(err)
	}
	// UploadStream with small (its minimum) blocks: Put Block × 6 + Put Block List.
	if _, err := c.UploadStream(ctx, "data", "stream.bin", bytes.NewReader(data), &azblob.UploadStreamOptions{
		BlockSize: 1 << 20, Concurrency: 4}); err != nil {
		t.Fatal(err)
	}
	bl, err := c.ServiceClient().NewContainerClient("data").NewBlockBlobClient("stream.bin").GetBlockList(ctx, blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(bl.CommittedBlocks), (len(data)+1<<20-1)/(1<<20); got != want || len(bl.UncommittedBlocks) != 0 {
		t.Errorf("block list: %d committed, %d uncommitted; want %d committed, none staged", got, len(bl.UncommittedBlocks), want)
	}

	for _, name := range []string{"buffer.bin", "stream.bin"} {
		// DownloadFile: a first ranged GET, then parallel ranged GETs with If-Match.
		path := filepath.Join(t.TempDir(), name)
		f, _ := os.Create(path)
		n, err := c.DownloadFile(ctx, "data", name, f, &azblob.DownloadFileOptions{BlockSize: 1 << 20, Concurrency: 4})
		f.Close()
		if err != nil || n != int64(len(data)) {
			t.Fatalf("DownloadFile %s: %d, %v", name, n, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, data) {
			t.Errorf("DownloadFile %s: content differs", name)
		}
		// DownloadStream with a range that spans blocks.
		resp, err := c.DownloadStream(ctx, "data", name, &azblob.DownloadStreamOptions{
			Range: azblob.HTTPRange{Offset: 1000, Count: 600 << 10}})
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !bytes.Equal(got, data[1000:1000+600<<10]) || *resp.ContentRange != "bytes 1000-615399/"+strconv.Itoa(len(data)) {
			t.Errorf("DownloadStream range of %s: %d bytes, Content-Range %q", name, len(got), *resp.ContentRange)
		}
	}
	resp, err := c.DownloadStream(ctx, "data", "buffer.bin", nil)
	if err != nil {
		t.Fatal(err)
	}
	sum, _, _ := md5Of(resp.Body)
	resp.Body.Close()
	if !bytes.Equal(resp.ContentMD5, md5Bytes(data)) || !bytes.Equal(sum, md5Bytes(data)) {
		t.Errorf("Content-MD5 %x and body MD5 %x, want %x", resp.ContentMD5, sum, md5Bytes(data))
	}
	if got := resp.Metadata["Origin"]; got == nil || *got != "buffer" {
		t.Errorf("metadata on download: %v", resp.Metadata)
	}

	// An empty blob: every downloader copes with Azure's 416 InvalidRange.
	if _, err := c.UploadBuffer(ctx, "data", "empty", nil, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := c.DownloadBuffer(ctx, "data", "empty", make([]byte, 0), nil); err != nil || n != 0 {
		t.Errorf("DownloadBuffer(empty) = %d, %v", n, err)
	}
	f, _ := os.Create(filepath.Join(t.TempDir(), "empty"))
	defer f.Close()
	if n, err := c.DownloadFile(ctx, "data", "empty", f, nil); err != nil || n != 0 {
		t.Errorf("DownloadFile(empty) = %d, %v", n, err)
	}
	_, err = c.DownloadStream(ctx, "data", "empty", &azblob.DownloadStreamOptions{Range: azblob.HTTPRange{Offset: 0, Count: 10}})
	wantBlobError(t, "ranged read of an empty blob", err, http.StatusRequestedRangeNotSatisfiable, bloberror.InvalidRange)
}

func TestBlobListingPropertiesMetadataAndConditions(t *testing.T) {
	_, c, _ := blobFixture(t, "listing")
	ctx := ctxT(t)
	names := []string{"a/1", "a/2", "a/b/3", "b/1", "c", "d/x", "e"}
	for _, n := range names {
		if _, err := c.UploadBuffer(ctx, "data", n, []byte(n), &azblob.UploadBufferOptions{
			Metadata: map[string]*string{"name": to.Ptr(n)}}); err != nil {
			t.Fatal(err)
		}
	}
	cc := c.ServiceClient().NewContainerClient("data")

	// Hierarchical listing, two entries a page: prefixes count like blobs.
	var pages [][]string
	pager := cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{MaxResults: to.Ptr(int32(2))})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range page.Segment.BlobPrefixes {
			got = append(got, *p.Name)
		}
		for _, b := range page.Segment.BlobItems {
			got = append(got, *b.Name)
		}
		slices.Sort(got)
		pages = append(pages, got)
	}
	if d := cmp.Diff([][]string{{"a/", "b/"}, {"c", "d/"}, {"e"}}, pages); d != "" {
		t.Errorf("hierarchical pages (-want +got):\n%s", d)
	}

	// Flat listing under a prefix, with metadata.
	var flat []string
	fp := c.NewListBlobsFlatPager("data", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("a/"),
		Include: container.ListBlobsInclude{Metadata: true}, MaxResults: to.Ptr(int32(2))})
	for fp.More() {
		page, err := fp.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			flat = append(flat, *b.Name)
			if m := b.Metadata["name"]; m == nil || *m != *b.Name || *b.Properties.ContentLength != int64(len(*b.Name)) {
				t.Errorf("listed %s: metadata %v, length %d", *b.Name, b.Metadata, *b.Properties.ContentLength)
			}
		}
	}
	if d := cmp.Diff([]string{"a/1", "a/2", "a/b/3"}, flat); d != "" {
		t.Errorf("flat listing (-want +got):\n%s", d)
	}

	// Properties and metadata round trips.
	bc := cc.NewBlobClient("c")
	if _, err := bc.SetHTTPHeaders(ctx, blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain"),
		BlobCacheControl: to.Ptr("no-cache"), BlobContentDisposition: to.Ptr("attachment")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := bc.SetMetadata(ctx, map[string]*string{"owner": to.Ptr("ops"), "tier": to.Ptr("gold")}, nil); err != nil {
		t.Fatal(err)
	}
	props, err := bc.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	gotProps := map[string]string{"type": *props.ContentType, "cache": *props.CacheControl,
		"disposition": *props.ContentDisposition, "owner": *props.Metadata["Owner"], "tier": *props.Metadata["Tier"]}
	if d := cmp.Diff(map[string]string{"type": "text/plain", "cache": "no-cache", "disposition": "attachment",
		"owner": "ops", "tier": "gold"}, gotProps); d != "" {
		t.Errorf("properties (-want +got):\n%s", d)
	}
	if len(props.Metadata) != 2 {
		t.Errorf("SetMetadata should replace all metadata, got %v", props.Metadata)
	}

	// Conditions, as Azure answers them.
	etag := *props.ETag
	stale := azcore.ETag(`"0x1"`)
	_, err = bc.SetMetadata(ctx, nil, &blob.SetMetadataOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &stale}}})
	wantBlobError(t, "write with a stale If-Match", err, http.StatusPreconditionFailed, bloberror.ConditionNotMet)
	_, err = c.UploadBuffer(ctx, "data", "c", []byte("x"), &azblob.UploadBufferOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}})
	wantBlobError(t, "create-only upload over an existing blob", err, http.StatusConflict, bloberror.BlobAlreadyExists)
	_, err = bc.GetProperties(ctx, &blob.GetPropertiesOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: &etag}}})
	var re *azcore.ResponseError
	if !errors.As(err, &re) || re.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the current ETag: got %v, want 304", err)
	}
	future := time.Now().Add(time.Hour)
	// DownloadStream turns Azure's 304 into a response carrying the code.
	dr, err := bc.DownloadStream(ctx, &blob.DownloadStreamOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfModifiedSince: &future}}})
	if err != nil || dr.ErrorCode == nil || *dr.ErrorCode != string(bloberror.ConditionNotMet) {
		t.Errorf("If-Modified-Since in the future: got %v, %v; want 304 ConditionNotMet", err, dr.ErrorCode)
	}
	past := time.Now().Add(-time.Hour)
	_, err = bc.Delete(ctx, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfUnmodifiedSince: &past}}})
	wantBlobError(t, "delete with If-Unmodified-Since in the past", err, http.StatusPreconditionFailed, bloberror.ConditionNotMet)
	if _, err := bc.Delete(ctx, &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &etag}}}); err != nil {
		t.Errorf("delete with the current ETag: %v", err)
	}
	_, err = bc.GetProperties(ctx, nil)
	wantBlobError(t, "properties of a deleted blob", err, http.StatusNotFound, bloberror.BlobNotFound)
	_, err = c.ServiceClient().NewContainerClient("nope").GetProperties(ctx, nil)
	wantBlobError(t, "missing container", err, http.StatusNotFound, bloberror.ContainerNotFound)
}
