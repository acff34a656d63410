package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the length of a master key in bytes (AES-256).
const KeySize = 32

// version1 marks AES-256-GCM with a random 96-bit nonce:
// version(1) || nonce(12) || ciphertext || tag(16).
const version1 byte = 1

// ErrOpen is returned by Open when a sealed value does not decrypt: wrong
// master key, tampered or truncated bytes, or additional data that differs
// from the one it was sealed with. The causes are deliberately not told apart.
var ErrOpen = errors.New("seal: cannot open sealed value (wrong master key, corrupted data or wrong additional data)")

// Key is an AES-256 master key. It is safe for concurrent use.
type Key struct {
	raw  [KeySize]byte
	aead cipher.AEAD
}

// NewRandomKey returns a fresh key from the system's secure random source.
func NewRandomKey() (*Key, error) {
	var raw [KeySize]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("seal: generate master key: %w", err)
	}
	return newKey(raw)
}

// ParseKey parses the text form of a key: standard base64 of 32 bytes,
// surrounding whitespace ignored.
func ParseKey(text []byte) (*Key, error) {
	s := strings.TrimSpace(string(text))
	if s == "" {
		return nil, errors.New("seal: master key is empty")
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		// The decoder's message quotes an offset, never the key material.
		return nil, fmt.Errorf("seal: master key is not standard base64: %w", err)
	}
	if len(b) != KeySize {
		return nil, fmt.Errorf("seal: master key decodes to %d bytes, want %d (AES-256)", len(b), KeySize)
	}
	var raw [KeySize]byte
	copy(raw[:], b)
	clear(b)
	return newKey(raw)
}

func newKey(raw [KeySize]byte) (*Key, error) {
	block, err := aes.NewCipher(raw[:])
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Key{raw: raw, aead: aead}, nil
}

// Encode returns the text form of the key that ParseKey accepts. It is the
// secret itself: write it only to places the key belongs.
func (k *Key) Encode() string {
	return base64.StdEncoding.EncodeToString(k.raw[:])
}

// Fingerprint returns a short, non-secret identifier of the key for log lines
// and error messages ("sealed under a different key than f1e2…"). It is an
// HMAC of a fixed label under the key, so it reveals nothing about the key.
func (k *Key) Fingerprint() string {
	m := hmac.New(sha256.New, k.raw[:])
	m.Write([]byte("signet master key fingerprint v1"))
	return hex.EncodeToString(m.Sum(nil)[:8])
}

// Seal encrypts and authenticates plaintext, binding it to additionalData
// (which is authenticated but not encrypted or stored).
func (k *Key) Seal(plaintext, additionalData []byte) ([]byte, error) {
	out := make([]byte, 1, 1+len(plaintext)+k.aead.Overhead())
	out[0] = version1
	return k.aead.Seal(out, nil, plaintext, k.ad(version1, additionalData)), nil
}

// Open decrypts a value made by Seal with the same key and additional data.
// Any failure is ErrOpen.
func (k *Key) Open(sealed, additionalData []byte) ([]byte, error) {
	if len(sealed) < 1+k.aead.Overhead() {
		return nil, fmt.Errorf("%w: %d bytes is too short", ErrOpen, len(sealed))
	}
	if sealed[0] != version1 {
		return nil, fmt.Errorf("%w: unknown format version %d", ErrOpen, sealed[0])
	}
	pt, err := k.aead.Open(nil, nil, sealed[1:], k.ad(version1, additionalData))
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// ad prefixes the additional data with the format version so that the version
// byte is authenticated too.
func (k *Key) ad(version byte, additionalData []byte) []byte {
	ad := make([]byte, 0, 1+len(additionalData))
	ad = append(ad, version)
	return append(ad, additionalData...)
}
