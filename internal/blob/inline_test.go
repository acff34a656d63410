package blob

import (
	"crypto/md5"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/store"
)

func md5b64(s string) string {
	m := md5.Sum([]byte(s))
	return base64.StdEncoding.EncodeToString(m[:])
}

// Blobs up to the inline limit live sealed in their records: no content
// file is written, and every read feature works on them as on files.
func TestSmallBlobsAreInline(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	atLimit := strings.Repeat("i", DefaultInlineMax)
	pastLimit := atLimit + "f"
	for _, b := range []struct{ name, data string }{{"empty", ""}, {"small", "0123456789"}, {"at-limit", atLimit}} {
		if got := f.put("/box/"+b.name, b.data, map[string]string{"Content-MD5": md5b64(b.data)}); got.Status != 201 {
			t.Fatalf("put %s: %+v", b.name, got)
		}
		if got := readBlob(t, f, "/box/"+b.name); got != b.data {
			t.Errorf("%s reads back %d bytes, want %d", b.name, len(got), len(b.data))
		}
	}
	if got := len(contentFiles(t, f)); got != 0 {
		t.Errorf("%d content files after inline uploads, want 0", got)
	}
	f.put("/box/past-limit", pastLimit, nil)
	if got := len(contentFiles(t, f)); got != 1 {
		t.Errorf("%d content files after an upload past the limit, want 1", got)
	}

	resp := f.do(http.MethodGet, "/box/small", nil, map[string]string{"x-ms-range": "bytes=2-5", "x-ms-range-get-content-md5": "true"})
	body, _ := io.ReadAll(resp.Body)
	got := map[string]string{"status": resp.Status, "body": string(body), "Content-Range": resp.Header.Get("Content-Range"),
		"Content-MD5": resp.Header.Get("Content-MD5"), "x-ms-blob-content-md5": resp.Header.Get("x-ms-blob-content-md5")}
	want := map[string]string{"status": "206 Partial Content", "body": "2345", "Content-Range": "bytes 2-5/10",
		"Content-MD5": md5b64("2345"), "x-ms-blob-content-md5": md5b64("0123456789")}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ranged GET of an inline blob (-want +got):\n%s", d)
	}
	resp = f.do(http.MethodGet, "/box/small", nil, nil)
	etag := resp.Header.Get("ETag")
	if got, want := resp.Header.Get("Content-MD5"), md5b64("0123456789"); got != want {
		t.Errorf("GET Content-MD5 = %q, want %q", got, want)
	}
	if got := result(t, f.do(http.MethodGet, "/box/small", nil, map[string]string{"If-None-Match": etag})); got.Status != 304 {
		t.Errorf("GET If-None-Match current ETag: %+v, want 304", got)
	}
	if got := result(t, f.do(http.MethodGet, "/box/empty", nil, map[string]string{"x-ms-range": "bytes=0-1"})); got.Status != 416 {
		t.Errorf("range of an empty inline blob: %+v, want 416", got)
	}

	tests := []struct {
		name string
		hdr  map[string]string
		want outcome
	}{
		{"Content-MD5 mismatch", map[string]string{"Content-MD5": md5b64("other")}, outcome{400, "Md5Mismatch"}},
		{"x-ms-blob-content-md5 mismatch", map[string]string{"x-ms-blob-content-md5": md5b64("other")}, outcome{400, "Md5Mismatch"}},
		{"Content-MD5 malformed", map[string]string{"Content-MD5": "xx"}, outcome{400, "InvalidHeaderValue"}},
		{"If-Match stale", map[string]string{"If-Match": `"0x1"`}, outcome{412, "ConditionNotMet"}},
	}
	for _, tc := range tests {
		if got := f.put("/box/small", "replacement", tc.hdr); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
	if got := readBlob(t, f, "/box/small"); got != "0123456789" {
		t.Errorf("after refused replacements the blob reads %q", got)
	}

	// Replacing a file-backed blob with a small one removes the file;
	// properties change without touching the sealed content.
	f.put("/box/past-limit", "now small", nil)
	if got := len(contentFiles(t, f)); got != 0 {
		t.Errorf("%d content files after the big blob became small, want 0", got)
	}
	if got := result(t, f.do(http.MethodPut, "/box/past-limit?comp=metadata", nil, map[string]string{"x-ms-meta-k": "v"})); got.Status != 200 {
		t.Fatalf("set metadata: %+v", got)
	}
	if got := readBlob(t, f, "/box/past-limit"); got != "now small" {
		t.Errorf("after set metadata the blob reads %q", got)
	}
	if got := result(t, f.do(http.MethodDelete, "/box/past-limit", nil, nil)); got.Status != 202 {
		t.Errorf("delete inline blob: %+v", got)
	}
	if got := result(t, f.do(http.MethodGet, "/box/past-limit", nil, nil)); got.Code != "BlobNotFound" {
		t.Errorf("GET after delete: %+v", got)
	}
}

// Sealed content copied into another blob's record (someone with write
// access to the database) does not open there.
func TestInlineContentIsBoundToItsBlob(t *testing.T) {
	f := newFixture(t)
	f.mustContainer("box")
	f.put("/box/secret", "for secret only", nil)
	f.put("/box/other", "other", nil)
	err := f.st.Write(t.Context(), func(tx store.Tx) error {
		src, err := tx.GetBlob(f.account.ID, "box", "secret")
		if err != nil {
			return err
		}
		dst, err := tx.GetBlob(f.account.ID, "box", "other")
		if err != nil {
			return err
		}
		dst.Inline, dst.Size, dst.ContentMD5 = src.Inline, src.Size, src.ContentMD5
		return tx.PutBlob(dst)
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := result(t, f.do(http.MethodGet, "/box/other", nil, nil)); got != (outcome{500, "InternalError"}) {
		t.Errorf("GET of a blob holding another blob's sealed content: %+v, want 500 InternalError", got)
	}
}
