package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// blobTests are the conformance subtests for BlobTx; Run runs them.
var blobTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"BlobAccounts", testBlobAccounts},
	{"BlobContainers", testBlobContainers},
	{"Blobs", testBlobs},
	{"BlobListing", testBlobListing},
	{"UncommittedBlocks", testUncommittedBlocks},
	{"BlobCascades", testBlobCascades},
	{"InlineBlobs", testInlineBlobs},
}

const storageID = rgPrefix + "rg1/providers/Microsoft.Storage/storageAccounts/acct1"

func blobAccount(t *testing.T, s store.Store, name, id string) store.BlobAccount {
	t.Helper()
	a := store.BlobAccount{Name: name, ID: id, ResourceID: storageID + name, TenantID: "tenant-1",
		KeySealed: []byte("sealed-" + id), CreatedAt: base}
	write(t, s, func(tx store.Tx) error { return tx.CreateBlobAccount(a) })
	return a
}

func blobContainer(t *testing.T, s store.Store, accountID, name string) store.BlobContainer {
	t.Helper()
	c := store.BlobContainer{AccountID: accountID, Name: name, Metadata: map[string]string{"Owner": "ops"},
		ETag: `"0x1"`, LastModified: base, CreatedAt: base}
	write(t, s, func(tx store.Tx) error { return tx.CreateBlobContainer(c) })
	return c
}

func testBlobAccounts(t *testing.T, s store.Store) {
	b := blobAccount(t, s, "beta", "id-b")
	a := blobAccount(t, s, "alpha", "id-a")
	for _, dup := range []store.BlobAccount{
		{Name: "alpha", ID: "id-other", ResourceID: "x", KeySealed: []byte("k")},
		{Name: "gamma", ID: "id-a", ResourceID: "x", KeySealed: []byte("k")},
	} {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateBlobAccount(dup) })
		wantErr(t, "CreateBlobAccount(duplicate "+dup.Name+")", err, store.ErrConflict)
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetBlobAccount("alpha")
		wantErr(t, "GetBlobAccount", err, nil)
		diff(t, "GetBlobAccount", got, a)
		got, err = tx.GetBlobAccountByResourceID(upper(b.ResourceID))
		wantErr(t, "GetBlobAccountByResourceID", err, nil)
		diff(t, "GetBlobAccountByResourceID (case-insensitive)", got, b)
		_, err = tx.GetBlobAccount("ALPHA")
		wantErr(t, "GetBlobAccount(other case)", err, store.ErrNotFound)
		all, err := tx.ListBlobAccounts()
		wantErr(t, "ListBlobAccounts", err, nil)
		diff(t, "ListBlobAccounts", all, []store.BlobAccount{a, b})
		return nil
	})
	write(t, s, func(tx store.Tx) error { return tx.DeleteBlobAccount("alpha") })
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteBlobAccount("alpha") })
	wantErr(t, "DeleteBlobAccount(twice)", err, store.ErrNotFound)
}

func testBlobContainers(t *testing.T, s store.Store) {
	a := blobAccount(t, s, "acct", "id-1")
	c2 := blobContainer(t, s, a.ID, "logs")
	c1 := blobContainer(t, s, a.ID, "images")
	c3 := blobContainer(t, s, a.ID, "images-old")
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateBlobContainer(c1) })
	wantErr(t, "CreateBlobContainer(duplicate)", err, store.ErrConflict)
	err = s.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateBlobContainer(store.BlobContainer{AccountID: "no-such-account", Name: "x"})
	})
	wantErr(t, "CreateBlobContainer(unknown account)", err, store.ErrNotFound)

	c1.Metadata, c1.ETag, c1.LastModified = map[string]string{"k": "v"}, `"0x2"`, at(time.Minute)
	write(t, s, func(tx store.Tx) error { return tx.UpdateBlobContainer(c1) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetBlobContainer(a.ID, "images")
		wantErr(t, "GetBlobContainer", err, nil)
		diff(t, "GetBlobContainer after update", got, c1)
		all, err := tx.ListBlobContainers(store.BlobFilter{AccountID: a.ID})
		wantErr(t, "ListBlobContainers", err, nil)
		diff(t, "ListBlobContainers", all, []store.BlobContainer{c1, c3, c2})
		got2, err := tx.ListBlobContainers(store.BlobFilter{AccountID: a.ID, Prefix: "images", StartAt: "images-", Limit: 5})
		wantErr(t, "ListBlobContainers(prefix, start)", err, nil)
		diff(t, "ListBlobContainers(prefix, start)", got2, []store.BlobContainer{c3})
		return nil
	})
	write(t, s, func(tx store.Tx) error { _, err := tx.DeleteBlobContainer(a.ID, "logs"); return err })
	err = s.Write(t.Context(), func(tx store.Tx) error { _, err := tx.DeleteBlobContainer(a.ID, "logs"); return err })
	wantErr(t, "DeleteBlobContainer(twice)", err, store.ErrNotFound)
}

func sampleBlob(accountID, container, name string, files ...string) store.Blob {
	b := store.Blob{AccountID: accountID, Container: container, Name: name, ContentType: "image/jpeg",
		ContentEncoding: "gzip", ContentLanguage: "en", ContentDisposition: "inline", CacheControl: "no-cache",
		ContentMD5: []byte{1, 2, 3}, Metadata: map[string]string{"Camera": "x"}, ETag: `"0xA"`,
		CreatedAt: base, LastModified: base}
	for _, f := range files {
		b.Extents = append(b.Extents, store.BlobExtent{ID: "blk-" + f, FileID: f, Size: 10})
		b.Size += 10
	}
	return b
}

func testBlobs(t *testing.T, s store.Store) {
	a := blobAccount(t, s, "acct", "id-1")
	blobContainer(t, s, a.ID, "images")
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.PutBlob(sampleBlob(a.ID, "nope", "x")) })
	wantErr(t, "PutBlob(unknown container)", err, store.ErrNotFound)

	b := sampleBlob(a.ID, "images", "sample.jpg", "f1", "f2")
	write(t, s, func(tx store.Tx) error { return tx.PutBlob(b) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetBlob(a.ID, "images", "sample.jpg")
		wantErr(t, "GetBlob", err, nil)
		diff(t, "GetBlob", got, b)
		_, err = tx.GetBlob(a.ID, "images", "SAMPLE.jpg")
		wantErr(t, "GetBlob(other case)", err, store.ErrNotFound)
		return nil
	})
	// Replacing keeps one row with the new values.
	b2 := sampleBlob(a.ID, "images", "sample.jpg", "f3")
	b2.ContentMD5, b2.Metadata, b2.ETag = nil, nil, `"0xB"`
	write(t, s, func(tx store.Tx) error { return tx.PutBlob(b2) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetBlob(a.ID, "images", "sample.jpg")
		wantErr(t, "GetBlob(replaced)", err, nil)
		diff(t, "GetBlob(replaced)", got, b2)
		return nil
	})
	var files []string
	write(t, s, func(tx store.Tx) (err error) {
		files, err = tx.DeleteBlob(a.ID, "images", "sample.jpg")
		return err
	})
	diff(t, "DeleteBlob files", files, []string{"f3"})
	err = s.Write(t.Context(), func(tx store.Tx) error { _, err := tx.DeleteBlob(a.ID, "images", "sample.jpg"); return err })
	wantErr(t, "DeleteBlob(twice)", err, store.ErrNotFound)
}

func testBlobListing(t *testing.T, s store.Store) {
	a := blobAccount(t, s, "acct", "id-1")
	blobContainer(t, s, a.ID, "c")
	blobContainer(t, s, a.ID, "other")
	names := []string{"a/1", "a/2", "a0", "b", "a/é", "a/Z"}
	write(t, s, func(tx store.Tx) error {
		for _, n := range names {
			if err := tx.PutBlob(sampleBlob(a.ID, "c", n)); err != nil {
				return err
			}
		}
		return tx.PutBlob(sampleBlob(a.ID, "other", "a/3"))
	})
	listNames := func(f store.BlobFilter) []string {
		var out []string
		read(t, s, func(tx store.Tx) error {
			bs, err := tx.ListBlobs(f)
			wantErr(t, "ListBlobs", err, nil)
			for _, b := range bs {
				out = append(out, b.Name)
			}
			return nil
		})
		return out
	}
	tests := []struct {
		name string
		f    store.BlobFilter
		want []string
	}{
		{"all, byte order", store.BlobFilter{}, []string{"a/1", "a/2", "a/Z", "a/é", "a0", "b"}},
		{"prefix", store.BlobFilter{Prefix: "a/"}, []string{"a/1", "a/2", "a/Z", "a/é"}},
		{"prefix and start", store.BlobFilter{Prefix: "a/", StartAt: "a/2"}, []string{"a/2", "a/Z", "a/é"}},
		{"start past prefix", store.BlobFilter{StartAt: "a0"}, []string{"a0", "b"}},
		{"limit", store.BlobFilter{Limit: 2}, []string{"a/1", "a/2"}},
	}
	for _, tc := range tests {
		tc.f.AccountID, tc.f.Container = a.ID, "c"
		diff(t, "ListBlobs "+tc.name, listNames(tc.f), tc.want)
	}
}

func block(a store.BlobAccount, blob, id, file string, created time.Time) store.UncommittedBlock {
	return store.UncommittedBlock{AccountID: a.ID, Container: "c", Blob: blob, ID: id, FileID: file, Size: 4, CreatedAt: created}
}

func testUncommittedBlocks(t *testing.T, s store.Store) {
	a := blobAccount(t, s, "acct", "id-1")
	blobContainer(t, s, a.ID, "c")
	stage := func(b store.UncommittedBlock) string {
		var replaced string
		write(t, s, func(tx store.Tx) (err error) { replaced, err = tx.PutUncommittedBlock(b); return err })
		return replaced
	}
	b1, b2 := block(a, "x", "QQ==", "f1", base), block(a, "x", "Qg==", "f2", at(time.Hour))
	stage(b1)
	stage(b2)
	stage(block(a, "y", "QQ==", "f9", base))
	b1new := block(a, "x", "QQ==", "f3", at(2*time.Hour))
	if got := stage(b1new); got != "f1" {
		t.Errorf("PutUncommittedBlock(same id) replaced %q, want f1", got)
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListUncommittedBlocks(a.ID, "c", "x", 0)
		wantErr(t, "ListUncommittedBlocks", err, nil)
		diff(t, "ListUncommittedBlocks", got, []store.UncommittedBlock{b1new, b2})
		got, err = tx.ListUncommittedBlocks(a.ID, "c", "x", 1)
		wantErr(t, "ListUncommittedBlocks(limit 1)", err, nil)
		diff(t, "ListUncommittedBlocks(limit 1)", got, []store.UncommittedBlock{b1new})
		files, err := tx.BlobFileIDs(a.ID)
		wantErr(t, "BlobFileIDs", err, nil)
		slices.Sort(files)
		diff(t, "BlobFileIDs", files, []string{"f2", "f3", "f9"})
		return nil
	})
	var pruned []store.UncommittedBlock
	write(t, s, func(tx store.Tx) (err error) {
		pruned, err = tx.PruneUncommittedBlocks(at(90*time.Minute), 10)
		return err
	})
	diff(t, "PruneUncommittedBlocks", pruned, []store.UncommittedBlock{block(a, "y", "QQ==", "f9", base), b2})
	write(t, s, func(tx store.Tx) error { return tx.DeleteUncommittedBlocks(a.ID, "c", "x") })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListUncommittedBlocks(a.ID, "c", "x", 0)
		wantErr(t, "ListUncommittedBlocks(after delete)", err, nil)
		diff(t, "ListUncommittedBlocks(after delete)", got, []store.UncommittedBlock{})
		return nil
	})
}

func testBlobCascades(t *testing.T, s store.Store) {
	a := blobAccount(t, s, "acct", "id-1")
	blobContainer(t, s, a.ID, "c")
	blobContainer(t, s, a.ID, "d")
	write(t, s, func(tx store.Tx) error {
		if err := tx.PutBlob(sampleBlob(a.ID, "c", "x", "f1", "f2")); err != nil {
			return err
		}
		if err := tx.PutBlob(sampleBlob(a.ID, "d", "y", "f4")); err != nil {
			return err
		}
		_, err := tx.PutUncommittedBlock(block(a, "z", "QQ==", "f3", base))
		return err
	})
	var files []string
	write(t, s, func(tx store.Tx) (err error) { files, err = tx.DeleteBlobContainer(a.ID, "c"); return err })
	slices.Sort(files)
	diff(t, "DeleteBlobContainer files", files, []string{"f1", "f2", "f3"})
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetBlob(a.ID, "c", "x")
		wantErr(t, "GetBlob after container delete", err, store.ErrNotFound)
		got, err := tx.BlobFileIDs(a.ID)
		wantErr(t, "BlobFileIDs", err, nil)
		diff(t, "BlobFileIDs after container delete", got, []string{"f4"})
		return nil
	})
	write(t, s, func(tx store.Tx) error { return tx.DeleteBlobAccount("acct") })
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetBlobContainer(a.ID, "d")
		wantErr(t, "GetBlobContainer after account delete", err, store.ErrNotFound)
		got, err := tx.BlobFileIDs(a.ID)
		wantErr(t, "BlobFileIDs", err, nil)
		diff(t, "BlobFileIDs after account delete", got, []string{})
		return nil
	})
}

// testInlineBlobs: a small blob's content kept in its record reads back
// whole from GetBlob, never from listings, names no content file, and
// switches cleanly to and from extents when the blob is replaced.
func testInlineBlobs(t *testing.T, s store.Store) {
	a := blobAccount(t, s, "acct", "id-1")
	blobContainer(t, s, a.ID, "c")
	small := sampleBlob(a.ID, "c", "small")
	small.Inline, small.Size = []byte("sealed\x00bytes\xff"), 3
	big := sampleBlob(a.ID, "c", "big", "f1")
	write(t, s, func(tx store.Tx) error {
		if err := tx.PutBlob(small); err != nil {
			return err
		}
		return tx.PutBlob(big)
	})
	both := sampleBlob(a.ID, "c", "both", "f2")
	both.Inline = []byte("x")
	if err := s.Write(t.Context(), func(tx store.Tx) error { return tx.PutBlob(both) }); err == nil {
		t.Error("PutBlob with both inline content and extents: accepted, want an error")
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetBlob(a.ID, "c", "small")
		wantErr(t, "GetBlob(inline)", err, nil)
		diff(t, "GetBlob(inline)", got, small)
		got, err = tx.GetBlob(a.ID, "c", "big")
		wantErr(t, "GetBlob(extents)", err, nil)
		if got.Inline != nil {
			t.Errorf("GetBlob(extents): Inline = %q, want nil", got.Inline)
		}
		listed, err := tx.ListBlobs(store.BlobFilter{AccountID: a.ID, Container: "c"})
		wantErr(t, "ListBlobs", err, nil)
		listedSmall := small
		listedSmall.Inline = nil
		diff(t, "ListBlobs (no inline content)", listed, []store.Blob{big, listedSmall})
		files, err := tx.BlobFileIDs(a.ID)
		wantErr(t, "BlobFileIDs", err, nil)
		diff(t, "BlobFileIDs (inline blobs name none)", files, []string{"f1"})
		return nil
	})
	// Replacing swaps the representation both ways.
	bigNow, smallNow := small, big
	bigNow.Name, smallNow.Name = "big", "small"
	write(t, s, func(tx store.Tx) error {
		if err := tx.PutBlob(bigNow); err != nil {
			return err
		}
		return tx.PutBlob(smallNow)
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetBlob(a.ID, "c", "big")
		wantErr(t, "GetBlob(extents → inline)", err, nil)
		diff(t, "GetBlob(extents → inline)", got, bigNow)
		got, err = tx.GetBlob(a.ID, "c", "small")
		wantErr(t, "GetBlob(inline → extents)", err, nil)
		diff(t, "GetBlob(inline → extents)", got, smallNow)
		return nil
	})
	var files []string
	write(t, s, func(tx store.Tx) (err error) {
		files, err = tx.DeleteBlob(a.ID, "c", "big")
		return err
	})
	diff(t, "DeleteBlob(inline) files", files, []string(nil))
}
