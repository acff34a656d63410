package client

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UnixTime is a time on Key Vault's wire: integer seconds since the epoch
// (§8.3). The zero time is absent (tag fields `omitzero`).
type UnixTime struct{ time.Time }

func (t UnixTime) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, t.Unix(), 10), nil
}

func (t *UnixTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*t = UnixTime{}
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("client: %s is not a unix time", b)
	}
	*t = UnixTime{time.Unix(n, 0).UTC()}
	return nil
}

// SecretAttributes are a secret version's attributes.
type SecretAttributes struct {
	Enabled         *bool    `json:"enabled,omitempty"`
	NotBefore       UnixTime `json:"nbf,omitzero"`
	Expires         UnixTime `json:"exp,omitzero"`
	Created         UnixTime `json:"created,omitzero"`
	Updated         UnixTime `json:"updated,omitzero"`
	RecoveryLevel   string   `json:"recoveryLevel,omitempty"`
	RecoverableDays *int     `json:"recoverableDays,omitempty"`
}

// Secret is Key Vault's SecretBundle, SecretItem, DeletedSecretBundle or
// DeletedSecretItem: the fields a shape lacks stay empty. Value is set only
// by GetSecret and SetSecret; a caller that prints or logs a Secret must
// decide whether Value may go with it.
type Secret struct {
	ID string `json:"id"`
	// Name is the secret's name, read from ID (the wire carries no name).
	Name string `json:"name,omitempty"`
	// Version is read from ID; "" for list items, which name no version.
	Version            string            `json:"-"`
	Value              *string           `json:"value,omitempty"`
	ContentType        string            `json:"contentType,omitempty"`
	Tags               map[string]string `json:"tags,omitempty"`
	Attributes         SecretAttributes  `json:"attributes"`
	Managed            bool              `json:"managed,omitempty"`
	KID                string            `json:"kid,omitempty"`
	RecoveryID         string            `json:"recoveryId,omitempty"`
	DeletedDate        UnixTime          `json:"deletedDate,omitzero"`
	ScheduledPurgeDate UnixTime          `json:"scheduledPurgeDate,omitzero"`
}

// WithoutValue returns s with its value dropped, for printing.
func (s Secret) WithoutValue() Secret {
	s.Value = nil
	return s
}

// SetSecretParams is a new version's value and properties. Zero fields are
// left to the vault's defaults (enabled, no validity window).
type SetSecretParams struct {
	Value       string
	ContentType string
	Tags        map[string]string
	Enabled     *bool
	NotBefore   time.Time
	Expires     time.Time
}

type setSecretBody struct {
	Value       string            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Attributes  *SecretAttributes `json:"attributes,omitempty"`
}

// fill sets Name and Version from ID, which names the vault URL this
// client used followed by /secrets/{name}[/{version}] or
// /deletedsecrets/{name}.
func (v *VaultClient) fill(s *Secret) {
	u, err := url.Parse(s.ID)
	if err != nil || !strings.EqualFold(u.Host, v.base.Host) {
		return
	}
	rest, ok := strings.CutPrefix(u.Path, v.base.Path+"/")
	if !ok {
		return
	}
	segs := strings.Split(rest, "/")
	if len(segs) < 2 || len(segs) > 3 || segs[0] != "secrets" && segs[0] != "deletedsecrets" {
		return
	}
	s.Name = segs[1]
	if len(segs) == 3 {
		s.Version = segs[2]
	}
}

func (v *VaultClient) fillAll(ss []Secret) []Secret {
	for i := range ss {
		v.fill(&ss[i])
	}
	return ss
}

// secretPath is /{collection}/{name}{suffix} with the name checked and
// escaped.
func secretPath(collection, name, suffix string) (string, error) {
	if err := checkName("secret", name); err != nil {
		return "", err
	}
	return "/" + collection + "/" + url.PathEscape(name) + suffix, nil
}

// one sends a request that answers a single secret.
func (v *VaultClient) one(ctx context.Context, method, path string, body any, what string) (Secret, error) {
	var s Secret
	if err := v.send(ctx, method, v.endpoint(path, nil), body, http.StatusOK, &s, what); err != nil {
		return Secret{}, err
	}
	v.fill(&s)
	return s, nil
}

// SetSecret stores a new version of the secret name and makes it current.
// The answer carries the value sent.
func (v *VaultClient) SetSecret(ctx context.Context, name string, p SetSecretParams) (Secret, error) {
	path, err := secretPath("secrets", name, "")
	if err != nil {
		return Secret{}, err
	}
	body := setSecretBody{Value: p.Value, ContentType: p.ContentType, Tags: p.Tags}
	if p.Enabled != nil || !p.NotBefore.IsZero() || !p.Expires.IsZero() {
		body.Attributes = &SecretAttributes{Enabled: p.Enabled, NotBefore: UnixTime{p.NotBefore}, Expires: UnixTime{p.Expires}}
	}
	return v.one(ctx, http.MethodPut, path, body, "set secret "+name)
}

// GetSecret reads a version of a secret with its value; version "" is the
// current one.
func (v *VaultClient) GetSecret(ctx context.Context, name, version string) (Secret, error) {
	suffix := "/" // the current version: GET /secrets/{name}/ (§8.2)
	if version != "" {
		if err := checkName("secret version", version); err != nil {
			return Secret{}, err
		}
		suffix += url.PathEscape(version)
	}
	path, err := secretPath("secrets", name, suffix)
	if err != nil {
		return Secret{}, err
	}
	return v.one(ctx, http.MethodGet, path, nil, "get secret "+name)
}

// ListSecrets lists the vault's secrets (without values), following
// nextLink while it stays on the vault.
func (v *VaultClient) ListSecrets(ctx context.Context) ([]Secret, error) {
	ss, err := listAll[Secret](ctx, v, "/secrets", "list secrets")
	return v.fillAll(ss), err
}

// ListSecretVersions lists every version of a secret (without values).
func (v *VaultClient) ListSecretVersions(ctx context.Context, name string) ([]Secret, error) {
	path, err := secretPath("secrets", name, "/versions")
	if err != nil {
		return nil, err
	}
	ss, err := listAll[Secret](ctx, v, path, "list versions of "+name)
	return v.fillAll(ss), err
}

// DeleteSecret soft-deletes a secret: it can be recovered or purged until
// its scheduled purge date.
func (v *VaultClient) DeleteSecret(ctx context.Context, name string) (Secret, error) {
	path, err := secretPath("secrets", name, "")
	if err != nil {
		return Secret{}, err
	}
	return v.one(ctx, http.MethodDelete, path, nil, "delete secret "+name)
}

// GetDeletedSecret reads a soft-deleted secret.
func (v *VaultClient) GetDeletedSecret(ctx context.Context, name string) (Secret, error) {
	path, err := secretPath("deletedsecrets", name, "")
	if err != nil {
		return Secret{}, err
	}
	return v.one(ctx, http.MethodGet, path, nil, "get deleted secret "+name)
}

// ListDeletedSecrets lists the vault's soft-deleted secrets.
func (v *VaultClient) ListDeletedSecrets(ctx context.Context) ([]Secret, error) {
	ss, err := listAll[Secret](ctx, v, "/deletedsecrets", "list deleted secrets")
	return v.fillAll(ss), err
}

// RecoverDeletedSecret brings a soft-deleted secret back.
func (v *VaultClient) RecoverDeletedSecret(ctx context.Context, name string) (Secret, error) {
	path, err := secretPath("deletedsecrets", name, "/recover")
	if err != nil {
		return Secret{}, err
	}
	return v.one(ctx, http.MethodPost, path, nil, "recover secret "+name)
}

// PurgeDeletedSecret deletes a soft-deleted secret for good.
func (v *VaultClient) PurgeDeletedSecret(ctx context.Context, name string) error {
	path, err := secretPath("deletedsecrets", name, "")
	if err != nil {
		return err
	}
	return v.send(ctx, http.MethodDelete, v.endpoint(path, nil), nil, http.StatusNoContent, nil, "purge secret "+name)
}

type backupBody struct {
	Value string `json:"value"` // base64url, as Key Vault sends it
}

// BackupSecret returns every version of a secret as one opaque blob, which
// RestoreSecret accepts in any vault of the same tenant.
func (v *VaultClient) BackupSecret(ctx context.Context, name string) ([]byte, error) {
	path, err := secretPath("secrets", name, "/backup")
	if err != nil {
		return nil, err
	}
	var out backupBody
	if err := v.send(ctx, http.MethodPost, v.endpoint(path, nil), nil, http.StatusOK, &out, "back up secret "+name); err != nil {
		return nil, err
	}
	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(out.Value, "="))
	if err != nil || len(blob) == 0 {
		return nil, errors.New("client: the vault's backup is not base64url")
	}
	return blob, nil
}

// RestoreSecret recreates a backed-up secret; its name must be free in
// this vault (neither live nor soft-deleted).
func (v *VaultClient) RestoreSecret(ctx context.Context, backup []byte) (Secret, error) {
	if len(backup) == 0 {
		return Secret{}, errors.New("client: the backup is empty")
	}
	body := backupBody{Value: base64.RawURLEncoding.EncodeToString(backup)}
	return v.one(ctx, http.MethodPost, "/secrets/restore", body, "restore secret")
}
