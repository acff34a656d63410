package blob

import (
	"net/http"
	"strings"
	"time"
)

// conditions are a request's If-* headers.
type conditions struct {
	ifMatch, ifNoneMatch               string
	ifModifiedSince, ifUnmodifiedSince time.Time
}

func parseConditions(h http.Header) (conditions, *apiError) {
	c := conditions{ifMatch: h.Get("If-Match"), ifNoneMatch: h.Get("If-None-Match")}
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"If-Modified-Since", &c.ifModifiedSince}, {"If-Unmodified-Since", &c.ifUnmodifiedSince}} {
		if v := h.Get(p.name); v != "" {
			t, err := http.ParseTime(v)
			if err != nil {
				return c, invalidHeader(p.name)
			}
			*p.dst = t
		}
	}
	return c, nil
}

func (c conditions) any() bool {
	return c.ifMatch != "" || c.ifNoneMatch != "" || !c.ifModifiedSince.IsZero() || !c.ifUnmodifiedSince.IsZero()
}

// etagIn reports whether etag is in a list header value ("*" matches any
// existing resource).
func etagIn(list, etag string) bool {
	for _, v := range strings.Split(list, ",") {
		v = strings.TrimSpace(v)
		if v == "*" || v == etag || strings.Trim(v, `"`) == strings.Trim(etag, `"`) {
			return true
		}
	}
	return false
}

// check evaluates the conditions against a resource (exists false: it does
// not exist). Reads (GET, HEAD) fail If-None-Match and If-Modified-Since
// with 304; writes fail every condition with 412 — except If-None-Match: *
// on an existing blob, which Azure answers 409 BlobAlreadyExists.
func (c conditions) check(read, exists bool, etag string, modified time.Time) *apiError {
	if !c.any() {
		return nil
	}
	modified = modified.Truncate(time.Second) // HTTP dates have second precision
	if c.ifMatch != "" && (!exists || !etagIn(c.ifMatch, etag)) {
		return errConditionNotMet()
	}
	if !c.ifUnmodifiedSince.IsZero() && exists && modified.After(c.ifUnmodifiedSince) {
		return errConditionNotMet()
	}
	if c.ifNoneMatch != "" && exists && etagIn(c.ifNoneMatch, etag) {
		switch {
		case read:
			return errNotModified()
		case strings.TrimSpace(c.ifNoneMatch) == "*":
			return errf(http.StatusConflict, "BlobAlreadyExists", "The specified blob already exists.")
		default:
			return errConditionNotMet()
		}
	}
	if !c.ifModifiedSince.IsZero() && exists && !modified.After(c.ifModifiedSince) {
		if read {
			return errNotModified()
		}
		return errConditionNotMet()
	}
	return nil
}
