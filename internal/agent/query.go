package agent

import (
	"errors"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Query limits. The SDKs send at most four parameters of well under 1 KiB;
// anything larger is not a managed-identity client.
const (
	maxQueryBytes  = 4 << 10
	maxQueryParams = 16
)

var (
	errQueryTooLong      = errors.New("query string too long")
	errTooManyParams     = errors.New("too many query parameters")
	errDuplicateParam    = errors.New("duplicate query parameter")
	errMalformedQuery    = errors.New("malformed query string")
	errControlCharacters = errors.New("control character in query parameter")
	errInvalidUTF8       = errors.New("query parameter is not valid UTF-8")
)

// query is a parsed query string held in a fixed array, so that parsing on
// the hot path does not allocate (url.ParseQuery builds a map of slices).
type query struct {
	n  int
	kv [maxQueryParams]struct{ k, v string }
}

// parseQuery parses raw (a URL's RawQuery) into q. It rejects what IMDS
// rejects and what a lenient parser would silently reinterpret: duplicate
// names ("Requests with duplicate query parameter names will be rejected",
// reference §1.1), bad percent-escapes, semicolons (net/url no longer splits
// on them, so a proxy and this parser could disagree), control characters
// and invalid UTF-8 (values are echoed and forwarded), and oversized
// queries.
func parseQuery(raw string, q *query) error {
	q.n = 0
	if len(raw) > maxQueryBytes {
		return errQueryTooLong
	}
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue // "a=1&&b=2": empty pairs carry nothing, as in net/url
		}
		if strings.IndexByte(pair, ';') >= 0 {
			return errMalformedQuery
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err := url.QueryUnescape(k)
		if err != nil {
			return errMalformedQuery
		}
		if v, err = url.QueryUnescape(v); err != nil {
			return errMalformedQuery
		}
		if k == "" {
			return errMalformedQuery
		}
		if hasControl(k) || hasControl(v) {
			return errControlCharacters
		}
		if !utf8.ValidString(k) || !utf8.ValidString(v) {
			// JSON would replace the bad bytes, and the echo must be exact.
			return errInvalidUTF8
		}
		for i := 0; i < q.n; i++ {
			if q.kv[i].k == k {
				return errDuplicateParam
			}
		}
		if q.n == maxQueryParams {
			return errTooManyParams
		}
		q.kv[q.n].k, q.kv[q.n].v = k, v
		q.n++
	}
	return nil
}

// get returns the value of name and whether it was present.
func (q *query) get(name string) (string, bool) {
	for i := 0; i < q.n; i++ {
		if q.kv[i].k == name {
			return q.kv[i].v, true
		}
	}
	return "", false
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return true
		}
	}
	return false
}

// NormalizeResource is the cache's and the STS's form of a resource: a
// trailing "/.default" (a scope passed where a resource belongs) and then one
// trailing "/" removed, so that https://management.core.windows.net/ (what
// azcore sends for ARM) and https://management.core.windows.net share one
// token (reference §1.1, §11.3). Responses still echo the resource as sent.
func NormalizeResource(resource string) string {
	resource = strings.TrimSuffix(resource, "/.default")
	return strings.TrimSuffix(resource, "/")
}
