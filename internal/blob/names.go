package blob

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// validAccountName: 3–24 lower-case letters and digits (Azure's rule).
func validAccountName(s string) bool {
	if len(s) < 3 || len(s) > 24 {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// validContainerName: 3–63 characters of lower-case letters, digits and
// hyphens, starting and ending with a letter or digit, no "--".
func validContainerName(s string) bool {
	if len(s) < 3 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// checkBlobName returns why a blob name is refused, or "". Azure allows
// any 1–1024 characters; Signet also refuses "." and ".." path segments
// and control characters, which no client needs and which make names
// that look like one path mean another.
func checkBlobName(s string) string {
	switch {
	case len(s) > 1024:
		return "The specified resource name length is not within the permissible limits."
	case !utf8.ValidString(s):
		return "The specified resource name contains invalid characters."
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f || c == 0xfffe || c == 0xffff {
			return "The specified resource name contains invalid characters."
		}
	}
	for _, seg := range strings.Split(s, "/") {
		if seg == "." || seg == ".." {
			return "The specified resource name contains invalid characters."
		}
	}
	return ""
}

const metaPrefix = "X-Ms-Meta-"

// metadataFrom reads x-ms-meta-* headers. Names must be valid C#
// identifiers (Azure's rule); they are kept lower-cased, since names are
// case-insensitive and HTTP header case does not survive net/http.
func metadataFrom(h http.Header) (map[string]string, *apiError) {
	var out map[string]string
	size := 0
	for k, v := range h {
		if len(k) <= len(metaPrefix) || !strings.EqualFold(k[:len(metaPrefix)], metaPrefix) {
			continue
		}
		name := strings.ToLower(k[len(metaPrefix):])
		if !validMetadataName(name) {
			return nil, errf(http.StatusBadRequest, "InvalidMetadata",
				"The metadata specified is invalid. It has characters that are not permitted.")
		}
		if out == nil {
			out = map[string]string{}
		}
		out[name] = strings.Join(v, ",")
		size += len(name) + len(out[name])
	}
	if size > 8<<10 {
		return nil, errf(http.StatusBadRequest, "MetadataTooLarge", "The size of the specified metadata exceeds the maximum size permitted.")
	}
	return out, nil
}

func validMetadataName(s string) bool {
	for i, c := range s {
		if !(c == '_' || 'a' <= c && c <= 'z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return s != ""
}

func writeMetadata(h http.Header, m map[string]string) {
	for k, v := range m {
		h.Set("x-ms-meta-"+k, v)
	}
}
