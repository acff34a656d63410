package content

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
)

// Inline content: a small blob's bytes sealed as one value the caller keeps
// beside the blob's metadata (in the same database row), so that a single
// transaction makes them durable and visible together — no file, no file
// sync.
//
// Format (version 1): a 32-byte header laid out as a content file's — magic
// "SGNI", version, three reserved bytes, a 24-byte random salt — then the
// whole plaintext sealed as one AES-256-GCM message under a key derived
// with HKDF-SHA256 from the account key and the salt. Every sealing draws a
// fresh salt and so a fresh key, which makes the fixed zero nonce safe. The
// additional data is the identity the caller names (account, container,
// blob), length-prefixed part by part, so sealed content copied to another
// blob's record fails to open.
const (
	inlineMagic = "SGNI"
	inlineInfo  = "signet blob inline v1"
)

// InlineOverhead is how many bytes sealing adds to the plaintext.
const InlineOverhead = headerSize + tagSize

// SealInline seals plaintext for the blob named by identity.
func SealInline(accountKey, plaintext []byte, identity ...string) ([]byte, error) {
	out := make([]byte, headerSize, headerSize+len(plaintext)+tagSize)
	copy(out, inlineMagic)
	out[4] = version1
	rand.Read(out[8:headerSize])
	aead, err := inlineAEAD(accountKey, out[8:headerSize])
	if err != nil {
		return nil, err
	}
	var nonce [12]byte
	return aead.Seal(out, nonce[:], plaintext, inlineAD(identity)), nil
}

// OpenInline authenticates and decrypts what SealInline returned for the
// same identity; anything else fails with ErrCorrupt.
func OpenInline(accountKey, sealed []byte, identity ...string) ([]byte, error) {
	if len(sealed) < InlineOverhead || string(sealed[:4]) != inlineMagic || sealed[4] != version1 {
		return nil, fmt.Errorf("%w: inline content: bad header", ErrCorrupt)
	}
	aead, err := inlineAEAD(accountKey, sealed[8:headerSize])
	if err != nil {
		return nil, err
	}
	var nonce [12]byte
	plain, err := aead.Open(nil, nonce[:], sealed[headerSize:], inlineAD(identity))
	if err != nil {
		return nil, fmt.Errorf("%w: inline content", ErrCorrupt)
	}
	return plain, nil
}

func inlineAEAD(accountKey, salt []byte) (cipher.AEAD, error) {
	return deriveAEAD(accountKey, salt, inlineInfo)
}

// inlineAD length-prefixes each part, so no two identities share bytes
// ("a","bc" and "ab","c" differ).
func inlineAD(identity []string) []byte {
	n := len(inlineInfo)
	for _, p := range identity {
		n += 4 + len(p)
	}
	ad := make([]byte, 0, n)
	ad = append(ad, inlineInfo...)
	for _, p := range identity {
		ad = binary.BigEndian.AppendUint32(ad, uint32(len(p)))
		ad = append(ad, p...)
	}
	return ad
}
