package arm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// decodeBody reads a JSON request body into v. The body must be
// application/json, at most maxBodyBytes, one JSON value with nothing after
// it; syntax and type errors name the byte offset.
func decodeBody(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return newError(http.StatusUnsupportedMediaType, codeUnsupportedMediaType,
				"The content media type '%s' is not supported. Only 'application/json' is supported.", truncate(ct, 64))
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return newError(http.StatusRequestEntityTooLarge, codeRequestTooLarge,
				"The request content exceeds the maximum size of %d bytes.", maxBodyBytes)
		}
		return newError(http.StatusBadRequest, codeInvalidRequestContent, "The request content could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return newError(http.StatusBadRequest, codeInvalidRequestContent, "The request content was invalid: the body is empty.")
	}
	if r.Header.Get("Content-Type") == "" {
		return newError(http.StatusUnsupportedMediaType, codeUnsupportedMediaType,
			"The request has a body but no Content-Type. Only 'application/json' is supported.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return contentError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The request content was invalid: unexpected data after the JSON value at offset %d.", dec.InputOffset())
	}
	return nil
}

// contentError explains a JSON decoding error without echoing the body.
func contentError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The request content was invalid and could not be deserialized: %s at offset %d.", syntax.Error(), syntax.Offset)
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(root)"
		}
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The request content was invalid and could not be deserialized: '%s' must be of type %s, not %s (offset %d).",
			truncate(field, 128), typ.Type.String(), typ.Value, typ.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return newError(http.StatusBadRequest, codeInvalidRequestContent,
			"The request content was invalid and could not be deserialized: unexpected end of JSON input.")
	}
	var ae *apiError
	if errors.As(err, &ae) { // from a custom UnmarshalJSON
		return ae
	}
	return newError(http.StatusBadRequest, codeInvalidRequestContent,
		"The request content was invalid and could not be deserialized.")
}

// writeJSON writes v with the status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return internalError(fmt.Errorf("encode response: %w", err))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}

// list is ARM's list envelope.
type list[T any] struct {
	Value    []T    `json:"value"`
	NextLink string `json:"nextLink,omitempty"`
}

// page cuts one page out of items, which must be sorted by key (compared
// case-insensitively). The $skiptoken is the key of the last item of the
// previous page, so pages stay stable when items are added or removed
// between requests. nextLink repeats the request's query (api-version,
// $filter) with the new token, as ARM's links do.
func page[T any](req *request, size int, items []T, key func(T) string) (list[T], error) {
	sort.SliceStable(items, func(i, j int) bool { return strings.ToLower(key(items[i])) < strings.ToLower(key(items[j])) })
	q := req.URL.Query()
	tok := q.Get("$skiptoken")
	if tok == "" {
		tok = q.Get("$skipToken") // armauthorization's spelling
	}
	q.Del("$skipToken")
	if tok != "" {
		after, err := base64.RawURLEncoding.DecodeString(tok)
		if err != nil {
			return list[T]{}, newError(http.StatusBadRequest, codeInvalidQueryParameter, "The $skiptoken is invalid.")
		}
		start := sort.Search(len(items), func(i int) bool { return strings.ToLower(key(items[i])) > string(after) })
		items = items[start:]
	}
	out := list[T]{Value: items}
	if out.Value == nil {
		out.Value = []T{}
	}
	if len(items) > size {
		out.Value = items[:size]
		q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(strings.ToLower(key(items[size-1])))))
		// The control plane is served only over HTTPS (clients refuse to send
		// a bearer token anywhere else), so the link is https even when TLS
		// ends before this handler.
		u := url.URL{Scheme: "https", Host: req.Host, Path: req.URL.Path, RawQuery: q.Encode()}
		out.NextLink = u.String()
	}
	return out, nil
}

func (s *Server) size() int {
	if s.pageSize > 0 {
		return s.pageSize
	}
	return defaultPageSize
}
