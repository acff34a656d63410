package keys

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// Rotate creates a key that is published now and signs from now+Lead. If a
// key is already waiting to become active it is returned instead, so
// concurrent rotations (on any replica) stack no more than one pending key.
// The returned record carries no private key.
func (m *Manager) Rotate(ctx context.Context) (store.SigningKey, error) {
	return m.create(ctx, m.Lead, func(recs []store.SigningKey, now time.Time) (store.SigningKey, bool) {
		if p := pendingRecord(recs, now); p != nil {
			return *p, true
		}
		return store.SigningKey{}, false
	})
}

// Tick is one maintenance pass: reload from the store; rotate when Period is
// set, the active key has signed for Period and nothing is pending; mark keys
// superseded by a newer active key as retired, with the end of their
// publication; delete keys whose publication has ended.
func (m *Manager) Tick(ctx context.Context) error {
	if err := m.reload(ctx); err != nil {
		return err
	}
	now := m.now()
	if m.rotationDue(m.Keys(), now) {
		// Decided again inside the Write: another replica may have rotated.
		if _, err := m.create(ctx, m.Lead, func(recs []store.SigningKey, now time.Time) (store.SigningKey, bool) {
			if !m.rotationDue(recs, now) {
				return store.SigningKey{}, true
			}
			return store.SigningKey{}, false
		}); err != nil {
			return err
		}
		now = m.now()
	}
	if updates, deletes := m.maintenance(m.Keys(), now); len(updates) == 0 && len(deletes) == 0 {
		return nil
	}
	var updated, deleted []string
	err := m.Store.Write(ctx, func(tx store.Tx) error {
		updated, deleted = nil, nil
		recs, err := tx.ListSigningKeys()
		if err != nil {
			return err
		}
		updates, deletes := m.maintenance(recs, m.now())
		for _, u := range updates {
			if err := tx.UpdateSigningKey(u); err != nil {
				return err
			}
			updated = append(updated, u.KID)
		}
		for _, kid := range deletes {
			if err := tx.DeleteSigningKey(kid); err != nil {
				return err
			}
			deleted = append(deleted, kid)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("keys: retire signing keys: %w", err)
	}
	for _, kid := range updated {
		m.logger().Info("signing key retired", "kid", kid)
	}
	for _, kid := range deleted {
		m.logger().Info("signing key unpublished and deleted", "kid", kid)
	}
	return m.reload(ctx)
}

// Run calls Tick every RefreshInterval until ctx ends.
func (m *Manager) Run(ctx context.Context) {
	every := m.RefreshInterval
	if every <= 0 {
		every = DefaultRefreshInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Tick(ctx); err != nil && ctx.Err() == nil {
				// Errors name kids and causes, never key material.
				m.logger().Error("signing key maintenance failed", "err", err)
			}
		}
	}
}

// create makes a new key with PublishAt = now and ActiveAt = now+activeIn,
// unless existing finds, inside the Write, that no key should be made. The
// RSA key is generated before the Write, so no transaction waits on it.
func (m *Manager) create(ctx context.Context, activeIn time.Duration, existing func([]store.SigningKey, time.Time) (store.SigningKey, bool)) (store.SigningKey, error) {
	fresh, err := newKeyRecord(m.Seal, m.now())
	if err != nil {
		return store.SigningKey{}, err
	}
	var result store.SigningKey
	var created bool
	err = m.Store.Write(ctx, func(tx store.Tx) error {
		recs, err := tx.ListSigningKeys()
		if err != nil {
			return err
		}
		now := m.now()
		if rec, ok := existing(recs, now); ok {
			result, created = rec, false
			return nil
		}
		rec := fresh
		rec.PublishAt, rec.ActiveAt, rec.CreatedAt = now, now.Add(activeIn), now
		if err := tx.CreateSigningKey(rec); err != nil {
			return err
		}
		result, created = rec, true
		return nil
	})
	if err != nil {
		return store.SigningKey{}, fmt.Errorf("keys: create signing key: %w", err)
	}
	if created {
		m.logger().Info("signing key created", "kid", result.KID,
			"publishAt", result.PublishAt, "activeAt", result.ActiveAt)
	}
	if err := m.reload(ctx); err != nil {
		return store.SigningKey{}, err
	}
	result.PrivateKeySealed = nil
	return result, nil
}

// rotationDue reports whether automatic rotation should create a key now.
func (m *Manager) rotationDue(recs []store.SigningKey, now time.Time) bool {
	if m.Period <= 0 || pendingRecord(recs, now) != nil {
		return false
	}
	a := activeRecord(recs, now)
	return a != nil && !a.ActiveAt.Add(m.Period).After(now)
}

// maintenance returns the retirements and deletions due at now. A key is
// superseded when the next key by ActiveAt is active; it retired at that
// key's ActiveAt, and tokens it signed live at most MaxTokenLifetime longer.
func (m *Manager) maintenance(recs []store.SigningKey, now time.Time) (updates []store.SigningKey, deletes []string) {
	sorted := slices.Clone(recs)
	slices.SortFunc(sorted, func(a, b store.SigningKey) int { return byActive(&a, &b) })
	active := activeRecord(sorted, now)
	for i, r := range sorted {
		if i+1 < len(sorted) && !sorted[i+1].ActiveAt.After(now) && (r.RetiredAt.IsZero() || r.UnpublishAt.IsZero()) {
			if r.RetiredAt.IsZero() {
				r.RetiredAt = sorted[i+1].ActiveAt
			}
			r.UnpublishAt = r.RetiredAt.Add(m.MaxTokenLifetime + unpublishSkew)
		}
		if !r.UnpublishAt.IsZero() && !now.Before(r.UnpublishAt) && (active == nil || r.KID != active.KID) {
			deletes = append(deletes, r.KID)
			continue
		}
		if r.RetiredAt != sorted[i].RetiredAt || r.UnpublishAt != sorted[i].UnpublishAt {
			updates = append(updates, r)
		}
	}
	return updates, deletes
}

// activeRecord returns the published key with the latest ActiveAt <= now.
func activeRecord(recs []store.SigningKey, now time.Time) *store.SigningKey {
	var best *store.SigningKey
	for i := range recs {
		r := &recs[i]
		if r.ActiveAt.After(now) || !published(r, now) {
			continue
		}
		if best == nil || r.ActiveAt.After(best.ActiveAt) || (r.ActiveAt.Equal(best.ActiveAt) && r.KID > best.KID) {
			best = r
		}
	}
	return best
}

// pendingRecord returns the key that will become active latest, if any key
// is not active yet.
func pendingRecord(recs []store.SigningKey, now time.Time) *store.SigningKey {
	var best *store.SigningKey
	for i := range recs {
		r := &recs[i]
		if r.ActiveAt.After(now) && (best == nil || r.ActiveAt.After(best.ActiveAt)) {
			best = r
		}
	}
	return best
}
