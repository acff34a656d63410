package blob

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"net/http"
	"time"

	"github.com/signet-platform/signet/internal/blob/content"
)

// bodyHeaders checks what every upload body needs before it is read:
// Content-Length, the size limit and a well-formed Content-MD5 (returned,
// nil when absent).
func bodyHeaders(r *http.Request, limit int64) (expect []byte, err error) {
	if r.ContentLength < 0 {
		return nil, errf(http.StatusLengthRequired, "MissingContentLengthHeader",
			"Content-Length HTTP header is missing.")
	}
	if r.ContentLength > limit {
		return nil, errf(http.StatusRequestEntityTooLarge, "RequestBodyTooLarge",
			"The request body is too large and exceeds the maximum permissible limit.")
	}
	if v := r.Header.Get("Content-MD5"); v != "" {
		if expect, err = base64.StdEncoding.DecodeString(v); err != nil || len(expect) != md5.Size {
			return nil, invalidHeader("Content-MD5")
		}
	}
	return expect, nil
}

func errMD5Mismatch() *apiError {
	return errf(http.StatusBadRequest, "Md5Mismatch",
		"The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
}

// receive streams the request body into a new content file and commits
// the file (synced, renamed), checking Content-Length, the size limit and
// Content-MD5. The caller records the file in the store, or removes it.
// wantMD5 asks for the body's MD5 even without a Content-MD5 header.
func (s *Server) receive(req *request, limit int64, wantMD5 bool) (fileID string, size int64, sum []byte, err error) {
	r := req.r
	expect, err := bodyHeaders(r, limit)
	if err != nil {
		return "", 0, nil, err
	}
	key, err := s.accountKey(req.account)
	if err != nil {
		return "", 0, nil, internal(err)
	}
	w, err := s.Content.Create(req.account.ID, key)
	if err != nil {
		return "", 0, nil, internal(err)
	}
	defer w.Abort()
	var h hash.Hash
	if wantMD5 || expect != nil {
		h = md5.New()
		w.HashTo(h) // hashed beside the encryption, not in the reading goroutine
	}
	n, err := w.ReadFrom(&deadlineReader{r: r.Body, rc: http.NewResponseController(req.w)})
	if err != nil {
		if errors.Is(err, content.ErrCorrupt) || n == r.ContentLength {
			return "", 0, nil, internal(err)
		}
		// The client went away or sent less than it announced.
		return "", 0, nil, errShortBody(err)
	}
	if n != r.ContentLength {
		return "", 0, nil, errf(http.StatusBadRequest, "InvalidInput",
			"The request body does not match its Content-Length.")
	}
	w.Finish()
	if h != nil {
		sum = h.Sum(nil)
		if expect != nil && !bytes.Equal(sum, expect) {
			return "", 0, nil, errMD5Mismatch()
		}
	}
	if err := w.Commit(); err != nil {
		return "", 0, nil, internal(err)
	}
	return w.ID(), n, sum, nil
}

func errShortBody(cause error) *apiError {
	return errf(http.StatusBadRequest, "InvalidInput", "One of the request inputs is not valid.").with(cause)
}

// receiveInline reads a body of at most the inline limit into memory,
// checks it as receive does, and seals it for the blob's record: the
// metadata transaction that stores it makes it durable, so no file is
// written or synced. The seal binds the account, container and blob name.
func (s *Server) receiveInline(req *request) (sealed []byte, sum []byte, err error) {
	r := req.r
	expect, err := bodyHeaders(r, s.inlineMax())
	if err != nil {
		return nil, nil, err
	}
	key, err := s.accountKey(req.account)
	if err != nil {
		return nil, nil, internal(err)
	}
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		return nil, nil, errShortBody(err)
	}
	m := md5.Sum(body)
	if expect != nil && !bytes.Equal(m[:], expect) {
		return nil, nil, errMD5Mismatch()
	}
	sealed, err = content.SealInline(key, body, inlineIdentity(req.account.ID, req.container, req.blob)...)
	if err != nil {
		return nil, nil, internal(err)
	}
	return sealed, m[:], nil
}

// inlineIdentity is what a blob's inline content is bound to.
func inlineIdentity(accountID, container, name string) []string {
	return []string{accountID, container, name}
}

// deadlineReader keeps pushing the connection's read deadline out while
// a large body keeps arriving, so the listener's ReadTimeout bounds an
// idle client, not a long upload.
type deadlineReader struct {
	r    io.Reader
	rc   *http.ResponseController
	last time.Time
}

const bodyIdleTimeout = 60 * time.Second

func (d *deadlineReader) Read(p []byte) (int, error) {
	if now := time.Now(); now.Sub(d.last) > 5*time.Second {
		d.last = now
		_ = d.rc.SetReadDeadline(now.Add(bodyIdleTimeout)) // unsupported writers keep the server's timeout
	}
	return d.r.Read(p)
}

// unsupportedWriteHeaders refuses what Signet does not implement and must
// not silently ignore: customer-provided keys and scopes (the client would
// believe its key protects the data) and leases (Signet has none, so a
// lease id can never match).
func unsupportedWriteHeaders(h http.Header) error {
	for _, name := range []string{"x-ms-encryption-key", "x-ms-encryption-scope"} {
		if h.Get(name) != "" {
			return errf(http.StatusBadRequest, "FeatureNotSupported",
				"Customer-provided encryption keys and scopes are not supported; data is encrypted with the account's key.")
		}
	}
	if h.Get("x-ms-lease-id") != "" {
		return errf(http.StatusPreconditionFailed, "LeaseNotPresentWithBlobOperation",
			"There is currently no lease on the blob.")
	}
	return nil
}
