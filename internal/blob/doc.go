// Package blob is Signet's Blob-compatible data plane: the subset of the
// Azure Blob Storage REST API (reference section 9, azblob v1.8.3) that the
// official clients use for block blobs — containers, Put Blob, Put Block,
// Put Block List, Get Block List, ranged Get Blob, properties and metadata,
// flat and hierarchical listing, conditional requests — behind bearer
// tokens and RBAC data actions, with errors in Blob's XML shape.
//
// It owns: addressing (path-style /{account}/… and host-style
// {account}.{suffix}), token checks and the Bearer challenge, RBAC checks at
// account and container scope, the access log for every operation, the
// control-plane hooks of Microsoft.Storage/storageAccounts (endpoints, the
// account's sealed content key, deleting its data), and the sweep that
// removes content files nothing refers to. Bytes live in the content
// subpackage (encrypted files); metadata in the store.
//
// A blob becomes visible only when whole: its bytes are committed to a
// content file (synced and renamed) before the metadata transaction that
// names it, and files are removed only after the transaction that stopped
// naming them. A Put Blob body up to Server.InlineMax (64 KiB by default)
// skips the file: it is sealed (content.SealInline, bound to account,
// container and blob name) and stored in the blob's record, so the one
// metadata transaction makes bytes and metadata durable and visible
// together. Blocks and larger bodies always go to files.
//
// Every operation is in the access log. A write is acknowledged only once
// its record is committed; a read (GET, HEAD) queues its record
// (AccessAsync, when the recorder has it) and answers without waiting.
//
// It must not import internal/arm, internal/sts or internal/keys: tokens are
// checked through a small verifier interface, so the service could run as
// its own process.
package blob
