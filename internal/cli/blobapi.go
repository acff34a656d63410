package cli

import (
	"context"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/signet-platform/signet/client"
)

// storageResource is the audience of Blob tokens.
const storageResource = "https://storage.azure.com"

// blobAPI speaks the few Blob REST calls the CLI needs, with a bearer
// token from the configured credential or the local agent.
type blobAPI struct {
	ctx    context.Context
	tokens client.TokenSource
	http   *http.Client
}

// blobError is the service's answer to a failed call.
type blobError struct {
	Status  int
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

func (e *blobError) Error() string {
	msg, _, _ := strings.Cut(e.Message, "\n") // drop RequestId/Time lines
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("%s: %s", e.Code, msg)
}

// do sends one request; body may be nil, size -1 when unknown. It returns
// the response (body open) when its status is one of want.
func (b *blobAPI) do(method, u string, body io.Reader, size int64, hdr map[string]string, want ...int) (*http.Response, error) {
	tok, err := b.tokens.Token(b.ctx, storageResource)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(b.ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.ContentLength = size
	} else if method == http.MethodPut {
		req.ContentLength = 0
		req.Body = http.NoBody
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("x-ms-version", "2026-12-06")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	for _, w := range want {
		if resp.StatusCode == w {
			return resp, nil
		}
	}
	defer resp.Body.Close()
	e := &blobError{Status: resp.StatusCode}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	xml.Unmarshal(data, e)
	if e.Code == "" {
		e.Code = resp.Header.Get("x-ms-error-code")
	}
	return nil, e
}

func (b *blobAPI) getXML(u string, v any) error {
	resp, err := b.do(http.MethodGet, u, nil, -1, nil, http.StatusOK)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return xml.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(v)
}

// blobURL is the URL of a blob, its name escaped segment by segment.
func blobURL(endpoint, container, name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return endpoint + container + "/" + strings.Join(segs, "/")
}

// blockSize and singlePutLimit decide how an upload goes: one Put Blob up
// to 256 MiB (as azblob), else blocks of 8 MiB and a block list.
const (
	singlePutLimit = 256 << 20
	blockSize      = 8 << 20
)

// upload sends size bytes from r as one Put Blob, or as blocks and a
// block list when larger; memory stays one block.
func (b *blobAPI) upload(u string, r io.Reader, size int64, contentType string) error {
	hdr := map[string]string{"x-ms-blob-type": "BlockBlob"}
	if contentType != "" {
		hdr["x-ms-blob-content-type"] = contentType
	}
	if size <= singlePutLimit {
		resp, err := b.do(http.MethodPut, u, r, size, hdr, http.StatusCreated)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}
	var list strings.Builder
	list.WriteString(`<?xml version="1.0" encoding="utf-8"?><BlockList>`)
	for i := 0; int64(i)*blockSize < size; i++ {
		n := min(blockSize, size-int64(i)*blockSize)
		id := blockIDFor(i)
		resp, err := b.do(http.MethodPut, u+"?comp=block&blockid="+url.QueryEscape(id), io.LimitReader(r, n), n, nil, http.StatusCreated)
		if err != nil {
			return fmt.Errorf("block %d: %w", i, err)
		}
		resp.Body.Close()
		list.WriteString("<Latest>" + id + "</Latest>")
	}
	list.WriteString("</BlockList>")
	body := list.String()
	delete(hdr, "x-ms-blob-type")
	resp, err := b.do(http.MethodPut, u+"?comp=blocklist", strings.NewReader(body), int64(len(body)), hdr, http.StatusCreated)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// blockIDFor is a fixed-width id, as the service wants every id of a blob
// to have the same length.
func blockIDFor(i int) string {
	raw := fmt.Sprintf("signet-cli-%08d", i)
	return base64.StdEncoding.EncodeToString([]byte(raw))
}

// download opens a blob's body; the size is its Content-Length.
func (b *blobAPI) download(u string) (io.ReadCloser, int64, error) {
	resp, err := b.do(http.MethodGet, u, nil, -1, nil, http.StatusOK)
	if err != nil {
		return nil, 0, err
	}
	n, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	return resp.Body, n, nil
}
