package secrets

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/signet-platform/signet/internal/seal"
	"github.com/signet-platform/signet/internal/store"
)

// Sealer encrypts with the master key (a *seal.Key): it wraps the vaults'
// data keys and seals backups.
type Sealer interface {
	Seal(plaintext, additionalData []byte) ([]byte, error)
	Open(sealed, additionalData []byte) ([]byte, error)
}

// dataKeys unwraps vault data keys and remembers them by vault, each with
// the sealed bytes it was unwrapped from: an entry serves only the very
// same sealed key, so a vault re-created under the same name (with a new
// key) never meets an old entry, and the master key is used once per vault.
type dataKeys struct {
	mu   sync.RWMutex
	keys map[string]dataKey // by lower-case vault name
}

type dataKey struct {
	sealed []byte // a copy of what key was unwrapped from
	key    *seal.Key
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
	name := strings.ToLower(vault)
	d.mu.RLock()
	e, ok := d.keys[name]
	d.mu.RUnlock()
	if ok && bytes.Equal(e.sealed, sealed) {
		return e.key, nil
	}
	text, err := master.Open(sealed, vaultKeyAD(vault))
	if err != nil {
		return nil, fmt.Errorf("vault %s: %w: %w", vault, errWrongMasterKey, err)
	}
	k, err := seal.ParseKey(text)
	if err != nil {
		return nil, fmt.Errorf("vault %s: data key: %w", vault, err)
	}
	d.mu.Lock()
	if d.keys == nil || len(d.keys) >= maxCachedDataKeys {
		d.keys = make(map[string]dataKey)
	}
	d.keys[name] = dataKey{sealed: bytes.Clone(sealed), key: k}
	d.mu.Unlock()
	return k, nil
}

// valueAD binds a sealed value to its vault, secret and version, so a
// ciphertext moved to another row does not open.
func valueAD(vault, name, version string) []byte {
	return appendValueAD(nil, vault, name, version)
}

// appendValueAD appends valueAD's bytes to dst, so that a caller can keep
// them on its stack.
func appendValueAD(dst []byte, vault, name, version string) []byte {
	dst = append(dst, "keyvault-secret\x00"...)
	dst = appendLower(dst, vault)
	dst = append(dst, 0)
	dst = appendLower(dst, name)
	dst = append(dst, 0)
	return append(dst, version...)
}

// appendLower appends strings.ToLower(s), folding ASCII in place (vault and
// secret names are ASCII) and leaving anything else to strings.ToLower.
func appendLower(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(dst, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
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
	var buf [256]byte // 16 + a name of at most 24 + 1 + one of at most 127 + 1 + a version of 32
	out, err := k.Open(sealed, appendValueAD(buf[:0], v.Name, name, version))
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s/%s: %w", v.Name, name, version, err)
	}
	return out, nil
}
