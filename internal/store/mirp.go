package store

import "time"

// MIRPCA is one certificate authority of MIRP, the identity resource
// provider: the root that signs node and identity certificates. It is
// separate from the HTTPS serving CA.
type MIRPCA struct {
	ID             string // GUID; the private key is sealed with additional data "mirp-ca:"+ID
	CertificateDER []byte
	// PrivateKeySealed is the PKCS#8 private key encrypted under the master key.
	PrivateKeySealed []byte
	NotBefore        time.Time
	NotAfter         time.Time
	CreatedAt        time.Time
}

// JoinToken is a one-time, expiring enrollment token bound to a host
// resource. Only a hash of the token is stored.
type JoinToken struct {
	Hash       []byte // SHA-256 of the token as handed to the operator
	ResourceID string // the VM or hybrid machine a node enrolled with it will host
	ExpiresAt  time.Time
	CreatedAt  time.Time
	// UsedAt is when the token was consumed (zero while unused); NodeID is
	// the node enrolled with it.
	UsedAt time.Time
	NodeID string
}

// MIRPNode is an enrolled host agent.
type MIRPNode struct {
	ID         string // GUID
	ResourceID string // the host resource it is bound to
	CreatedAt  time.Time
	RemovedAt  time.Time // zero while the node is active
}

// IssuedCertKind says what an issued certificate authenticates.
type IssuedCertKind string

const (
	IssuedNode     IssuedCertKind = "node"     // a node's mTLS client certificate
	IssuedIdentity IssuedCertKind = "identity" // a managed identity's credential
)

// IssuedCertificate records a certificate MIRP issued, so that it can be
// revoked. An identity certificate also has a Credential row (CredentialID)
// for its principal, which is what the STS looks up; revoking deletes it.
type IssuedCertificate struct {
	Serial           string // lower-case hex of the certificate serial number
	Kind             IssuedCertKind
	NodeID           string
	PrincipalID      string // identity certificates only
	CredentialID     string // identity certificates only
	ThumbprintSHA256 []byte // SHA-256 over the DER certificate
	NotAfter         time.Time
	CreatedAt        time.Time
	RevokedAt        time.Time // zero while not revoked
}

// IssuedCertificateFilter narrows ListIssuedCertificates. Zero fields match all.
type IssuedCertificateFilter struct {
	Kind        IssuedCertKind
	NodeID      string
	PrincipalID string
	// Active keeps only certificates not revoked.
	Active bool
}

// MIRPTx covers MIRP's CA, join tokens, nodes and issued certificates.
type MIRPTx interface {
	CreateMIRPCA(MIRPCA) error
	// ListMIRPCAs lists every CA, ordered by NotBefore, then ID.
	ListMIRPCAs() ([]MIRPCA, error)

	// CreateJoinToken fails with ErrConflict if the hash is already stored.
	CreateJoinToken(JoinToken) error
	// ConsumeJoinToken marks the token with this hash used by nodeID at now,
	// as one compare-and-set: of concurrent calls for one token, at most one
	// succeeds. It fails with ErrNotFound if no such token is stored, and
	// with ErrConflict if it was already used or expired at or before now;
	// the record is returned with ErrConflict so the caller can tell which.
	ConsumeJoinToken(hash []byte, nodeID string, now time.Time) (JoinToken, error)
	// PruneJoinTokens deletes tokens that expired before the given time.
	PruneJoinTokens(before time.Time) (int, error)

	CreateMIRPNode(MIRPNode) error
	GetMIRPNode(id string) (MIRPNode, error)
	// ListMIRPNodes lists nodes ordered by CreatedAt, then ID; resourceID != ""
	// keeps the nodes bound to that resource (compared case-insensitively).
	ListMIRPNodes(resourceID string) ([]MIRPNode, error)
	// MarkMIRPNodeRemoved sets RemovedAt if it is zero; ErrNotFound if no node.
	MarkMIRPNodeRemoved(id string, at time.Time) error

	// CreateIssuedCertificate fails with ErrConflict if the serial exists.
	CreateIssuedCertificate(IssuedCertificate) error
	GetIssuedCertificate(serial string) (IssuedCertificate, error)
	// ListIssuedCertificates lists matching certificates ordered by
	// CreatedAt, then Serial.
	ListIssuedCertificates(IssuedCertificateFilter) ([]IssuedCertificate, error)
	// RevokeIssuedCertificate sets RevokedAt if it is zero; ErrNotFound if
	// no such serial.
	RevokeIssuedCertificate(serial string, at time.Time) error
	// PruneIssuedCertificates deletes records of certificates that expired
	// before the given time.
	PruneIssuedCertificates(before time.Time) (int, error)
}
