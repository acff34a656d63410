package blob

import (
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/signet-platform/signet/internal/blob/content"
	"github.com/signet-platform/signet/internal/store"
)

// maxRangeMD5 is the largest range Azure computes an MD5 for
// (x-ms-range-get-content-md5).
const maxRangeMD5 = 4 << 20

func (s *Server) getBlob(req *request) error {
	if err := s.authorize(req, ActionBlobRead); err != nil {
		return err
	}
	h := req.r.Header
	cond, aerr := parseConditions(h)
	if aerr != nil {
		return aerr
	}
	br, ranged, aerr := parseRange(h)
	if aerr != nil {
		return aerr
	}
	wantRangeMD5 := h.Get("x-ms-range-get-content-md5") == "true"
	if wantRangeMD5 && (!ranged || br.end < 0 || br.end-br.start+1 > maxRangeMD5) {
		return errf(http.StatusBadRequest, "OutOfRangeInput",
			"One of the request inputs is out of range (x-ms-range-get-content-md5 needs a range of at most 4 MiB).")
	}
	b, err := s.getBlobRecord(req)
	if err != nil {
		return err
	}
	if e := cond.check(true, true, b.ETag, b.LastModified); e != nil {
		return e
	}
	off, n := int64(0), b.Size
	if ranged {
		if off, n, aerr = br.resolve(b.Size); aerr != nil {
			return aerr
		}
	}
	key, err := s.accountKey(req.account)
	if err != nil {
		return internal(err)
	}
	out := req.w.Header()
	writeBlobHeaders(out, b)
	out.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if ranged {
		status = http.StatusPartialContent
		out.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, b.Size))
		if len(b.ContentMD5) > 0 {
			out.Set("x-ms-blob-content-md5", base64.StdEncoding.EncodeToString(b.ContentMD5))
		}
	} else if len(b.ContentMD5) > 0 {
		out.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.ContentMD5))
	}
	if b.Inline != nil {
		// Small enough to hold: opened (and authenticated) before any
		// header is sent, so a failure is an ordinary error response.
		plain, err := content.OpenInline(key, b.Inline, inlineIdentity(b.AccountID, b.Container, b.Name)...)
		if err != nil {
			return internal(err)
		}
		if int64(len(plain)) != b.Size {
			return internal(fmt.Errorf("blob %s/%s: inline content holds %d bytes, its record says %d",
				b.Container, b.Name, len(plain), b.Size))
		}
		part := plain[off : off+n]
		if wantRangeMD5 {
			m := md5.Sum(part)
			out.Set("Content-MD5", base64.StdEncoding.EncodeToString(m[:]))
		}
		req.w.WriteHeader(status)
		if _, err := req.w.Write(part); err != nil {
			return &abortError{cause: err}
		}
		return nil
	}
	if wantRangeMD5 {
		// A second pass over at most 4 MiB: memory stays one chunk.
		m := md5.New()
		if err := s.copyRange(m, req.account.ID, key, b, off, n); err != nil {
			return internal(err)
		}
		out.Set("Content-MD5", base64.StdEncoding.EncodeToString(m.Sum(nil)))
	}
	req.w.WriteHeader(status)
	if err := s.copyRange(req.w, req.account.ID, key, b, off, n); err != nil {
		// Headers are gone; cutting the connection short is the only
		// signal left, and the client sees fewer bytes than announced.
		return &abortError{cause: err}
	}
	return nil
}

// copyRange writes plaintext bytes [off, off+n) of the blob to w, opening
// only the extents (and decrypting only the chunks) that hold them.
func (s *Server) copyRange(w io.Writer, accountID string, key []byte, b store.Blob, off, n int64) error {
	pos := int64(0)
	for _, x := range b.Extents {
		if n == 0 {
			break
		}
		if off >= pos+x.Size {
			pos += x.Size
			continue
		}
		local := off - pos
		take := min(x.Size-local, n)
		f, err := s.Content.Open(accountID, x.FileID, key)
		if err != nil {
			return err
		}
		err = f.WriteRange(w, local, take)
		f.Close()
		if err != nil {
			return err
		}
		off, n, pos = off+take, n-take, pos+x.Size
	}
	if n != 0 {
		return fmt.Errorf("blob %s/%s: extents hold %d bytes fewer than its size", b.Container, b.Name, n)
	}
	return nil
}
