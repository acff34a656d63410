package blob

import (
	"crypto/md5"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"

	"github.com/signet-platform/signet/internal/store"
)

// blobHeaders are the blob properties a request sets, from
// x-ms-blob-* headers, falling back to the standard headers for Put Blob.
func blobHeaders(h http.Header, fallback bool) (store.Blob, *apiError) {
	get := func(name, std string) string {
		if v := h.Get("x-ms-blob-" + name); v != "" || !fallback || std == "" {
			return v
		}
		return h.Get(std)
	}
	b := store.Blob{
		ContentType:        get("content-type", "Content-Type"),
		ContentEncoding:    get("content-encoding", "Content-Encoding"),
		ContentLanguage:    get("content-language", "Content-Language"),
		CacheControl:       get("cache-control", "Cache-Control"),
		ContentDisposition: get("content-disposition", ""),
	}
	if v := h.Get("x-ms-blob-content-md5"); v != "" {
		sum, err := base64.StdEncoding.DecodeString(v)
		if err != nil || len(sum) != md5.Size {
			return b, invalidHeader("x-ms-blob-content-md5")
		}
		b.ContentMD5 = sum
	}
	return b, nil
}

// getBlobRecord reads a blob, telling a missing container from a missing
// blob as Azure does.
func (s *Server) getBlobRecord(req *request) (store.Blob, error) {
	var b store.Blob
	err := s.Store.Read(req.r.Context(), func(tx store.Tx) (err error) {
		b, err = tx.GetBlob(req.account.ID, req.container, req.blob)
		if errors.Is(err, store.ErrNotFound) {
			if _, cerr := tx.GetBlobContainer(req.account.ID, req.container); errors.Is(cerr, store.ErrNotFound) {
				return errContainerNotFound()
			}
		}
		return err
	})
	return b, storeErr(err, errBlobNotFound)
}

func (s *Server) blobExists(req *request) func() (bool, error) {
	return func() (bool, error) {
		_, err := s.getBlobRecord(req)
		if isCode(err, "BlobNotFound") {
			return false, nil
		}
		return err == nil, err
	}
}

func (s *Server) putBlob(req *request) error {
	if err := s.authorizeUpload(req, s.blobExists(req)); err != nil {
		return err
	}
	h := req.r.Header
	switch h.Get("x-ms-blob-type") {
	case "BlockBlob":
	case "":
		return errf(http.StatusBadRequest, "MissingRequiredHeader",
			"An HTTP header that's mandatory for this request is not specified (x-ms-blob-type).")
	default:
		return errf(http.StatusBadRequest, "InvalidHeaderValue",
			"Only block blobs are supported (x-ms-blob-type: BlockBlob).")
	}
	if err := unsupportedWriteHeaders(h); err != nil {
		return err
	}
	props, aerr := blobHeaders(h, true)
	if aerr != nil {
		return aerr
	}
	meta, aerr := metadataFrom(h)
	if aerr != nil {
		return aerr
	}
	cond, aerr := parseConditions(h)
	if aerr != nil {
		return aerr
	}
	// Fail fast, before the bytes arrive; checked again at commit.
	if cond.any() {
		old, err := s.getBlobRecord(req)
		exists := err == nil
		if err != nil && !isCode(err, "BlobNotFound") {
			return err
		}
		if e := cond.check(false, exists, old.ETag, old.LastModified); e != nil {
			return e
		}
	}
	if n := req.r.ContentLength; n >= 0 && n <= s.inlineMax() {
		sealed, sum, err := s.receiveInline(req)
		if err != nil {
			return err
		}
		if props.ContentMD5 != nil && string(props.ContentMD5) != string(sum) {
			return errMD5Mismatch()
		}
		props.ContentMD5, props.Size, props.Metadata, props.Inline = sum, n, meta, sealed
		b, err := s.commitBlob(req, props, cond, nil)
		if err != nil {
			return err
		}
		return putBlobCreated(req, b)
	}
	fileID, size, sum, err := s.receive(req, s.maxPutBlob(), true)
	if err != nil {
		return err
	}
	if props.ContentMD5 != nil && string(props.ContentMD5) != string(sum) {
		s.removeFiles(req.account.ID, []string{fileID})
		return errMD5Mismatch()
	}
	props.ContentMD5 = sum
	props.Size, props.Metadata = size, meta
	props.Extents = []store.BlobExtent{{FileID: fileID, Size: size}}
	b, err := s.commitBlob(req, props, cond, nil)
	if err != nil {
		s.removeFiles(req.account.ID, []string{fileID})
		return err
	}
	return putBlobCreated(req, b)
}

func putBlobCreated(req *request, b store.Blob) error {
	w := req.w.Header()
	setValidators(w, b.ETag, b.LastModified)
	w.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.ContentMD5))
	w.Set("x-ms-request-server-encrypted", "true")
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

func isCode(err error, code string) bool {
	var e *apiError
	return errors.As(err, &e) && e.code == code
}

// commitBlob makes b the blob's committed version in one transaction:
// the container must exist, the conditions must hold against the version
// being replaced, and an add-only caller may not replace anything. Staged
// blocks are discarded, as in Azure. Content files no longer referred to
// are removed after the commit; keep names files the new version reuses.
// prepare, if set, runs first in the transaction and may fill b.Extents
// from the current state.
func (s *Server) commitBlob(req *request, b store.Blob, cond conditions,
	prepare func(tx store.Tx, old *store.Blob, b *store.Blob) error) (store.Blob, error) {
	now := s.now()
	b.AccountID, b.Container, b.Name = req.account.ID, req.container, req.blob
	b.ETag, b.LastModified, b.CreatedAt = newETag(now), now, now
	var garbage []string
	err := s.Store.Write(req.r.Context(), func(tx store.Tx) error {
		garbage = garbage[:0]
		if _, err := tx.GetBlobContainer(req.account.ID, req.container); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errContainerNotFound()
			}
			return err
		}
		old, err := tx.GetBlob(req.account.ID, req.container, req.blob)
		exists := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if e := cond.check(false, exists, old.ETag, old.LastModified); e != nil {
			return e
		}
		if exists && req.action == ActionBlobAdd {
			return denied(ActionBlobWrite)
		}
		if exists {
			b.CreatedAt = old.CreatedAt
		}
		var oldPtr *store.Blob
		if exists {
			oldPtr = &old
		}
		staged, err := tx.ListUncommittedBlocks(req.account.ID, req.container, req.blob, 0)
		if err != nil {
			return err
		}
		if prepare != nil {
			if err := prepare(tx, oldPtr, &b); err != nil {
				return err
			}
		}
		if err := tx.PutBlob(b); err != nil {
			return err
		}
		if len(staged) > 0 {
			if err := tx.DeleteUncommittedBlocks(req.account.ID, req.container, req.blob); err != nil {
				return err
			}
		}
		keep := map[string]bool{}
		for _, x := range b.Extents {
			keep[x.FileID] = true
		}
		for _, x := range old.Extents {
			if !keep[x.FileID] {
				garbage = append(garbage, x.FileID)
			}
		}
		for _, x := range staged {
			if !keep[x.FileID] {
				garbage = append(garbage, x.FileID)
			}
		}
		return nil
	})
	if err := storeErr(err, errContainerNotFound); err != nil {
		return b, err
	}
	s.removeFiles(req.account.ID, garbage)
	return b, nil
}

func (s *Server) setBlobProperties(req *request) error {
	props, aerr := blobHeaders(req.r.Header, false)
	if aerr != nil {
		return aerr
	}
	return s.updateBlob(req, func(b *store.Blob) {
		// Properties not sent are cleared, as in Azure.
		b.ContentType, b.ContentEncoding, b.ContentLanguage = props.ContentType, props.ContentEncoding, props.ContentLanguage
		b.CacheControl, b.ContentDisposition, b.ContentMD5 = props.CacheControl, props.ContentDisposition, props.ContentMD5
	})
}

func (s *Server) setBlobMetadata(req *request) error {
	meta, aerr := metadataFrom(req.r.Header)
	if aerr != nil {
		return aerr
	}
	return s.updateBlob(req, func(b *store.Blob) { b.Metadata = meta })
}

// updateBlob changes a blob's properties or metadata in place (its
// content stays) under the request's conditions.
func (s *Server) updateBlob(req *request, change func(*store.Blob)) error {
	if err := s.authorize(req, ActionBlobWrite); err != nil {
		return err
	}
	if err := unsupportedWriteHeaders(req.r.Header); err != nil {
		return err
	}
	cond, aerr := parseConditions(req.r.Header)
	if aerr != nil {
		return aerr
	}
	var b store.Blob
	err := s.Store.Write(req.r.Context(), func(tx store.Tx) (err error) {
		if b, err = tx.GetBlob(req.account.ID, req.container, req.blob); err != nil {
			return err
		}
		if e := cond.check(false, true, b.ETag, b.LastModified); e != nil {
			return e
		}
		change(&b)
		now := s.now()
		b.ETag, b.LastModified = newETag(now), now
		return tx.PutBlob(b)
	})
	if err := storeErr(err, errBlobNotFound); err != nil {
		return err
	}
	setValidators(req.w.Header(), b.ETag, b.LastModified)
	req.w.Header().Set("x-ms-request-server-encrypted", "true")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteBlob(req *request) error {
	if err := s.authorize(req, ActionBlobDelete); err != nil {
		return err
	}
	if req.r.Header.Get("x-ms-lease-id") != "" {
		return unsupportedWriteHeaders(req.r.Header)
	}
	cond, aerr := parseConditions(req.r.Header)
	if aerr != nil {
		return aerr
	}
	var files []string
	err := s.Store.Write(req.r.Context(), func(tx store.Tx) error {
		b, err := tx.GetBlob(req.account.ID, req.container, req.blob)
		if err != nil {
			return err
		}
		if e := cond.check(false, true, b.ETag, b.LastModified); e != nil {
			return e
		}
		files, err = tx.DeleteBlob(req.account.ID, req.container, req.blob)
		return err
	})
	if err := storeErr(err, errBlobNotFound); err != nil {
		return err
	}
	s.removeFiles(req.account.ID, files)
	req.w.Header().Set("x-ms-delete-type-permanent", "true")
	req.w.WriteHeader(http.StatusAccepted)
	return nil
}

// writeBlobHeaders sets what Get Blob and Get Blob Properties return.
func writeBlobHeaders(h http.Header, b store.Blob) {
	setValidators(h, b.ETag, b.LastModified)
	h.Set("x-ms-creation-time", httpDate(b.CreatedAt))
	h.Set("Content-Type", contentType(b))
	for k, v := range map[string]string{"Content-Encoding": b.ContentEncoding, "Content-Language": b.ContentLanguage,
		"Cache-Control": b.CacheControl, "Content-Disposition": b.ContentDisposition} {
		if v != "" {
			h.Set(k, v)
		}
	}
	writeMetadata(h, b.Metadata)
	h.Set("x-ms-blob-type", "BlockBlob")
	h.Set("Accept-Ranges", "bytes")
	h.Set("x-ms-server-encrypted", "true")
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	if n := committedBlocks(b); n > 0 {
		h.Set("x-ms-blob-committed-block-count", strconv.Itoa(n))
	}
}

func committedBlocks(b store.Blob) int {
	n := 0
	for _, x := range b.Extents {
		if x.ID != "" {
			n++
		}
	}
	return n
}

func (s *Server) getBlobProperties(req *request, metadataOnly bool) error {
	if err := s.authorize(req, ActionBlobRead); err != nil {
		return err
	}
	cond, aerr := parseConditions(req.r.Header)
	if aerr != nil {
		return aerr
	}
	b, err := s.getBlobRecord(req)
	if err != nil {
		return err
	}
	if e := cond.check(true, true, b.ETag, b.LastModified); e != nil {
		return e
	}
	h := req.w.Header()
	if metadataOnly {
		setValidators(h, b.ETag, b.LastModified)
		writeMetadata(h, b.Metadata)
		req.w.WriteHeader(http.StatusOK)
		return nil
	}
	writeBlobHeaders(h, b)
	h.Set("Content-Length", strconv.FormatInt(b.Size, 10))
	if len(b.ContentMD5) > 0 {
		h.Set("Content-MD5", base64.StdEncoding.EncodeToString(b.ContentMD5))
	}
	h.Set("x-ms-access-tier", "Hot")
	h.Set("x-ms-access-tier-inferred", "true")
	req.w.WriteHeader(http.StatusOK)
	return nil
}
