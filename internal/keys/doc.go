// Package keys owns the custody of Signet's token-signing keys: generating
// RSA-2048 keys with a self-signed certificate (for x5t/x5c), sealing them
// under the master key on the store, rotating them, and exporting the
// published ones as a JWKS (RFC 7517).
//
// A key's life (store.SigningKey): published from PublishAt; signs from
// ActiveAt (PublishAt + Lead, so verifiers that cache the JWKS learn it before
// any token carries it) until a newer key becomes active; stays published
// until UnpublishAt, after every token it signed has expired; then deleted.
// Replicas share keys through the store; each decision that creates or
// changes keys is made inside one store Write that re-reads the keys, so
// racing replicas agree.
//
// Signing and key lookups are served from memory. Private keys exist in
// clear only in memory, never in logs or on disk.
//
// It may import store, seal and jwt, and nothing else of Signet.
package keys
