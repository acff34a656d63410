// Package directory holds the small pieces of Signet's directory that need
// care to get right: object and client ids, client-secret generation, the
// client-secret hash scheme stored in store.Credential.SecretHash, and
// constructors for principals (service principals and managed identities).
//
// Secret hashing. Client secrets are generated here with 256 bits from
// crypto/rand, so they cannot be guessed or found by a dictionary; a slow
// password hash (bcrypt, scrypt, argon2) would buy nothing against such
// secrets and would cost tens of milliseconds on every token request. The
// scheme is therefore HMAC-SHA256 keyed with a per-secret random salt:
//
//	hash = 0x01 || salt (16 bytes) || HMAC-SHA256(key=salt, secret)
//
// The leading version byte lets a future scheme coexist with stored hashes.
// Verification compares in constant time.
//
// It imports store only.
package directory
