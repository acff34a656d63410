package directory

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/signet-platform/signet/internal/store"
)

// NewID returns a new random (version 4) GUID in lower case, the form Entra
// and ARM use for object, client, tenant and assignment ids.
func NewID() string {
	return uuid.New().String()
}

const (
	secretBytes = 32 // 256 bits of entropy
	hintLen     = 3

	hashVersion1 = 0x01
	saltLen      = 16
	hashLenV1    = 1 + saltLen + sha256.Size
)

// GenerateSecret returns a new client secret and its hint (its first three
// characters, shown to operators to tell secrets apart). The secret is 43
// characters of unpadded base64url over 256 random bits: URL- and
// form-safe, so it needs no escaping in a token request body.
func GenerateSecret() (secret, hint string, err error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("directory: generating client secret: %w", err)
	}
	secret = base64.RawURLEncoding.EncodeToString(b)
	return secret, secret[:hintLen], nil
}

// HashSecret returns the stored form of a client secret (see the package
// documentation for the scheme). Each call uses a fresh salt, so hashing the
// same secret twice gives different results; use VerifySecret to compare.
func HashSecret(secret string) []byte {
	out := make([]byte, 1+saltLen, hashLenV1)
	out[0] = hashVersion1
	// crypto/rand.Read never fails on supported platforms (Go 1.24+ crashes
	// the program instead of returning an error).
	rand.Read(out[1:])
	return append(out, mac(out[1:1+saltLen], secret)...)
}

// VerifySecret reports whether secret is the one hash was made from. A hash
// of an unknown version or the wrong length never verifies.
func VerifySecret(hash []byte, secret string) bool {
	if len(hash) != hashLenV1 || hash[0] != hashVersion1 {
		return false
	}
	want := hash[1+saltLen:]
	got := mac(hash[1:1+saltLen], secret)
	return subtle.ConstantTimeCompare(got, want) == 1
}

func mac(salt []byte, secret string) []byte {
	h := hmac.New(sha256.New, salt)
	h.Write([]byte(secret))
	return h.Sum(nil)
}

// NewServicePrincipal returns an enabled service principal with fresh object
// and client ids. The caller stores it.
func NewServicePrincipal(tenantID, displayName string, now time.Time) store.Principal {
	return store.Principal{
		ObjectID:    NewID(),
		ClientID:    NewID(),
		TenantID:    tenantID,
		Kind:        store.KindServicePrincipal,
		DisplayName: displayName,
		Enabled:     true,
		CreatedAt:   now.UTC(),
	}
}

// NewManagedIdentity returns an enabled managed identity with fresh object
// and client ids. kind must be store.KindSystemAssigned or
// store.KindUserAssigned; resourceID is the id tokens carry as xms_mirid (the
// host resource for a system-assigned identity, the identity's own resource
// for a user-assigned one). Any other kind is a programming error and panics:
// a managed identity without its kind would be matched by neither lookup.
func NewManagedIdentity(tenantID string, kind store.PrincipalKind, resourceID, displayName string, now time.Time) store.Principal {
	if kind != store.KindSystemAssigned && kind != store.KindUserAssigned {
		panic(fmt.Sprintf("directory: NewManagedIdentity with kind %q", kind))
	}
	return store.Principal{
		ObjectID:    NewID(),
		ClientID:    NewID(),
		TenantID:    tenantID,
		Kind:        kind,
		DisplayName: displayName,
		ResourceID:  resourceID,
		Enabled:     true,
		CreatedAt:   now.UTC(),
	}
}
