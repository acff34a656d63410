// Package secrets is Signet's Key Vault-compatible secrets data plane: the
// service the official azsecrets client and the az CLI talk to unchanged
// (wire-protocol reference section 8: challenge-based auth 8.1, the REST
// surface 8.2, JSON shapes 8.3, errors 8.4), plus the control-plane hooks
// that own the Microsoft.KeyVault/vaults resource type's properties.
//
// Addressing. A vault is chosen by host name, {vault}.{DNSSuffix}[:port],
// as in Azure ({vault}.vault.azure.net); the challenge names the resource
// https://{DNSSuffix}[:port], so azsecrets can keep challenge-resource
// verification on. For a machine without DNS set up for the suffix, a
// vault may also be addressed path-style, https://{any other host}/{vault}
// (e.g. https://127.0.0.1:8446/myvault): the client must then set
// azsecrets.ClientOptions.DisableChallengeResourceVerification, as with
// every Key Vault emulator. Ids in responses use the vault URL the client
// used. Caveat of the path-style form: azsecrets' ID.Name and ID.Version
// assume the path starts at /secrets and mis-read path-style ids; code that
// derives names from ids should use the host form.
//
// Every request, in order: the vault is resolved (an unknown vault is 404);
// the bearer token is verified (signature against the STS keys, issuer,
// audience, lifetime, through a TokenVerifier that caches verified tokens)
// and its tenant must be the vault's, else 401 with the challenge; RBAC
// decides the data action at the vault or at the single secret's scope
// (…/vaults/{vault}/secrets/{name}), else 403 ForbiddenByRbac naming the
// least-privileged built-in role that would allow it; then the operation
// runs; and the access is recorded (caller, vault, secret, version, action,
// result, caller address, the token's uti).
//
// Caches and propagation. The vault record, the caller's role assignments
// and the decisions made from them (authz.CachingAuthorizer) and GET's
// secret version (sealed; every GET decrypts its own copy, no plaintext is
// kept) are cached per replica and
// validated on every request against the store's generations: counters the
// store moves in the same transaction as any change to RBAC or to vaults
// and secrets. A change made through this replica takes effect on its very
// next request; one made through another replica within the generation
// poll interval (250 ms by default). Azure documents that role assignment
// changes can take minutes to propagate; this is the same contract with a
// much shorter bound. If the generations cannot be read, the caches are
// bypassed. Every check still runs on every request: token signature,
// issuer, audience and lifetime (the verifier caches only verified tokens
// until they expire), the tenant, RBAC, and the version's enabled, nbf and
// exp.
//
// When the access record is durable. A write's record (set, update,
// delete, recover, purge, restore) is committed before the response, as
// the write is. A read's record (get, list, list versions, get deleted,
// backup), and that of a request refused before its operation ran, is
// queued for the audit recorder's next group commit and the response goes
// out without waiting for it: waiting made the log's write transaction
// most of a GET's cost. Nothing is dropped (a full queue blocks the request
// until there is room, and shutdown commits the queue), but a crash can
// lose the last few milliseconds of read records, never a write's. A read
// is refused (500) if the record cannot even be queued (the recorder is
// closed), so no secret leaves unrecorded by design.
//
// Encryption at rest: each vault has its own AES-256 data key, sealed under
// the master key with the vault's name bound in; each secret value is
// sealed with AES-256-GCM under the data key with vault, name and version
// bound in as additional data. Backups are sealed under the master key
// bound to the tenant, so they restore only into a vault of the same tenant.
// No secret value appears in the store, a log line or an error message.
// GET's body is encoded by hand (encode.go, held byte for byte to
// encoding/json by tests); the plaintext and the encoded body are zeroed
// once the response is written or refused (net/http's and TLS's own
// buffers are beyond reach).
//
// A deleted vault's secrets go with it (in the control plane's transaction):
// Azure keeps a deleted vault recoverable; Signet does not keep vaults.
//
// This package must not import the control plane (internal/arm; it fills
// arm.TypeHooks structurally), the token service (sts) or the key manager
// (keys): it verifies tokens through jwt and could run as its own process.
package secrets
