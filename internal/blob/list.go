package blob

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/signet-platform/signet/internal/store"
)

const maxListResults = 5000

// listParams are the shared query parameters of the listings.
type listParams struct {
	prefix, marker, startAt string
	max                     int
	metadata                bool
}

func parseListParams(q url.Values) (listParams, *apiError) {
	p := listParams{prefix: q.Get("prefix"), marker: q.Get("marker"), max: maxListResults}
	if v := q.Get("maxresults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, invalidQuery("maxresults")
		}
		p.max = min(n, maxListResults)
	}
	if p.marker != "" {
		start, ok := decodeMarker(p.marker)
		if !ok {
			return p, invalidQuery("marker")
		}
		p.startAt = start
	}
	for _, inc := range strings.Split(q.Get("include"), ",") {
		// Other datasets (snapshots, versions, tags, …) have nothing to add
		// here: Signet keeps none of them.
		if strings.EqualFold(strings.TrimSpace(inc), "metadata") {
			p.metadata = true
		}
	}
	return p, nil
}

// Markers are opaque to clients: the name listing resumes at.
func encodeMarker(startAt string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(startAt))
}

func decodeMarker(m string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return "", false
	}
	return string(b), true
}

func (s *Server) listContainers(req *request) error {
	if err := s.authorize(req, ActionContainerRead); err != nil {
		return err
	}
	p, aerr := parseListParams(req.r.URL.Query())
	if aerr != nil {
		return aerr
	}
	var cs []store.BlobContainer
	err := s.Store.Read(req.r.Context(), func(tx store.Tx) (err error) {
		cs, err = tx.ListBlobContainers(store.BlobFilter{AccountID: req.account.ID, Prefix: p.prefix,
			StartAt: p.startAt, Limit: p.max + 1})
		return err
	})
	if err != nil {
		return internal(err)
	}
	out := containerList{ServiceEndpoint: req.endpoint, Prefix: p.prefix, Marker: p.marker, MaxResults: p.max,
		Containers: []containerItem{}}
	if len(cs) > p.max {
		out.NextMarker = encodeMarker(cs[p.max].Name)
		cs = cs[:p.max]
	}
	for _, c := range cs {
		it := containerItem{Name: c.Name, Properties: containerProperties{LastModified: httpDate(c.LastModified),
			ETag: c.ETag, LeaseStatus: "unlocked", LeaseState: "available"}}
		if p.metadata {
			it.Metadata = xmlMetadata(c.Metadata)
		}
		out.Containers = append(out.Containers, it)
	}
	return writeXML(req.w, out)
}

// listItem is one entry of a blob listing: a blob, or a prefix standing
// for every blob under it (key is the name listing would resume at).
type listItem struct {
	key    string
	blob   *store.Blob
	prefix string
}

func (s *Server) listBlobs(req *request) error {
	if err := s.authorize(req, ActionBlobRead); err != nil {
		return err
	}
	q := req.r.URL.Query()
	p, aerr := parseListParams(q)
	if aerr != nil {
		return aerr
	}
	delim := q.Get("delimiter")
	var items []listItem
	err := s.Store.Read(req.r.Context(), func(tx store.Tx) error {
		if _, err := tx.GetBlobContainer(req.account.ID, req.container); err != nil {
			return err
		}
		var err error
		items, err = collect(tx, req.account.ID, req.container, p, delim)
		return err
	})
	if err := storeErr(err, errContainerNotFound); err != nil {
		return err
	}
	out := blobList{ServiceEndpoint: req.endpoint, ContainerName: req.container, Prefix: p.prefix,
		Marker: p.marker, MaxResults: p.max, Delimiter: delim}
	if len(items) > p.max {
		out.NextMarker = encodeMarker(items[p.max].key)
		items = items[:p.max]
	}
	for _, it := range items {
		if it.blob != nil {
			out.Blobs.Blobs = append(out.Blobs.Blobs, toBlobItem(*it.blob, p.metadata))
		} else {
			out.Blobs.Prefixes = append(out.Blobs.Prefixes, blobPrefix{Name: it.prefix})
		}
	}
	return writeXML(req.w, out)
}

// collect gathers up to p.max+1 listing entries in name order. With a
// delimiter, the blobs under each "directory" fold into one prefix, and the
// scan jumps past them rather than reading them all.
func collect(tx store.Tx, accountID, container string, p listParams, delim string) ([]listItem, error) {
	var items []listItem
	start := p.startAt
	batch := min(p.max+1, 1000)
	for len(items) <= p.max {
		bs, err := tx.ListBlobs(store.BlobFilter{AccountID: accountID, Container: container, Prefix: p.prefix,
			StartAt: start, Limit: batch})
		if err != nil {
			return nil, err
		}
		if len(bs) == 0 {
			break
		}
		jumped := false
		for i := range bs {
			b := &bs[i]
			if delim != "" {
				if j := strings.Index(b.Name[len(p.prefix):], delim); j >= 0 {
					pre := b.Name[:len(p.prefix)+j+len(delim)]
					if len(items) == 0 || items[len(items)-1].prefix != pre {
						items = append(items, listItem{key: pre, prefix: pre})
					}
					// Resume after every name that starts with pre. U+10FFFF
					// sorts after every other character in UTF-8 byte order;
					// a name holding it right after pre is stepped over one
					// by one so the scan always advances. ("\x01" follows a name directly:
					// names hold no control characters, and PostgreSQL text no NUL.)
					next := pre + "\U0010FFFF"
					if b.Name >= next {
						next = b.Name + "\x01"
					}
					start, jumped = next, true
					break
				}
			}
			items = append(items, listItem{key: b.Name, blob: b})
			start = b.Name + "\x01"
			if len(items) > p.max {
				break
			}
		}
		if !jumped && len(bs) < batch {
			break
		}
	}
	return items, nil
}
