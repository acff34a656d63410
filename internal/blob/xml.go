package blob

import (
	"encoding/base64"
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// XML shapes of the REST API (azblob's generated models read them).

type xmlMetadata map[string]string

// MarshalXML writes <Metadata><name>value</name>…</Metadata> in name order.
func (m xmlMetadata) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if err := e.EncodeElement(m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

type containerList struct {
	XMLName         xml.Name        `xml:"EnumerationResults"`
	ServiceEndpoint string          `xml:"ServiceEndpoint,attr"`
	Prefix          string          `xml:"Prefix"`
	Marker          string          `xml:"Marker,omitempty"`
	MaxResults      int             `xml:"MaxResults,omitempty"`
	Containers      []containerItem `xml:"Containers>Container"`
	NextMarker      string          `xml:"NextMarker"`
}

type containerItem struct {
	Name       string              `xml:"Name"`
	Properties containerProperties `xml:"Properties"`
	Metadata   xmlMetadata         `xml:"Metadata,omitempty"`
}

type containerProperties struct {
	LastModified          string `xml:"Last-Modified"`
	ETag                  string `xml:"Etag"`
	LeaseStatus           string `xml:"LeaseStatus"`
	LeaseState            string `xml:"LeaseState"`
	HasImmutabilityPolicy bool   `xml:"HasImmutabilityPolicy"`
	HasLegalHold          bool   `xml:"HasLegalHold"`
}

type blobList struct {
	XMLName         xml.Name `xml:"EnumerationResults"`
	ServiceEndpoint string   `xml:"ServiceEndpoint,attr"`
	ContainerName   string   `xml:"ContainerName,attr"`
	Prefix          string   `xml:"Prefix"`
	Marker          string   `xml:"Marker,omitempty"`
	MaxResults      int      `xml:"MaxResults,omitempty"`
	Delimiter       string   `xml:"Delimiter,omitempty"`
	Blobs           blobsSegment
	NextMarker      string `xml:"NextMarker"`
}

type blobsSegment struct {
	XMLName  xml.Name     `xml:"Blobs"`
	Blobs    []blobItem   `xml:"Blob"`
	Prefixes []blobPrefix `xml:"BlobPrefix"`
}

type blobPrefix struct {
	Name string `xml:"Name"`
}

type blobItem struct {
	Name       string         `xml:"Name"`
	Properties blobProperties `xml:"Properties"`
	Metadata   xmlMetadata    `xml:"Metadata,omitempty"`
}

type blobProperties struct {
	CreationTime       string `xml:"Creation-Time"`
	LastModified       string `xml:"Last-Modified"`
	ETag               string `xml:"Etag"`
	ContentLength      int64  `xml:"Content-Length"`
	ContentType        string `xml:"Content-Type"`
	ContentEncoding    string `xml:"Content-Encoding"`
	ContentLanguage    string `xml:"Content-Language"`
	ContentMD5         string `xml:"Content-MD5"`
	ContentDisposition string `xml:"Content-Disposition"`
	CacheControl       string `xml:"Cache-Control"`
	BlobType           string `xml:"BlobType"`
	AccessTier         string `xml:"AccessTier"`
	AccessTierInferred bool   `xml:"AccessTierInferred"`
	LeaseStatus        string `xml:"LeaseStatus"`
	LeaseState         string `xml:"LeaseState"`
	ServerEncrypted    bool   `xml:"ServerEncrypted"`
}

type blockListResponse struct {
	XMLName     xml.Name   `xml:"BlockList"`
	Committed   []xmlBlock `xml:"CommittedBlocks>Block"`
	Uncommitted []xmlBlock `xml:"UncommittedBlocks>Block"`
}

type xmlBlock struct {
	Name string `xml:"Name"`
	Size int64  `xml:"Size"`
}

// httpDate formats a time as HTTP and the XML listings want it (RFC 1123,
// GMT).
func httpDate(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

func toBlobItem(b store.Blob, withMetadata bool) blobItem {
	it := blobItem{Name: b.Name, Properties: blobProperties{
		CreationTime: httpDate(b.CreatedAt), LastModified: httpDate(b.LastModified), ETag: b.ETag,
		ContentLength: b.Size, ContentType: contentType(b), ContentEncoding: b.ContentEncoding,
		ContentLanguage: b.ContentLanguage, ContentDisposition: b.ContentDisposition, CacheControl: b.CacheControl,
		BlobType: "BlockBlob", AccessTier: "Hot", AccessTierInferred: true,
		LeaseStatus: "unlocked", LeaseState: "available", ServerEncrypted: true,
	}}
	if len(b.ContentMD5) > 0 {
		it.Properties.ContentMD5 = base64.StdEncoding.EncodeToString(b.ContentMD5)
	}
	if withMetadata {
		it.Metadata = xmlMetadata(b.Metadata)
		if it.Metadata == nil {
			it.Metadata = xmlMetadata{}
		}
	}
	return it
}

func contentType(b store.Blob) string {
	if b.ContentType == "" {
		return "application/octet-stream"
	}
	return b.ContentType
}

// writeXML answers 200 with an XML document.
func writeXML(w http.ResponseWriter, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return internal(err)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(xml.Header))
	w.Write(body)
	return nil
}
