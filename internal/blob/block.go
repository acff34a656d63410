package blob

import (
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/signet-platform/signet/internal/store"
)

const (
	maxCommittedBlocks = 50000
	maxBlockIDBytes    = 64
	// maxBlockListBody bounds a Put Block List body: 50,000 entries of
	// 88-character ids with their tags fit well inside it.
	maxBlockListBody = 8 << 20
)

// validBlockID: standard base64 of 1–64 bytes (Azure's rule).
func validBlockID(id string) bool {
	b, err := base64.StdEncoding.DecodeString(id)
	return err == nil && len(b) > 0 && len(b) <= maxBlockIDBytes
}

func errInvalidBlockID() *apiError {
	return errf(http.StatusBadRequest, "InvalidBlockId",
		"The specified block ID is invalid. The block ID must be Base64-encoded.")
}

func errUnequalBlockID() *apiError {
	return errf(http.StatusBadRequest, "InvalidBlobOrBlock",
		"The specified blob or block content is invalid (every block id of a blob must have the same length).")
}

func (s *Server) putBlock(req *request) error {
	if err := s.authorizeUpload(req, s.blobExists(req)); err != nil {
		return err
	}
	if err := unsupportedWriteHeaders(req.r.Header); err != nil {
		return err
	}
	id := req.r.URL.Query().Get("blockid")
	if !validBlockID(id) {
		return errInvalidBlockID()
	}
	fileID, size, sum, err := s.receive(req, s.maxBlock(), false)
	if err != nil {
		return err
	}
	var replaced string
	err = s.Store.Write(req.r.Context(), func(tx store.Tx) error {
		if _, err := tx.GetBlobContainer(req.account.ID, req.container); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return errContainerNotFound()
			}
			return err
		}
		if err := checkIDLength(tx, req, id); err != nil {
			return err
		}
		replaced, err = tx.PutUncommittedBlock(store.UncommittedBlock{AccountID: req.account.ID,
			Container: req.container, Blob: req.blob, ID: id, FileID: fileID, Size: size, CreatedAt: s.now()})
		return err
	})
	if err := storeErr(err, errContainerNotFound); err != nil {
		s.removeFiles(req.account.ID, []string{fileID})
		return err
	}
	if replaced != "" {
		s.removeFiles(req.account.ID, []string{replaced})
	}
	if sum != nil {
		req.w.Header().Set("Content-MD5", base64.StdEncoding.EncodeToString(sum))
	}
	req.w.Header().Set("x-ms-request-server-encrypted", "true")
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

// checkIDLength enforces equal-length block ids against one staged block,
// or, when none is staged, the committed blocks.
func checkIDLength(tx store.Tx, req *request, id string) error {
	staged, err := tx.ListUncommittedBlocks(req.account.ID, req.container, req.blob, 1)
	if err != nil {
		return err
	}
	if len(staged) > 0 {
		if len(staged[0].ID) != len(id) {
			return errUnequalBlockID()
		}
		return nil
	}
	b, err := tx.GetBlob(req.account.ID, req.container, req.blob)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, x := range b.Extents {
		if x.ID != "" && len(x.ID) != len(id) {
			return errUnequalBlockID()
		}
		break
	}
	return nil
}

// blockRef is one entry of a Put Block List body.
type blockRef struct {
	list string // "Committed", "Uncommitted" or "Latest"
	id   string
}

// parseBlockList reads <BlockList> with its entries in document order
// (the order is the blob's), refusing anything else.
func parseBlockList(r io.Reader) ([]blockRef, *apiError) {
	bad := func() *apiError {
		return errf(http.StatusBadRequest, "InvalidXmlDocument", "XML specified is not syntactically valid.")
	}
	dec := xml.NewDecoder(r)
	var refs []blockRef
	depth := 0
	var cur *blockRef
	var text strings.Builder
	sawRoot := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, bad().with(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 1 && t.Name.Local == "BlockList" && !sawRoot:
				sawRoot = true
			case depth == 2 && (t.Name.Local == "Committed" || t.Name.Local == "Uncommitted" || t.Name.Local == "Latest"):
				cur = &blockRef{list: t.Name.Local}
				text.Reset()
			default:
				return nil, bad()
			}
		case xml.EndElement:
			if depth == 2 && cur != nil {
				cur.id = strings.TrimSpace(text.String())
				refs = append(refs, *cur)
				cur = nil
				if len(refs) > maxCommittedBlocks {
					return nil, errf(http.StatusConflict, "BlockCountExceedsLimit",
						"The committed block count cannot exceed the maximum limit of 50,000 blocks.")
				}
			}
			depth--
		case xml.CharData:
			if cur != nil {
				text.Write(t)
			} else if strings.TrimSpace(string(t)) != "" {
				return nil, bad()
			}
		}
	}
	if !sawRoot || depth != 0 {
		return nil, bad()
	}
	return refs, nil
}

func (s *Server) putBlockList(req *request) error {
	if err := s.authorizeUpload(req, s.blobExists(req)); err != nil {
		return err
	}
	h := req.r.Header
	if err := unsupportedWriteHeaders(h); err != nil {
		return err
	}
	if req.r.ContentLength < 0 {
		return errf(http.StatusLengthRequired, "MissingContentLengthHeader", "Content-Length HTTP header is missing.")
	}
	if req.r.ContentLength > maxBlockListBody {
		return errf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is too large and exceeds the maximum permissible limit.")
	}
	refs, aerr := parseBlockList(io.LimitReader(req.r.Body, maxBlockListBody))
	if aerr != nil {
		return aerr
	}
	for _, ref := range refs {
		if !validBlockID(ref.id) {
			return errInvalidBlockID()
		}
	}
	props, aerr := blobHeaders(h, false)
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
	props.Metadata = meta
	b, err := s.commitBlob(req, props, cond, func(tx store.Tx, old *store.Blob, b *store.Blob) error {
		staged, err := tx.ListUncommittedBlocks(req.account.ID, req.container, req.blob, 0)
		if err != nil {
			return err
		}
		byStaged := make(map[string]store.BlobExtent, len(staged))
		for _, x := range staged {
			byStaged[x.ID] = store.BlobExtent{ID: x.ID, FileID: x.FileID, Size: x.Size}
		}
		byCommitted := map[string]store.BlobExtent{}
		if old != nil {
			for _, x := range old.Extents {
				if x.ID != "" {
					byCommitted[x.ID] = x
				}
			}
		}
		// The new version refers to the staged files directly: committing
		// copies no bytes.
		b.Extents, b.Size = make([]store.BlobExtent, 0, len(refs)), 0
		for _, ref := range refs {
			var x store.BlobExtent
			var ok bool
			switch ref.list {
			case "Committed":
				x, ok = byCommitted[ref.id]
			case "Uncommitted":
				x, ok = byStaged[ref.id]
			default:
				if x, ok = byStaged[ref.id]; !ok {
					x, ok = byCommitted[ref.id]
				}
			}
			if !ok {
				return errf(http.StatusBadRequest, "InvalidBlockList", "The specified block list is invalid.")
			}
			b.Extents = append(b.Extents, x)
			b.Size += x.Size
		}
		return nil
	})
	if err != nil {
		return err
	}
	out := req.w.Header()
	setValidators(out, b.ETag, b.LastModified)
	out.Set("x-ms-request-server-encrypted", "true")
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) getBlockList(req *request) error {
	if err := s.authorize(req, ActionBlobRead); err != nil {
		return err
	}
	kind := strings.ToLower(req.r.URL.Query().Get("blocklisttype"))
	if kind == "" {
		kind = "committed"
	}
	if kind != "committed" && kind != "uncommitted" && kind != "all" {
		return invalidQuery("blocklisttype")
	}
	var b store.Blob
	var exists bool
	var staged []store.UncommittedBlock
	err := s.Store.Read(req.r.Context(), func(tx store.Tx) error {
		if _, err := tx.GetBlobContainer(req.account.ID, req.container); err != nil {
			return err
		}
		var err error
		b, err = tx.GetBlob(req.account.ID, req.container, req.blob)
		exists = err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		staged, err = tx.ListUncommittedBlocks(req.account.ID, req.container, req.blob, 0)
		return err
	})
	if err := storeErr(err, errContainerNotFound); err != nil {
		return err
	}
	if !exists && len(staged) == 0 {
		return errBlobNotFound()
	}
	out := blockListResponse{Committed: []xmlBlock{}, Uncommitted: []xmlBlock{}}
	if kind != "uncommitted" {
		for _, x := range b.Extents {
			if x.ID != "" {
				out.Committed = append(out.Committed, xmlBlock{Name: x.ID, Size: x.Size})
			}
		}
	}
	if kind != "committed" {
		for _, x := range staged {
			out.Uncommitted = append(out.Uncommitted, xmlBlock{Name: x.ID, Size: x.Size})
		}
	}
	if exists {
		setValidators(req.w.Header(), b.ETag, b.LastModified)
		req.w.Header().Set("x-ms-blob-content-length", strconv.FormatInt(b.Size, 10))
	}
	return writeXML(req.w, out)
}
