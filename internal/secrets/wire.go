package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Wire shapes of section 8.3. Times are integer unix seconds: azcore
// decodes them into int64 and a float fails.

type attributesJSON struct {
	Enabled         *bool  `json:"enabled,omitempty"`
	NotBefore       *int64 `json:"nbf,omitempty"`
	Expires         *int64 `json:"exp,omitempty"`
	Created         *int64 `json:"created,omitempty"`
	Updated         *int64 `json:"updated,omitempty"`
	RecoveryLevel   string `json:"recoveryLevel,omitempty"`
	RecoverableDays *int   `json:"recoverableDays,omitempty"`
}

// bundleJSON is SecretBundle, SecretItem, DeletedSecretBundle and
// DeletedSecretItem in one: the fields a shape lacks stay empty and are
// omitted.
type bundleJSON struct {
	Value              *string           `json:"value,omitempty"`
	ID                 string            `json:"id"`
	ContentType        string            `json:"contentType,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	Attributes         attributesJSON    `json:"attributes"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        int64             `json:"deletedDate,omitempty"`
	ScheduledPurgeDate int64             `json:"scheduledPurgeDate,omitempty"`
}

type listJSON struct {
	Value    []bundleJSON `json:"value"`
	NextLink *string      `json:"nextLink"`
}

// setParams is the body of a set (value required) or an update (value
// absent).
type setParams struct {
	Value       *string            `json:"value"`
	ContentType *string            `json:"contentType"`
	Attributes  *attributesJSON    `json:"attributes"`
	Tags        *map[string]string `json:"tags"`
}

// maxBodyBytes bounds request bodies: a 25 KiB value escaped as \uXXXX is
// six times longer, plus room for tags. Restore carries whole backups.
const (
	maxBodyBytes    = 256 << 10
	maxRestoreBytes = 16 << 20
)

// decodeBody reads one JSON object, and nothing after it, into v.
func decodeBody(r *http.Request, limit int64, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return newError(http.StatusRequestEntityTooLarge, codeTooLarge, "The request body is larger than %d bytes.", limit)
	}
	if err != nil {
		return badParameter("The request body could not be read.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badParameter("The request body is empty; a JSON object is required.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return &kvError{status: http.StatusBadRequest, code: codeBadParameter,
			message: "The request body is not valid JSON for this operation.", cause: err}
	}
	if dec.More() {
		return badParameter("The request body has data after its JSON object.")
	}
	return nil
}

// checkParams validates what a set or update may carry.
func checkParams(p *setParams) error {
	if p.ContentType != nil && len(*p.ContentType) > maxContentTypeLen {
		return badParameter("The content type must be at most %d characters.", maxContentTypeLen)
	}
	if p.Tags != nil {
		if err := checkTags(*p.Tags); err != nil {
			return err
		}
	}
	return nil
}

// applyParams writes a set's or update's content type, tags and attributes
// onto a version. Fields absent from the body keep their values.
func applyParams(v *store.SecretVersion, p *setParams) {
	if p.ContentType != nil {
		v.ContentType = *p.ContentType
	}
	if p.Tags != nil {
		v.Tags = *p.Tags
	}
	if a := p.Attributes; a != nil {
		if a.Enabled != nil {
			v.Enabled = *a.Enabled
		}
		if a.NotBefore != nil {
			v.NotBefore = time.Unix(*a.NotBefore, 0).UTC()
		}
		if a.Expires != nil {
			v.Expires = time.Unix(*a.Expires, 0).UTC()
		}
	}
}

// recoveryLevel is what Azure reports for a vault's soft-delete settings.
func recoveryLevel(v store.Vault) string {
	switch short := v.RetentionDays < 90; {
	case short && v.PurgeProtection:
		return "CustomizedRecoverable"
	case short:
		return "CustomizedRecoverable+Purgeable"
	case v.PurgeProtection:
		return "Recoverable"
	}
	return "Recoverable+Purgeable"
}

func unixPtr(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

func attributesOf(vault store.Vault, v store.SecretVersion) attributesJSON {
	enabled, days := v.Enabled, vault.RetentionDays
	return attributesJSON{
		Enabled:         &enabled,
		NotBefore:       unixPtr(v.NotBefore),
		Expires:         unixPtr(v.Expires),
		Created:         unixPtr(v.CreatedAt),
		Updated:         unixPtr(v.UpdatedAt),
		RecoveryLevel:   recoveryLevel(vault),
		RecoverableDays: &days,
	}
}

// bundle is a version as SecretBundle (value nil: without it).
func (req *request) bundle(sec store.Secret, v store.SecretVersion, value *string) bundleJSON {
	b := bundleJSON{
		Value:       value,
		ID:          req.base + "/secrets/" + sec.Name + "/" + v.Version,
		ContentType: v.ContentType,
		Tags:        v.Tags,
		Attributes:  attributesOf(req.vault, v),
	}
	if !sec.DeletedAt.IsZero() {
		b.RecoveryID = req.base + "/deletedsecrets/" + sec.Name
		b.DeletedDate = sec.DeletedAt.Unix()
		b.ScheduledPurgeDate = sec.ScheduledPurgeAt.Unix()
	}
	return b
}

// item is a secret as SecretItem: the id without a version.
func (req *request) item(sec store.Secret, current store.SecretVersion) bundleJSON {
	b := req.bundle(sec, current, nil)
	b.ID = req.base + "/secrets/" + sec.Name
	return b
}

// nextLink builds the link to the page after the given name or version. It
// carries api-version and the continuation itself, since azsecrets follows
// it as-is (section 8.2).
func (req *request) nextLink(path, after string, size int) *string {
	q := url.Values{}
	q.Set("api-version", req.URL.Query().Get("api-version"))
	q.Set("$skiptoken", base64.RawURLEncoding.EncodeToString([]byte(after)))
	if size != maxPageSize {
		q.Set("maxresults", fmt.Sprint(size))
	}
	s := req.base + path + "?" + q.Encode()
	return &s
}

// page reads maxresults and $skiptoken: the page size and the name or
// version to resume after.
func (req *request) page() (size int, after string, err error) {
	q := req.URL.Query()
	size = maxPageSize
	if v := q.Get("maxresults"); v != "" {
		var n int
		if _, err := fmt.Sscanf(v, "%d", &n); err != nil || n < 1 || n > maxPageSize || fmt.Sprint(n) != v {
			return 0, "", badParameter("maxresults must be an integer from 1 to %d.", maxPageSize)
		}
		size = n
	}
	if v := q.Get("$skiptoken"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil || len(b) > maxSecretNameLen {
			return 0, "", badParameter("The $skiptoken is not valid.")
		}
		after = string(b)
	}
	return size, after, nil
}
