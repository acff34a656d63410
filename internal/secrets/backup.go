package secrets

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// A backup is opaque to clients: a magic prefix, then the JSON below sealed
// (AES-256-GCM) under the master key with the vault's tenant bound in as
// additional data. It restores into any vault of the same tenant; in
// another tenant, or after any change to a byte, it does not open.
const backupMagic = "SGNTKVB1"

// maxBackupVersions bounds what one backup carries.
const maxBackupVersions = 500

type backupPayload struct {
	Name     string          `json:"name"`
	Current  string          `json:"current"`
	Versions []backupVersion `json:"versions"`
}

type backupVersion struct {
	Version     string            `json:"version"`
	Value       []byte            `json:"value"`
	ContentType string            `json:"contentType,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Enabled     bool              `json:"enabled"`
	NotBefore   int64             `json:"nbf,omitempty"`
	Expires     int64             `json:"exp,omitempty"`
	Created     int64             `json:"created"`
	Updated     int64             `json:"updated"`
}

func backupAD(tenantID string) []byte {
	return []byte("keyvault-backup\x00" + strings.ToLower(tenantID))
}

type backupJSON struct {
	Value string `json:"value"` // base64url, as azsecrets encodes []byte here
}

// backupSecret returns every version of a live secret as one blob.
func (s *Server) backupSecret(req *request, tx store.Tx) (response, error) {
	name := req.route.name
	sec, err := liveSecret(tx, req.vault.Name, name)
	if err != nil {
		return response{}, err
	}
	vs, err := tx.ListSecretVersions(req.vault.Name, name, "", maxBackupVersions+1)
	if err != nil {
		return response{}, err
	}
	if len(vs) > maxBackupVersions {
		return response{}, badParameter("The secret has more than %d versions and cannot be backed up.", maxBackupVersions)
	}
	p := backupPayload{Name: sec.Name, Current: sec.CurrentVersion}
	for _, v := range vs {
		value, err := s.openValue(req.vault, sec.Name, v.Version, v.ValueSealed)
		if err != nil {
			return response{}, err
		}
		p.Versions = append(p.Versions, backupVersion{
			Version: v.Version, Value: value, ContentType: v.ContentType, Tags: v.Tags, Enabled: v.Enabled,
			NotBefore: unixOrZero(v.NotBefore), Expires: unixOrZero(v.Expires),
			Created: v.CreatedAt.Unix(), Updated: v.UpdatedAt.Unix(),
		})
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return response{}, internalError(err)
	}
	sealed, err := s.Master.Seal(plain, backupAD(req.vault.TenantID))
	clear(plain)
	if err != nil {
		return response{}, internalError(err)
	}
	blob := append([]byte(backupMagic), sealed...)
	return response{http.StatusOK, backupJSON{Value: base64.RawURLEncoding.EncodeToString(blob)}}, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(u int64) time.Time {
	if u == 0 {
		return time.Time{}
	}
	return time.Unix(u, 0).UTC()
}

var errBadBackup = badParameter("Backup blob contains invalid or corrupt version, or was made in another tenant.")

// restoreSecret recreates a backed-up secret, every version of it, in this
// vault. The name must be free (neither live nor soft-deleted): 409.
func (s *Server) restoreSecret(req *request) (response, error) {
	var body backupJSON
	if err := decodeBody(req.Request, maxRestoreBytes, &body); err != nil {
		return response{}, err
	}
	blob, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(body.Value, "="))
	if err != nil || !bytes.HasPrefix(blob, []byte(backupMagic)) {
		return response{}, errBadBackup
	}
	plain, err := s.Master.Open(blob[len(backupMagic):], backupAD(req.vault.TenantID))
	if err != nil {
		return response{}, errBadBackup
	}
	var p backupPayload
	err = json.Unmarshal(plain, &p)
	clear(plain)
	if err != nil || !validSecretName(p.Name) || len(p.Versions) == 0 || len(p.Versions) > maxBackupVersions {
		return response{}, errBadBackup
	}
	sec := store.Secret{Vault: req.vault.Name, Name: p.Name, CurrentVersion: p.Current}
	versions := make([]store.SecretVersion, 0, len(p.Versions))
	var current store.SecretVersion
	for _, bv := range p.Versions {
		if !validVersion(bv.Version) {
			return response{}, errBadBackup
		}
		sealed, err := s.sealValue(req.vault, p.Name, bv.Version, bv.Value)
		clear(bv.Value)
		if err != nil {
			return response{}, internalError(err)
		}
		v := store.SecretVersion{Vault: req.vault.Name, Name: p.Name, Version: bv.Version, ValueSealed: sealed,
			ContentType: bv.ContentType, Tags: bv.Tags, Enabled: bv.Enabled,
			NotBefore: fromUnix(bv.NotBefore), Expires: fromUnix(bv.Expires),
			CreatedAt: fromUnix(bv.Created), UpdatedAt: fromUnix(bv.Updated)}
		if v.Version == p.Current {
			current = v
		}
		versions = append(versions, v)
	}
	if current.Version == "" {
		return response{}, errBadBackup
	}
	req.access.Item = "secrets/" + p.Name
	err = s.Store.Write(req.Context(), func(tx store.Tx) error {
		_, err := tx.GetSecret(req.vault.Name, p.Name)
		if err == nil {
			return newError(http.StatusConflict, codeConflict, "Secret %s already exists in this vault (or is deleted and recoverable); restore needs the name free.", p.Name)
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if err := tx.PutSecret(sec); err != nil {
			return err
		}
		for _, v := range versions {
			if err := tx.CreateSecretVersion(v); err != nil {
				return fmt.Errorf("restore version %s: %w", v.Version, err)
			}
		}
		return nil
	})
	if err != nil {
		return response{}, storeError(err)
	}
	return response{http.StatusOK, req.bundle(sec, current, nil)}, nil
}
