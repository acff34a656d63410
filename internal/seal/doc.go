// Package seal owns Signet's master key and the authenticated encryption of
// secrets at rest under it (signing keys, CA keys, vault secrets).
//
// Sealing is AES-256-GCM (NIST SP 800-38D) with a random 96-bit nonce and a
// version byte in front. Every ciphertext is bound to the row it belongs to by
// additional data (for example "signing-key:"+kid), as ory/hydra's aead
// package does, so a sealed value copied into another row does not open.
//
// The master key lives in a file that only its owner can read, or in an
// environment variable; it must never be stored beside the data it protects.
//
// This package must not import any other Signet package.
package seal
