package secrets

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

func deletedNotFound(name string) *kvError {
	return newError(http.StatusNotFound, codeSecretNotFound, "Deleted Secret not found: %s", name)
}

// deleteSecret soft-deletes every version of a secret (DELETE
// /secrets/{name}) and answers with the DeletedSecretBundle, without the
// value.
func (s *Server) deleteSecret(req *request) (response, error) {
	var sec store.Secret
	var cur store.SecretVersion
	err := s.Store.Write(req.Context(), func(tx store.Tx) error {
		var err error
		if sec, cur, err = s.readVersion(req, tx); err != nil {
			return err
		}
		now := s.now().UTC().Truncate(time.Second)
		sec.DeletedAt = now
		sec.ScheduledPurgeAt = now.AddDate(0, 0, req.vault.RetentionDays)
		return tx.PutSecret(sec)
	})
	if err != nil {
		return response{}, storeError(err)
	}
	req.access.Item = "secrets/" + sec.Name
	return response{http.StatusOK, req.bundle(sec, cur, nil)}, nil
}

// readDeleted loads a soft-deleted secret and its current version.
func (s *Server) readDeleted(req *request, tx store.Tx) (store.Secret, store.SecretVersion, error) {
	name := req.route.name
	sec, err := tx.GetSecret(req.vault.Name, name)
	if errors.Is(err, store.ErrNotFound) || err == nil && sec.DeletedAt.IsZero() {
		return sec, store.SecretVersion{}, deletedNotFound(name)
	}
	if err != nil {
		return sec, store.SecretVersion{}, err
	}
	cur, err := tx.GetSecretVersion(req.vault.Name, sec.Name, sec.CurrentVersion)
	return sec, cur, err
}

func (s *Server) getDeleted(req *request, tx store.Tx) (response, error) {
	sec, cur, err := s.readDeleted(req, tx)
	if err != nil {
		return response{}, err
	}
	return response{http.StatusOK, req.bundle(sec, cur, nil)}, nil
}

func (s *Server) listDeleted(req *request, tx store.Tx) (response, error) {
	return s.listByName(req, tx, true)
}

// recoverSecret undoes a soft delete and answers with the current version's
// bundle, without the value.
func (s *Server) recoverSecret(req *request) (response, error) {
	var sec store.Secret
	var cur store.SecretVersion
	err := s.Store.Write(req.Context(), func(tx store.Tx) error {
		var err error
		if sec, cur, err = s.readDeleted(req, tx); err != nil {
			return err
		}
		sec.DeletedAt, sec.ScheduledPurgeAt = time.Time{}, time.Time{}
		return tx.PutSecret(sec)
	})
	if err != nil {
		return response{}, storeError(err)
	}
	return response{http.StatusOK, req.bundle(sec, cur, nil)}, nil
}

// purgeSecret deletes a soft-deleted secret for good: 204, or 403 while
// the vault has purge protection (then only the retention period ends it).
func (s *Server) purgeSecret(req *request) (response, error) {
	if req.vault.PurgeProtection {
		return response{}, &kvError{status: http.StatusForbidden, code: codeForbidden, inner: innerPurgeProtection,
			message: "Operation \"purge\" is not allowed because purge protection is enabled for this vault. Key Vault service will automatically purge it after the retention period has passed."}
	}
	err := s.Store.Write(req.Context(), func(tx store.Tx) error {
		sec, _, err := s.readDeleted(req, tx)
		if err != nil {
			return err
		}
		return tx.PurgeSecret(req.vault.Name, sec.Name)
	})
	if err != nil {
		return response{}, storeError(err)
	}
	return response{status: http.StatusNoContent}, nil
}

// PurgeDue purges the soft-deleted secrets whose retention has ended, in
// every vault, and reports how many it purged.
func (s *Server) PurgeDue(ctx context.Context) (int, error) {
	n := 0
	err := s.Store.Write(ctx, func(tx store.Tx) error {
		n = 0
		due, err := tx.ListSecretsPurgeDue(s.now(), 500)
		if err != nil {
			return err
		}
		for _, sec := range due {
			if err := tx.PurgeSecret(sec.Vault, sec.Name); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// Run purges due secrets every interval until ctx ends.
func (s *Server) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n, err := s.PurgeDue(ctx); err != nil && ctx.Err() == nil {
			s.logger().Warn("purging deleted secrets", "err", err)
		} else if n > 0 {
			s.logger().Info("purged deleted secrets past their retention", "count", n)
		}
	}
}
