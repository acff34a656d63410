package secrets

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

func secretNotFound(name string) *kvError {
	return newError(http.StatusNotFound, codeSecretNotFound,
		"A secret with (name/id) %s was not found in this key vault. If you recently deleted this secret you may be able to recover it using the correct recovery command.", name)
}

func versionNotFound(name, version string) *kvError {
	return newError(http.StatusNotFound, codeSecretNotFound,
		"A secret with (name/id) %s/%s was not found in this key vault.", name, version)
}

func deletedConflict(name string) *kvError {
	return newError(http.StatusConflict, codeConflict,
		"Secret %s is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the secret can only be recovered or purged.", name)
}

func newVersion() string {
	var b [versionLen / 2]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// setSecret stores a new version and makes it current (PUT /secrets/{name}).
func (s *Server) setSecret(req *request) (response, error) {
	var p setParams
	if err := decodeBody(req.Request, maxBodyBytes, &p); err != nil {
		return response{}, err
	}
	if p.Value == nil {
		return response{}, badParameter("The secret value is required.")
	}
	if len(*p.Value) > maxValueBytes {
		return response{}, badParameter("The secret value is larger than %d bytes.", maxValueBytes)
	}
	if err := checkParams(&p); err != nil {
		return response{}, err
	}
	now := s.now().UTC().Truncate(time.Second)
	name := req.route.name
	v := store.SecretVersion{Vault: req.vault.Name, Name: name, Version: newVersion(), Enabled: true, CreatedAt: now, UpdatedAt: now}
	applyParams(&v, &p)
	sealed, err := s.sealValue(req.vault, name, v.Version, []byte(*p.Value))
	if err != nil {
		return response{}, internalError(err)
	}
	v.ValueSealed = sealed

	var sec store.Secret
	err = s.Store.Write(req.Context(), func(tx store.Tx) error {
		cur, err := tx.GetSecret(req.vault.Name, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
			sec = store.Secret{Vault: req.vault.Name, Name: name}
		case err != nil:
			return err
		case !cur.DeletedAt.IsZero():
			return deletedConflict(name)
		default:
			sec = cur
		}
		sec.CurrentVersion = v.Version
		v.Name = sec.Name
		if err := tx.PutSecret(sec); err != nil {
			return err
		}
		return tx.CreateSecretVersion(v)
	})
	if err != nil {
		return response{}, storeError(err)
	}
	req.access.Item = "secrets/" + sec.Name + "/" + v.Version
	return response{http.StatusOK, req.bundle(sec, v, p.Value)}, nil
}

// storeError is asKVError for a transaction's error, which may be nil.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	return asKVError(err)
}

// liveSecret loads a secret that is not soft-deleted: a deleted one is
// SecretNotFound, as a missing one is.
func liveSecret(tx store.Tx, vault, name string) (store.Secret, error) {
	sec, err := tx.GetSecret(vault, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && !sec.DeletedAt.IsZero() {
		return sec, secretNotFound(name)
	}
	return sec, err
}

// readVersion loads a live secret and one of its versions ("" = current).
func (s *Server) readVersion(req *request, tx store.Tx) (store.Secret, store.SecretVersion, error) {
	name, version := req.route.name, req.route.version
	sec, err := liveSecret(tx, req.vault.Name, name)
	if err != nil {
		return sec, store.SecretVersion{}, err
	}
	if version == "" {
		version = sec.CurrentVersion
	}
	v, err := tx.GetSecretVersion(req.vault.Name, name, version)
	if errors.Is(err, store.ErrNotFound) {
		return sec, v, versionNotFound(name, version)
	}
	return sec, v, err
}

// getSecret returns a version with its value, refusing a disabled, expired
// or not-yet-valid one as Key Vault does.
func (s *Server) getSecret(req *request) (response, error) {
	sec, v, err := s.liveVersion(req)
	if err != nil {
		return response{}, err
	}
	req.access.Item = "secrets/" + sec.Name + "/" + v.Version
	now := s.now()
	switch {
	case !v.Enabled:
		return response{}, &kvError{status: http.StatusForbidden, code: codeForbidden, inner: innerSecretDisabled,
			message: "Operation get is not allowed on a disabled secret."}
	case !v.Expires.IsZero() && !now.Before(v.Expires):
		return response{}, &kvError{status: http.StatusForbidden, code: codeForbidden, inner: innerSecretExpired,
			message: "Operation get is not allowed on an expired secret."}
	case !v.NotBefore.IsZero() && now.Before(v.NotBefore):
		return response{}, &kvError{status: http.StatusForbidden, code: codeForbidden, inner: innerSecretNotYet,
			message: "Operation get is not allowed on a secret that is not yet valid."}
	}
	value, err := s.openValue(req.vault, sec.Name, v.Version, v.ValueSealed)
	if err != nil {
		return response{}, internalError(err)
	}
	return response{http.StatusOK, &secretBundle{req: req, sec: sec, v: v, value: value}}, nil
}

// updateSecret changes a version's content type, tags and attributes
// (PATCH); the value never changes and is not returned.
func (s *Server) updateSecret(req *request) (response, error) {
	var p setParams
	if err := decodeBody(req.Request, maxBodyBytes, &p); err != nil {
		return response{}, err
	}
	if p.Value != nil {
		return response{}, badParameter("A secret's value cannot be updated; set a new version instead.")
	}
	if err := checkParams(&p); err != nil {
		return response{}, err
	}
	var sec store.Secret
	var v store.SecretVersion
	err := s.Store.Write(req.Context(), func(tx store.Tx) error {
		var err error
		if sec, v, err = s.readVersion(req, tx); err != nil {
			return err
		}
		applyParams(&v, &p)
		v.UpdatedAt = s.now().UTC().Truncate(time.Second)
		return tx.UpdateSecretVersion(v)
	})
	if err != nil {
		return response{}, storeError(err)
	}
	req.access.Item = "secrets/" + sec.Name + "/" + v.Version
	return response{http.StatusOK, req.bundle(sec, v, nil)}, nil
}

// listSecrets pages through the live secrets, by name, each with its
// current version's attributes.
func (s *Server) listSecrets(req *request, tx store.Tx) (response, error) {
	return s.listByName(req, tx, false)
}

func (s *Server) listByName(req *request, tx store.Tx, deleted bool) (response, error) {
	size, after, err := req.page()
	if err != nil {
		return response{}, err
	}
	secs, err := tx.ListSecrets(store.SecretFilter{Vault: req.vault.Name, Deleted: deleted, After: after, Limit: size + 1})
	if err != nil {
		return response{}, err
	}
	more := len(secs) > size
	if more {
		secs = secs[:size]
	}
	out := listJSON{Value: make([]bundleJSON, 0, len(secs))}
	for _, sec := range secs {
		cur, err := tx.GetSecretVersion(req.vault.Name, sec.Name, sec.CurrentVersion)
		if err != nil {
			return response{}, fmt.Errorf("current version of %s: %w", sec.Name, err)
		}
		out.Value = append(out.Value, req.item(sec, cur))
	}
	if more {
		path := "/secrets"
		if deleted {
			path = "/deletedsecrets"
		}
		out.NextLink = req.nextLink(path, secs[len(secs)-1].Name, size)
	}
	return response{http.StatusOK, out}, nil
}

// listVersions pages through a live secret's versions.
func (s *Server) listVersions(req *request, tx store.Tx) (response, error) {
	size, after, err := req.page()
	if err != nil {
		return response{}, err
	}
	name := req.route.name
	sec, err := liveSecret(tx, req.vault.Name, name)
	if err != nil {
		return response{}, err
	}
	vs, err := tx.ListSecretVersions(req.vault.Name, name, after, size+1)
	if err != nil {
		return response{}, err
	}
	more := len(vs) > size
	if more {
		vs = vs[:size]
	}
	out := listJSON{Value: make([]bundleJSON, 0, len(vs))}
	for _, v := range vs {
		out.Value = append(out.Value, req.bundle(sec, v, nil))
	}
	if more {
		out.NextLink = req.nextLink("/secrets/"+sec.Name+"/versions", vs[len(vs)-1].Version, size)
	}
	return response{http.StatusOK, out}, nil
}
