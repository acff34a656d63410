package keys

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
)

// unpublishSkew is added to a retired key's publication for clock skew
// between replicas and verifiers.
const unpublishSkew = 5 * time.Minute

// DefaultRefreshInterval is how often Run reloads keys and does maintenance.
const DefaultRefreshInterval = 30 * time.Second

// ErrNoActiveKey is returned by Sign when no published key is active yet.
var ErrNoActiveKey = errors.New("keys: no active signing key")

// Manager keeps the signing keys of one replica in memory, in step with the
// store. Configure the fields, call Init once, then use it from any goroutine.
type Manager struct {
	Store store.Store
	Seal  *seal.Key
	// Lead is how long a new key is published before it signs. It must be
	// longer than the JWKS refresh interval of every verifier. With 0 a new
	// key signs at once, and concurrent rotations are no longer collapsed
	// into one pending key (there is never a pending key): for tests only.
	Lead time.Duration
	// Period rotates automatically when the active key has signed this long;
	// 0 disables automatic rotation.
	Period time.Duration
	// MaxTokenLifetime is the longest lifetime of a token signed with these
	// keys: a retired key stays published this long (plus 5m of skew) after
	// it stops signing. Required.
	MaxTokenLifetime time.Duration
	// RefreshInterval is how often Run reloads from the store (other
	// replicas' rotations); DefaultRefreshInterval when zero.
	RefreshInterval time.Duration
	Now             func() time.Time // time.Now when nil
	Logger          *slog.Logger     // slog.Default() when nil

	reloadMu sync.Mutex // one reload at a time, so a stale one never wins
	state    atomic.Pointer[keyState]
	jwks     atomic.Pointer[jwksCache]
}

// keyState is an immutable snapshot of the keys, ordered by ActiveAt then KID.
type keyState struct {
	keys  []*loadedKey
	byKID map[string]*loadedKey
}

type jwksCache struct {
	kids []string
	body []byte
}

// published reports whether k is in the JWKS at now.
func published(rec *store.SigningKey, now time.Time) bool {
	return !rec.PublishAt.After(now) && (rec.UnpublishAt.IsZero() || now.Before(rec.UnpublishAt))
}

// active returns the published key with the latest ActiveAt <= now.
func (s *keyState) active(now time.Time) *loadedKey {
	for i := len(s.keys) - 1; i >= 0; i-- {
		k := s.keys[i]
		if !k.rec.ActiveAt.After(now) && published(&k.rec, now) {
			return k
		}
	}
	return nil
}

// Init loads every key from the store, opening each (a wrong master key fails
// here, before anything is written), and creates an immediately active key
// when there is none (first start).
func (m *Manager) Init(ctx context.Context) error {
	switch {
	case m.Store == nil:
		return errors.New("keys: Manager.Store is not set")
	case m.Seal == nil:
		return errors.New("keys: Manager.Seal (the master key) is not set")
	case m.MaxTokenLifetime <= 0:
		return errors.New("keys: Manager.MaxTokenLifetime must be positive: it decides how long retired keys stay published")
	case m.Lead < 0 || m.Period < 0:
		return errors.New("keys: Manager.Lead and Manager.Period must not be negative")
	}
	if err := m.reload(ctx); err != nil {
		return err
	}
	if m.state.Load().active(m.now()) != nil {
		return nil
	}
	if _, err := m.create(ctx, 0, func(recs []store.SigningKey, now time.Time) (store.SigningKey, bool) {
		if a := activeRecord(recs, now); a != nil {
			return *a, true
		}
		return store.SigningKey{}, false
	}); err != nil {
		return err
	}
	return nil
}

// Sign signs claims with the active key. It touches neither store nor disk.
func (m *Manager) Sign(claims any) (string, error) {
	st := m.state.Load()
	if st == nil {
		return "", ErrNoActiveKey
	}
	k := st.active(m.now())
	if k == nil {
		return "", ErrNoActiveKey
	}
	return jwt.Sign(k.priv, k.rec.KID, k.jwk.X5t, claims)
}

// ActiveKID returns the kid Sign uses now, "" when there is none.
func (m *Manager) ActiveKID() string {
	st := m.state.Load()
	if st == nil {
		return ""
	}
	if k := st.active(m.now()); k != nil {
		return k.rec.KID
	}
	return ""
}

// PublicKey returns a published key, so a Manager is a jwt.KeySet for
// in-process verifiers.
func (m *Manager) PublicKey(kid string) (*rsa.PublicKey, bool) {
	st := m.state.Load()
	if st == nil {
		return nil, false
	}
	k, ok := st.byKID[kid]
	if !ok || !published(&k.rec, m.now()) {
		return nil, false
	}
	return &k.priv.PublicKey, true
}

// Keys returns the records of the keys in memory (without their sealed
// private keys), ordered by ActiveAt, for listing to operators.
func (m *Manager) Keys() []store.SigningKey {
	st := m.state.Load()
	if st == nil {
		return nil
	}
	out := make([]store.SigningKey, len(st.keys))
	for i, k := range st.keys {
		out[i] = k.rec
	}
	return out
}

// JWKS returns the published keys as a JSON Web Key Set. The bytes are
// shared between callers and must not be modified; they are rebuilt only
// when the published set changes.
func (m *Manager) JWKS() []byte {
	st := m.state.Load()
	if st == nil {
		return []byte(`{"keys":[]}`)
	}
	now := m.now()
	if c := m.jwks.Load(); c != nil && sameKIDs(c.kids, st, now) {
		return c.body
	}
	var set jwt.JWKS
	set.Keys = []jwt.JWK{}
	var kids []string
	for _, k := range st.keys {
		if published(&k.rec, now) {
			set.Keys = append(set.Keys, k.jwk)
			kids = append(kids, k.rec.KID)
		}
	}
	body, err := json.Marshal(set)
	if err != nil {
		// JWK holds only strings; this cannot happen.
		panic(fmt.Sprintf("keys: encode JWKS: %v", err))
	}
	m.jwks.Store(&jwksCache{kids: kids, body: body})
	return body
}

// sameKIDs reports whether kids are exactly the keys published at now, in
// order, without allocating.
func sameKIDs(kids []string, st *keyState, now time.Time) bool {
	i := 0
	for _, k := range st.keys {
		if !published(&k.rec, now) {
			continue
		}
		if i >= len(kids) || kids[i] != k.rec.KID {
			return false
		}
		i++
	}
	return i == len(kids)
}

// reload replaces the in-memory keys with the store's, opening keys not seen
// before. On any error the previous keys stay in place.
func (m *Manager) reload(ctx context.Context) error {
	m.reloadMu.Lock()
	defer m.reloadMu.Unlock()
	var recs []store.SigningKey
	if err := m.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		recs, err = tx.ListSigningKeys()
		return err
	}); err != nil {
		return fmt.Errorf("keys: load signing keys: %w", err)
	}
	prev := m.state.Load()
	next := &keyState{byKID: make(map[string]*loadedKey, len(recs))}
	for _, rec := range recs {
		var k *loadedKey
		if prev != nil {
			// The private key of a kid never changes; only its dates do.
			if old, ok := prev.byKID[rec.KID]; ok && bytes.Equal(old.rec.CertificateDER, rec.CertificateDER) {
				cp := *old
				cp.rec = rec
				cp.rec.PrivateKeySealed = nil
				k = &cp
			}
		}
		if k == nil {
			var err error
			if k, err = openKey(m.Seal, rec); err != nil {
				return err
			}
		}
		next.keys = append(next.keys, k)
		next.byKID[rec.KID] = k
	}
	slices.SortFunc(next.keys, func(a, b *loadedKey) int { return byActive(&a.rec, &b.rec) })
	m.state.Store(next)
	return nil
}

// byActive orders keys by ActiveAt, then KID: the order keyState keeps and
// maintenance walks.
func byActive(a, b *store.SigningKey) int {
	if c := a.ActiveAt.Compare(b.ActiveAt); c != 0 {
		return c
	}
	return strings.Compare(a.KID, b.KID)
}

func (m *Manager) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

func (m *Manager) logger() *slog.Logger {
	if m.Logger != nil {
		return m.Logger
	}
	return slog.Default()
}
