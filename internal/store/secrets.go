package store

import "time"

// Vault is the data-plane side of a Microsoft.KeyVault/vaults resource: what
// the secrets service needs to find a vault by the name in its host and to
// encrypt its secrets. Vault names are globally unique, as in Azure (they
// are DNS labels), and compared case-insensitively.
type Vault struct {
	Name       string // as created; lookups are case-insensitive
	ResourceID string // the ARM resource id
	TenantID   string
	// DataKeySealed is the vault's AES-256 data key, sealed under the master
	// key with the vault name bound in as additional data.
	DataKeySealed   []byte
	RetentionDays   int  // soft-delete retention, 7–90
	PurgeProtection bool // once on, never off
	CreatedAt       time.Time
}

// Secret is one secret name in a vault: which version is current and
// whether the whole secret (every version) is soft-deleted.
type Secret struct {
	Vault          string // vault name; read back lower-cased
	Name           string // as first set; lookups are case-insensitive
	CurrentVersion string
	// DeletedAt is zero while the secret is live; ScheduledPurgeAt is when a
	// soft-deleted secret is purged for good.
	DeletedAt        time.Time
	ScheduledPurgeAt time.Time
}

// SecretVersion is one version of a secret. The value is only ever stored
// sealed under the vault's data key.
type SecretVersion struct {
	Vault       string
	Name        string
	Version     string // 32 lower-case hex characters
	ValueSealed []byte
	ContentType string
	Tags        map[string]string
	Enabled     bool
	NotBefore   time.Time // zero: none
	Expires     time.Time // zero: none
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// SecretFilter narrows ListSecrets. Results are ordered by lower-cased name.
type SecretFilter struct {
	Vault   string
	Deleted bool   // list soft-deleted secrets instead of live ones
	After   string // resume after this name (case-insensitive, exclusive)
	Limit   int    // 0: backend default (1000)
}

// SecretTx covers vaults, secrets and their versions.
type SecretTx interface {
	// CreateVault fails with ErrConflict if the name is taken (in any tenant).
	CreateVault(Vault) error
	// UpdateVault replaces a vault's settings by name (not its data key).
	UpdateVault(Vault) error
	GetVault(name string) (Vault, error)
	// DeleteVault deletes the vault with every secret and version in it.
	DeleteVault(name string) error

	// PutSecret creates or replaces a secret by (vault, name).
	PutSecret(Secret) error
	GetSecret(vault, name string) (Secret, error)
	ListSecrets(SecretFilter) ([]Secret, error)
	// ListSecretsPurgeDue lists soft-deleted secrets of every vault whose
	// ScheduledPurgeAt is before t, oldest first.
	ListSecretsPurgeDue(before time.Time, limit int) ([]Secret, error)
	// PurgeSecret deletes a secret and every version of it.
	PurgeSecret(vault, name string) error

	// CreateSecretVersion fails with ErrConflict if the version exists and
	// with ErrNotFound if the secret does not.
	CreateSecretVersion(SecretVersion) error
	// UpdateSecretVersion replaces a version's attributes, content type and
	// tags (not its value).
	UpdateSecretVersion(SecretVersion) error
	GetSecretVersion(vault, name, version string) (SecretVersion, error)
	// ListSecretVersions lists a secret's versions ordered by version,
	// resuming after the given version (exclusive); limit 0 means 1000.
	ListSecretVersions(vault, name, after string, limit int) ([]SecretVersion, error)
}
