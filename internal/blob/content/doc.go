// Package content stores blob bytes in files, encrypted at rest.
//
// A content file is written to a temporary name, synced, renamed into place
// and its directory synced before anyone refers to it, so a file a caller
// records in the store is always whole; files nobody refers to (a crash
// between the rename and the metadata commit, a deletion whose file removal
// was cut short) are found by Sweep.
//
// Format (version 1): a 32-byte header — magic "SGNB", version, log2 of the
// chunk size, two reserved bytes, a 24-byte random salt — then the
// plaintext in fixed-size chunks, each sealed with AES-256-GCM under a file
// key derived with HKDF-SHA256 from the account key and the salt. The nonce
// is the chunk index; the additional data binds the file id, the chunk
// index and whether the chunk is the last, so chunks cannot be reordered,
// moved between files, or dropped from the end. A ranged read decrypts only
// the chunks it touches. Memory use is a chunk or two per reader or writer,
// whatever the file size.
//
// Small blobs may skip the file: SealInline seals a whole body as one
// AES-256-GCM message (fresh salt, HKDF-derived key, the caller's identity
// as additional data) for the caller to keep in its own record; see
// inline.go.
//
// It imports nothing of Signet: keys arrive as bytes, ids as strings.
package content
