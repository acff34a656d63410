package blob

import (
	"net/http"
	"strconv"
	"strings"
)

// byteRange is a parsed single range: [start, end] inclusive, end -1 for
// "to the end".
type byteRange struct {
	start, end int64
}

// parseRange reads x-ms-range, else Range. Only one "bytes=a-b" or
// "bytes=a-" range is supported, as in Azure; anything else is refused
// rather than silently answered with the whole blob. ok is false when
// neither header is present.
func parseRange(h http.Header) (br byteRange, ok bool, err *apiError) {
	name := "x-ms-range"
	v := h.Get(name)
	if v == "" {
		name = "Range"
		v = h.Get(name)
	}
	if v == "" {
		return br, false, nil
	}
	br, valid := parseRangeValue(v)
	if !valid {
		return br, false, invalidHeader(name)
	}
	return br, true, nil
}

func parseRangeValue(v string) (byteRange, bool) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !ok {
		return byteRange{}, false
	}
	a, b, ok := strings.Cut(spec, "-")
	if !ok || !digits(a) || (b != "" && !digits(b)) {
		return byteRange{}, false
	}
	start, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return byteRange{}, false
	}
	end := int64(-1)
	if b != "" {
		if end, err = strconv.ParseInt(b, 10, 64); err != nil || end < start {
			return byteRange{}, false
		}
	}
	return byteRange{start, end}, true
}

func digits(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// resolve clamps the range to a blob of size bytes: the offset and length
// to send, or 416 InvalidRange when it starts at or past the end (every
// range of an empty blob, which azblob's downloaders rely on).
func (br byteRange) resolve(size int64) (off, n int64, err *apiError) {
	if br.start >= size {
		return 0, 0, errf(http.StatusRequestedRangeNotSatisfiable, "InvalidRange",
			"The range specified is invalid for the current size of the resource.").
			withHeader("Content-Range", "bytes */"+strconv.FormatInt(size, 10))
	}
	end := br.end
	if end < 0 || end >= size {
		end = size - 1
	}
	return br.start, end - br.start + 1, nil
}
