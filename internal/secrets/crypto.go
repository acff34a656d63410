package secrets

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
)

// Sealer encrypts with the master key (a *seal.Key): it wraps the vaults'
// data keys and seals backups.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// dataKeys unwraps vault data keys and remembers them by the hash of the
// sealed bytes, so a vault re-created under the same name (with a new key)
// never meets an old entry, and the master key is used once per vault.
type dataKeys struct {
	mu   sync.Mutex
	keys map[[sha256.Size]byte]*seal.Key
}

// maxCachedDataKeys bounds the cache; past it the cache starts over.
const maxCachedDataKeys = 4096

func vaultKeyAD(vault string) []byte { return []byte("keyvault-data-key\x00" + strings.ToLower(vault)) }

// newDataKey makes a vault's data key and returns it sealed under the
// master key, bound to the vault name.
func newDataKey(master Sealer, vault string) ([]byte, error) {
	k, err := seal.NewRandomKey()
	if err != nil {
		return nil, err
	}
	return master.Seal([]byte(k.Encode()), vaultKeyAD(vault))
}

// errWrongMasterKey: a vault's data key does not open under this master key.
var errWrongMasterKey = errors.New("a vault's data key does not open under this master key")

func (d *dataKeys) get(master Sealer, vault string, sealed []byte) (*seal.Key, error) {
	sum := sha256.Sum256(append(vaultKeyAD(vault), sealed...))
	d.mu.Lock()
	k, ok := d.keys[sum]
	d.mu.Unlock()
	if ok {
		return k, nil
	}
	text, err := master.Open(sealed, vaultKeyAD(vault))
	if err != nil {
		return nil, fmt.Errorf("vault %s: %w: %w", vault, errWrongMasterKey, err)
	}
	k, err = seal.ParseKey(text)
	if err != nil {
		return nil, fmt.Errorf("vault %s: data key: %w", vault, err)
	}
	d.mu.Lock()
	if d.keys == nil || len(d.keys) >= maxCachedDataKeys {
		d.keys = make(map[[sha256.Size]byte]*seal.Key)
	}
	d.keys[sum] = k
	d.mu.Unlock()
	return k, nil
}

// valueAD binds a sealed value to its vault, secret and version, so a
// ciphertext moved to another row does not open.
func valueAD(vault, name, version string) []byte {
	return []byte("keyvault-secret\x00" + strings.ToLower(vault) + "\x00" + strings.ToLower(name) + "\x00" + version)
}

func (s *Server) sealValue(v store.Vault, name, version string, value []byte) ([]byte, error) {
	k, err := s.keys.get(s.Master, v.Name, v.DataKeySealed)
	if err != nil {
		return nil, err
	}
	return k.Seal(value, valueAD(v.Name, name, version))
}

func (s *Server) openValue(v store.Vault, name, version string, sealed []byte) ([]byte, error) {
	k, err := s.keys.get(s.Master, v.Name, v.DataKeySealed)
	if err != nil {
		return nil, err
	}
	out, err := k.Open(sealed, valueAD(v.Name, name, version))
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s/%s: %w", v.Name, name, version, err)
	}
	return out, nil
}
