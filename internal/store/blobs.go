package store

import "time"

// BlobAccount is the data-plane side of a storage account: the name blob
// endpoints are addressed by (unique across the deployment, as Azure's are
// across the cloud), the id that names its directory of content files, and
// its content key sealed under the master key.
type BlobAccount struct {
	Name       string // 3–24 lower-case letters and digits
	ID         string // GUID; content files live under a directory of this name
	ResourceID string // ARM id of the Microsoft.Storage/storageAccounts resource
	TenantID   string
	// KeySealed is the account's 256-bit content key, sealed under the
	// master key with additional data "blob-account:"+ID.
	KeySealed []byte
	CreatedAt time.Time
}

// BlobContainer is a container of an account.
type BlobContainer struct {
	AccountID    string
	Name         string
	Metadata     map[string]string
	ETag         string // quoted, as sent in ETag headers
	LastModified time.Time
	CreatedAt    time.Time
}

// BlobExtent is one piece of a blob's content: a staged block, or the whole
// body of a Put Blob (ID ""). Content files are immutable; a block list
// commit only rearranges extents, never copies bytes.
type BlobExtent struct {
	ID     string `json:"id,omitempty"` // block id as sent (base64), "" for a Put Blob body
	FileID string `json:"file"`         // content file under the account's directory
	Size   int64  `json:"size"`
}

// Blob is a committed block blob.
type Blob struct {
	AccountID          string
	Container          string
	Name               string
	Size               int64
	ContentType        string
	ContentEncoding    string
	ContentLanguage    string
	ContentDisposition string
	CacheControl       string
	ContentMD5         []byte // nil when unknown
	Metadata           map[string]string
	ETag               string // quoted
	CreatedAt          time.Time
	LastModified       time.Time
	// Extents are the blob's content in order, when it lives in content
	// files.
	Extents []BlobExtent
	// Inline is the content of a small blob kept in the record itself,
	// sealed by the data plane (opaque here), so that one transaction
	// makes bytes and metadata durable and visible together. A blob has
	// Inline or Extents, never both; nil means the content is in Extents.
	// ListBlobs leaves it nil: listings carry no content.
	Inline []byte
}

// UncommittedBlock is a block staged with Put Block and not yet committed.
type UncommittedBlock struct {
	AccountID string
	Container string
	Blob      string
	ID        string // block id as sent (base64)
	FileID    string
	Size      int64
	CreatedAt time.Time
}

// BlobFilter narrows ListBlobs and ListBlobContainers. Names compare by
// bytes (UTF-8 order), as Azure lists them.
type BlobFilter struct {
	AccountID string
	Container string // ListBlobs only
	Prefix    string
	// StartAt keeps names >= StartAt ("" starts at the beginning).
	StartAt string
	Limit   int // 0: no limit
}

// BlobTx covers storage accounts' containers, blobs and staged blocks.
// Deleting a container, blob or account returns the content file ids it
// referenced so the caller can remove the files once the deletion commits.
type BlobTx interface {
	// CreateBlobAccount fails with ErrConflict if the name or ID is taken.
	CreateBlobAccount(BlobAccount) error
	GetBlobAccount(name string) (BlobAccount, error)
	GetBlobAccountByResourceID(resourceID string) (BlobAccount, error)
	ListBlobAccounts() ([]BlobAccount, error)
	// DeleteBlobAccount deletes the account with its containers, blobs and
	// staged blocks.
	DeleteBlobAccount(name string) error

	// CreateBlobContainer fails with ErrConflict if the container exists.
	CreateBlobContainer(BlobContainer) error
	GetBlobContainer(accountID, name string) (BlobContainer, error)
	// UpdateBlobContainer replaces metadata, ETag and LastModified.
	UpdateBlobContainer(BlobContainer) error
	// ListBlobContainers lists an account's containers ordered by name.
	ListBlobContainers(BlobFilter) ([]BlobContainer, error)
	// DeleteBlobContainer deletes the container, its blobs and staged
	// blocks, and returns the content files they referenced.
	DeleteBlobContainer(accountID, name string) ([]string, error)

	// PutBlob creates or replaces a blob; the container must exist
	// (ErrNotFound otherwise).
	PutBlob(Blob) error
	GetBlob(accountID, container, name string) (Blob, error)
	// ListBlobs lists a container's blobs ordered by name, without their
	// Inline content.
	ListBlobs(BlobFilter) ([]Blob, error)
	// DeleteBlob deletes a blob and its staged blocks and returns the
	// content files they referenced.
	DeleteBlob(accountID, container, name string) ([]string, error)

	// PutUncommittedBlock stages a block, replacing a staged block of the
	// same id; it returns the replaced block's file id ("" if none). The
	// container must exist.
	PutUncommittedBlock(UncommittedBlock) (replacedFileID string, err error)
	// ListUncommittedBlocks lists up to limit (0: all) of a blob's staged
	// blocks ordered by id.
	ListUncommittedBlocks(accountID, container, blob string, limit int) ([]UncommittedBlock, error)
	// DeleteUncommittedBlocks drops every staged block of a blob.
	DeleteUncommittedBlocks(accountID, container, blob string) error
	// PruneUncommittedBlocks drops up to limit staged blocks created before
	// the given time and returns them.
	PruneUncommittedBlocks(before time.Time, limit int) ([]UncommittedBlock, error)
	// BlobFileIDs lists every content file an account's blobs and staged
	// blocks reference.
	BlobFileIDs(accountID string) ([]string, error)
}
