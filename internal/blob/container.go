package blob

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// newETag makes a strong ETag shaped like Azure's ("0x…"): the time keeps
// it readable, the random part makes it unique across replicas.
func newETag(t time.Time) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf(`"0x%X%08X"`, t.UnixNano(), binary.BigEndian.Uint32(b[:]))
}

func setValidators(h http.Header, etag string, modified time.Time) {
	h.Set("ETag", etag)
	h.Set("Last-Modified", httpDate(modified))
}

func (s *Server) createContainer(req *request) error {
	if err := s.authorize(req, ActionContainerPut); err != nil {
		return err
	}
	if v := req.r.Header.Get("x-ms-blob-public-access"); v != "" {
		// Anonymous access is never allowed: every read needs a token.
		return errf(http.StatusConflict, "PublicAccessNotPermitted", "Public access is not permitted on this storage account.")
	}
	meta, aerr := metadataFrom(req.r.Header)
	if aerr != nil {
		return aerr
	}
	now := s.now()
	c := store.BlobContainer{AccountID: req.account.ID, Name: req.container, Metadata: meta,
		ETag: newETag(now), LastModified: now, CreatedAt: now}
	err := s.Store.Write(req.r.Context(), func(tx store.Tx) error { return tx.CreateBlobContainer(c) })
	if errors.Is(err, store.ErrConflict) {
		return errf(http.StatusConflict, "ContainerAlreadyExists", "The specified container already exists.")
	}
	if err != nil {
		return internal(err)
	}
	setValidators(req.w.Header(), c.ETag, c.LastModified)
	req.w.WriteHeader(http.StatusCreated)
	return nil
}

func (s *Server) getContainer(req *request) (store.BlobContainer, error) {
	var c store.BlobContainer
	err := s.Store.Read(req.r.Context(), func(tx store.Tx) (err error) {
		c, err = tx.GetBlobContainer(req.account.ID, req.container)
		return err
	})
	return c, storeErr(err, errContainerNotFound)
}

func (s *Server) getContainerProperties(req *request) error {
	if err := s.authorize(req, ActionContainerRead); err != nil {
		return err
	}
	c, err := s.getContainer(req)
	if err != nil {
		return err
	}
	h := req.w.Header()
	setValidators(h, c.ETag, c.LastModified)
	writeMetadata(h, c.Metadata)
	h.Set("x-ms-lease-status", "unlocked")
	h.Set("x-ms-lease-state", "available")
	h.Set("x-ms-has-immutability-policy", "false")
	h.Set("x-ms-has-legal-hold", "false")
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) setContainerMetadata(req *request) error {
	if err := s.authorize(req, ActionContainerPut); err != nil {
		return err
	}
	meta, aerr := metadataFrom(req.r.Header)
	if aerr != nil {
		return aerr
	}
	cond, aerr := parseConditions(req.r.Header)
	if aerr != nil {
		return aerr
	}
	var c store.BlobContainer
	err := s.Store.Write(req.r.Context(), func(tx store.Tx) (err error) {
		if c, err = tx.GetBlobContainer(req.account.ID, req.container); err != nil {
			return err
		}
		// Azure honours only If-Modified-Since here.
		if !cond.ifModifiedSince.IsZero() && !c.LastModified.Truncate(time.Second).After(cond.ifModifiedSince) {
			return errConditionNotMet()
		}
		now := s.now()
		c.Metadata, c.ETag, c.LastModified = meta, newETag(now), now
		return tx.UpdateBlobContainer(c)
	})
	if err := storeErr(err, errContainerNotFound); err != nil {
		return err
	}
	setValidators(req.w.Header(), c.ETag, c.LastModified)
	req.w.WriteHeader(http.StatusOK)
	return nil
}

func (s *Server) deleteContainer(req *request) error {
	if err := s.authorize(req, ActionContainerDel); err != nil {
		return err
	}
	cond, aerr := parseConditions(req.r.Header)
	if aerr != nil {
		return aerr
	}
	var files []string
	err := s.Store.Write(req.r.Context(), func(tx store.Tx) error {
		c, err := tx.GetBlobContainer(req.account.ID, req.container)
		if err != nil {
			return err
		}
		if cond.ifMatch != "" || cond.ifNoneMatch != "" {
			return errf(http.StatusBadRequest, "UnsupportedHeader", "One of the HTTP headers specified in the request is not supported.")
		}
		if e := cond.check(false, true, c.ETag, c.LastModified); e != nil {
			return e
		}
		files, err = tx.DeleteBlobContainer(req.account.ID, req.container)
		return err
	})
	if err := storeErr(err, errContainerNotFound); err != nil {
		return err
	}
	s.removeFiles(req.account.ID, files)
	req.w.WriteHeader(http.StatusAccepted)
	return nil
}

// storeErr maps the error of a store transaction: an apiError returned
// from inside passes through, ErrNotFound becomes notFound, the rest 500.
func storeErr(err error, notFound func() *apiError) error {
	var e *apiError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	case errors.Is(err, store.ErrNotFound):
		return notFound()
	}
	return internal(err)
}

// removeFiles deletes content files a committed transaction stopped
// referring to; a failure only leaves garbage for the sweep.
func (s *Server) removeFiles(accountID string, files []string) {
	if len(files) == 0 {
		return
	}
	if err := s.Content.Remove(accountID, files...); err != nil {
		s.logger().Warn("removing content files (the sweep will retry)", "account_id", accountID, "err", err)
	}
}
