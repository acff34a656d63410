package agent

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Token is an access token the STS issued for one identity and resource.
// A Token is immutable once the cache has stored it, apart from its cache of
// rendered responses.
type Token struct {
	AccessToken string
	ClientID    string    // the identity the token was issued to
	Resource    string    // normalized (NormalizeResource)
	IssuedAt    time.Time // when the agent received it: not_before
	ExpiresOn   time.Time
	// ExtExpiresOn is the STS's extended expiry (ext_expires_in); zero
	// when the STS sent none.
	ExtExpiresOn time.Time
	// RefreshIn is the STS's refresh_in hint; zero when it sent none.
	RefreshIn time.Duration

	// refreshAt is when the cache refreshes the token (set by the cache).
	refreshAt time.Time

	// views are responses rendered for this token, one per (protocol,
	// resource as sent), so a cache hit only fills in the time-dependent
	// numbers. Copy-on-write under viewsMu.
	views   atomic.Pointer[[]*view]
	viewsMu sync.Mutex
}

// responseKind selects a wire shape.
type responseKind uint8

const (
	kindIMDS       responseKind = iota // every value a string (reference §1.2)
	kindAppService                     // expires_in and refresh_in integers (§2.1)
)

// hole is a time-dependent number in a rendered response.
type hole uint8

const (
	holeExpiresIn hole = iota
	holeExtExpiresIn
	holeRefreshIn
)

// view is a rendered response with holes: parts[0] hole[0] parts[1] ... .
type view struct {
	kind     responseKind
	resource string // as sent by the client
	parts    [][]byte
	holes    []hole
	size     int // total bytes of parts
	// clen caches the Content-Length header value for the last size seen:
	// lengths change only when a number loses a digit.
	clen atomic.Pointer[contentLength]
}

type contentLength struct {
	n int
	v []string
}

// maxViews bounds rendered views per token; past it responses are rendered
// per request (a client inventing resource spellings gains nothing).
const maxViews = 4

// field is one JSON member of a response being rendered.
type field struct {
	name  string
	value string // JSON-encoded value when hole is noHole
	hole  hole
	isNum bool // the hole is a bare number (App Service), else a string
	dyn   bool // value is a hole
}

// tokenFields lists a token response's members in alphabetical order, as
// IMDS sends them (reference §1.2). extra members (Arc's identity echo) are
// merged in order.
func tokenFields(t *Token, kind responseKind, resource string, extra map[string]string) []field {
	str := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	numeric := kind == kindAppService
	unix := func(tm time.Time) string { return str(strconv.FormatInt(tm.Unix(), 10)) }
	fs := []field{
		{name: "access_token", value: str(t.AccessToken)},
		{name: "client_id", value: str(t.ClientID)},
		{name: "expires_in", hole: holeExpiresIn, dyn: true, isNum: numeric},
		{name: "expires_on", value: unix(t.ExpiresOn)},
	}
	if kind == kindIMDS {
		// App Service does not send ext_expires_in; IMDS does.
		fs = append(fs, field{name: "ext_expires_in", hole: holeExtExpiresIn, dyn: true})
	}
	if v, ok := extra["msi_res_id"]; ok {
		fs = append(fs, field{name: "msi_res_id", value: str(v)})
	}
	fs = append(fs, field{name: "not_before", value: unix(t.IssuedAt)})
	if v, ok := extra["object_id"]; ok {
		fs = append(fs, field{name: "object_id", value: str(v)})
	}
	fs = append(fs,
		field{name: "refresh_in", hole: holeRefreshIn, dyn: true, isNum: numeric},
		field{name: "resource", value: str(resource)},
		field{name: "token_type", value: `"Bearer"`},
	)
	return fs
}

// newView renders fields into a view.
func newView(kind responseKind, resource string, fs []field) *view {
	v := &view{kind: kind, resource: resource}
	cur := []byte{'{'}
	for i, f := range fs {
		if i > 0 {
			cur = append(cur, ',')
		}
		cur = append(cur, '"')
		cur = append(cur, f.name...)
		cur = append(cur, '"', ':')
		if !f.dyn {
			cur = append(cur, f.value...)
			continue
		}
		if !f.isNum {
			cur = append(cur, '"')
		}
		v.parts = append(v.parts, cur)
		v.holes = append(v.holes, f.hole)
		cur = nil
		if !f.isNum {
			cur = append(cur, '"')
		}
	}
	cur = append(cur, '}', '\n')
	v.parts = append(v.parts, cur)
	for _, p := range v.parts {
		v.size += len(p)
	}
	return v
}

// viewFor returns the token's cached view for (kind, resource), rendering
// and caching it on first use.
func (t *Token) viewFor(kind responseKind, resource string) *view {
	if vs := t.views.Load(); vs != nil {
		for _, v := range *vs {
			if v.kind == kind && v.resource == resource {
				return v
			}
		}
	}
	v := newView(kind, resource, tokenFields(t, kind, resource, nil))
	t.viewsMu.Lock()
	defer t.viewsMu.Unlock()
	var old []*view
	if vs := t.views.Load(); vs != nil {
		old = *vs
	}
	if len(old) < maxViews {
		nv := append(append(make([]*view, 0, len(old)+1), old...), v)
		t.views.Store(&nv)
	}
	return v
}

// bufPool holds response buffers; tokens are 1–3 KiB.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

var jsonContentType = []string{"application/json; charset=utf-8"}

// write sends the view for t at now with status 200.
func (v *view) write(w http.ResponseWriter, t *Token, now time.Time) {
	bp := bufPool.Get().(*[]byte)
	buf := (*bp)[:0]
	for i, h := range v.holes {
		buf = append(buf, v.parts[i]...)
		buf = strconv.AppendInt(buf, holeValue(t, h, now), 10)
	}
	buf = append(buf, v.parts[len(v.parts)-1]...)

	h := w.Header()
	h["Content-Type"] = jsonContentType
	cl := v.clen.Load()
	if cl == nil || cl.n != len(buf) {
		cl = &contentLength{n: len(buf), v: []string{strconv.Itoa(len(buf))}}
		v.clen.Store(cl)
	}
	h["Content-Length"] = cl.v
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf) // a failed write means the client left
	*bp = buf
	bufPool.Put(bp)
}

// holeValue computes a time-dependent number, in whole seconds.
func holeValue(t *Token, h hole, now time.Time) int64 {
	var d time.Duration
	switch h {
	case holeExpiresIn:
		d = t.ExpiresOn.Sub(now)
	case holeExtExpiresIn:
		d = t.ExtExpiresOn.Sub(now)
		if t.ExtExpiresOn.IsZero() {
			d = t.ExpiresOn.Sub(now)
		}
	case holeRefreshIn:
		// Half of what is left: a fresh token says "come back at half-life",
		// a token the agent is still trying to refresh sends its client back
		// sooner. MSAL Go needs this to refresh before the last 5 minutes
		// (reference §5.3).
		d = t.ExpiresOn.Sub(now) / 2
	}
	s := int64(d / time.Second)
	if h == holeRefreshIn && s < 1 {
		s = 1 // 0 would read as "refresh on every call"
	} else if s < 0 {
		s = 0
	}
	return s
}

// writeToken renders and writes a response for a view that is not cached
// (Arc, with its identity echo).
func writeToken(w http.ResponseWriter, t *Token, kind responseKind, resource string, extra map[string]string, now time.Time) {
	newView(kind, resource, tokenFields(t, kind, resource, extra)).write(w, t, now)
}
