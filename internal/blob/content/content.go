package content

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

const (
	magic      = "SGNB"
	version1   = 1
	headerSize = 32
	saltSize   = 24
	tagSize    = 16
	// KeySize is the size of an account key.
	KeySize = 32
	// DefaultChunkLog2 gives 64 KiB chunks: small enough that a ranged read
	// decrypts little it does not return, large enough that the 16-byte tag
	// and the per-chunk call cost nothing measurable.
	DefaultChunkLog2 = 16
	tmpSuffix        = ".tmp"
)

// ErrCorrupt means a content file failed authentication or is malformed.
var ErrCorrupt = errors.New("content: file is corrupt or was tampered with")

// Store keeps content files under Dir, one directory per account.
type Store struct {
	Dir string
	// ChunkLog2 is log2 of the plaintext chunk size of new files (10–24);
	// zero means DefaultChunkLog2. Files record their own, so it may change.
	ChunkLog2 int

	mu      sync.Mutex
	madeDir map[string]bool // directories known to exist and be durable
	pools   sync.Map        // chunk size → *sync.Pool of []byte (sealed-chunk sized)
}

func (s *Store) chunkLog2() int {
	if s.ChunkLog2 == 0 {
		return DefaultChunkLog2
	}
	return s.ChunkLog2
}

// buffer returns a buffer of at least chunk+tagSize bytes from a pool.
func (s *Store) buffer(chunk int) *[]byte {
	p, _ := s.pools.LoadOrStore(chunk, &sync.Pool{New: func() any {
		b := make([]byte, chunk+tagSize)
		return &b
	}})
	return p.(*sync.Pool).Get().(*[]byte)
}

func (s *Store) release(chunk int, b *[]byte) {
	if p, ok := s.pools.Load(chunk); ok {
		p.(*sync.Pool).Put(b)
	}
}

// validID accepts only the ids this package makes (32 lower-case hex
// digits) and account ids without path separators, so no id can name a
// path outside Dir.
func validID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for _, c := range id {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func validAccount(id string) bool {
	return id != "" && id != "." && id != ".." && !strings.ContainsAny(id, `/\`+"\x00")
}

func (s *Store) path(accountID, fileID string) (string, error) {
	if !validAccount(accountID) || !validID(fileID) {
		return "", fmt.Errorf("content: invalid account or file id %q/%q", accountID, fileID)
	}
	return filepath.Join(s.Dir, accountID, fileID[:2], fileID), nil
}

// ensureDir creates dir (and its parents) and syncs each parent a new
// directory was added to, so a rename into it survives a crash.
func (s *Store) ensureDir(dir string) error {
	s.mu.Lock()
	known := s.madeDir[dir]
	s.mu.Unlock()
	if known {
		return nil
	}
	var created []string
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil {
			break
		}
		created = append(created, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("content: %w", err)
	}
	for _, d := range created {
		if err := syncDir(filepath.Dir(d)); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.madeDir == nil {
		s.madeDir = map[string]bool{}
	}
	s.madeDir[dir] = true
	s.mu.Unlock()
	return nil
}

func (s *Store) forgetDirs(prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for d := range s.madeDir {
		if d == prefix || strings.HasPrefix(d, prefix+string(filepath.Separator)) {
			delete(s.madeDir, d)
		}
	}
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("content: sync dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("content: sync dir %s: %w", dir, err)
	}
	return nil
}

func newFileID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fileAEAD derives the file key from the account key and the salt.
func fileAEAD(accountKey, salt []byte) (cipher.AEAD, error) {
	return deriveAEAD(accountKey, salt, "signet blob content file v1")
}

// deriveAEAD is AES-256-GCM under the key HKDF-SHA256 derives from the
// account key, the salt and info (which keeps file and inline keys apart).
func deriveAEAD(accountKey, salt []byte, info string) (cipher.AEAD, error) {
	if len(accountKey) != KeySize {
		return nil, fmt.Errorf("content: account key must be %d bytes", KeySize)
	}
	k, err := hkdf.Key(sha256.New, accountKey, salt, info, 32)
	if err != nil {
		return nil, fmt.Errorf("content: derive key (%s): %w", info, err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// chunkAD is the additional data of chunk idx of file id.
func chunkAD(dst []byte, fileID string, idx uint64, final bool) []byte {
	dst = append(dst[:0], fileID...)
	dst = binary.BigEndian.AppendUint64(dst, idx)
	if final {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func chunkNonce(n *[12]byte, idx uint64) []byte {
	binary.BigEndian.PutUint64(n[4:], idx)
	return n[:]
}

// Remove deletes content files; missing files are not an error.
func (s *Store) Remove(accountID string, fileIDs ...string) error {
	var errs []error
	for _, id := range fileIDs {
		p, err := s.path(accountID, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("content: %w", err))
		}
	}
	return errors.Join(errs...)
}

// RemoveAccount deletes an account's directory and everything in it.
func (s *Store) RemoveAccount(accountID string) error {
	if !validAccount(accountID) {
		return fmt.Errorf("content: invalid account id %q", accountID)
	}
	dir := filepath.Join(s.Dir, accountID)
	s.forgetDirs(dir)
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("content: %w", err)
	}
	return nil
}

// Accounts lists the account directories present.
func (s *Store) Accounts() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("content: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && validAccount(e.Name()) {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// Sweep removes an account's temporary files (writes that never
// committed, named <id>.tmp beside their final names) and its content
// files for which keep returns false. It must
// not run while writers of that account are active.
func (s *Store) Sweep(accountID string, keep func(fileID string) bool) (removed int, err error) {
	if !validAccount(accountID) {
		return 0, fmt.Errorf("content: invalid account id %q", accountID)
	}
	dir := filepath.Join(s.Dir, accountID)
	shards, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("content: %w", err)
	}
	var errs []error
	for _, sh := range shards {
		if !sh.IsDir() || len(sh.Name()) != 2 {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, sh.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, f := range files {
			if validID(f.Name()) && keep(f.Name()) {
				continue
			}
			if err := os.Remove(filepath.Join(dir, sh.Name(), f.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
				continue
			}
			removed++
		}
	}
	return removed, errors.Join(errs...)
}
