package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// secretTests are the conformance subtests for SecretTx; Run runs them.
var secretTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Vaults", testVaults},
	{"Secrets", testSecrets},
	{"SecretVersions", testSecretVersions},
	{"SecretPaging", testSecretPaging},
	{"DeleteVaultRemovesSecrets", testDeleteVaultRemovesSecrets},
}

func testVault(name string) store.Vault {
	return store.Vault{Name: name, ResourceID: "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/" + name,
		TenantID: "t1", DataKeySealed: []byte("sealed-" + name), RetentionDays: 90, CreatedAt: base}
}

func testVaults(t *testing.T, s store.Store) {
	v := testVault("kv1")
	write(t, s, func(tx store.Tx) error { return tx.CreateVault(v) })
	err := s.Write(t.Context(), func(tx store.Tx) error {
		other := testVault("KV1")
		other.TenantID = "t2"
		return tx.CreateVault(other)
	})
	wantErr(t, "CreateVault(same name, other case and tenant)", err, store.ErrConflict)

	updated := v
	updated.RetentionDays, updated.PurgeProtection = 7, true
	updated.DataKeySealed = []byte("must not change")
	write(t, s, func(tx store.Tx) error { return tx.UpdateVault(updated) })
	updated.DataKeySealed = v.DataKeySealed
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetVault(upper("kv1"))
		wantErr(t, "GetVault", err, nil)
		diff(t, "GetVault after UpdateVault (data key kept)", got, updated)
		_, err = tx.GetVault("nope")
		wantErr(t, "GetVault(missing)", err, store.ErrNotFound)
		return nil
	})
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.UpdateVault(testVault("nope")) })
	wantErr(t, "UpdateVault(missing)", err, store.ErrNotFound)
	write(t, s, func(tx store.Tx) error { return tx.DeleteVault("KV1") })
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteVault("kv1") })
	wantErr(t, "DeleteVault(again)", err, store.ErrNotFound)
}

func testSecrets(t *testing.T, s store.Store) {
	write(t, s, func(tx store.Tx) error { return tx.CreateVault(testVault("kv1")) })
	live := store.Secret{Vault: "kv1", Name: "Db-Password", CurrentVersion: "v1"}
	gone := store.Secret{Vault: "kv1", Name: "old", CurrentVersion: "v9", DeletedAt: at(time.Hour), ScheduledPurgeAt: at(91 * time.Hour)}
	write(t, s, func(tx store.Tx) error {
		for _, sec := range []store.Secret{live, gone} {
			if err := tx.PutSecret(sec); err != nil {
				return err
			}
		}
		return nil
	})
	err := s.Write(t.Context(), func(tx store.Tx) error {
		return tx.PutSecret(store.Secret{Vault: "missing", Name: "x", CurrentVersion: "v"})
	})
	wantErr(t, "PutSecret(no such vault)", err, store.ErrNotFound)

	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetSecret("KV1", "db-password")
		wantErr(t, "GetSecret", err, nil)
		diff(t, "GetSecret", got, live)
		_, err = tx.GetSecret("kv1", "nope")
		wantErr(t, "GetSecret(missing)", err, store.ErrNotFound)
		lives, err := tx.ListSecrets(store.SecretFilter{Vault: "kv1"})
		wantErr(t, "ListSecrets", err, nil)
		diff(t, "ListSecrets(live)", lives, []store.Secret{live})
		deleted, err := tx.ListSecrets(store.SecretFilter{Vault: "kv1", Deleted: true})
		wantErr(t, "ListSecrets(deleted)", err, nil)
		diff(t, "ListSecrets(deleted)", deleted, []store.Secret{gone})
		due, err := tx.ListSecretsPurgeDue(at(92*time.Hour), 0)
		wantErr(t, "ListSecretsPurgeDue", err, nil)
		diff(t, "ListSecretsPurgeDue(after the date)", due, []store.Secret{gone})
		due, err = tx.ListSecretsPurgeDue(at(90*time.Hour), 0)
		wantErr(t, "ListSecretsPurgeDue", err, nil)
		diff(t, "ListSecretsPurgeDue(before the date)", due, []store.Secret{})
		return nil
	})

	// Recovering is PutSecret with the deletion cleared; the name's case
	// as set the first time is kept only if the caller keeps it.
	recovered := gone
	recovered.DeletedAt, recovered.ScheduledPurgeAt = time.Time{}, time.Time{}
	write(t, s, func(tx store.Tx) error { return tx.PutSecret(recovered) })
	write(t, s, func(tx store.Tx) error { return tx.PurgeSecret("kv1", "DB-PASSWORD") })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListSecrets(store.SecretFilter{Vault: "kv1"})
		wantErr(t, "ListSecrets", err, nil)
		diff(t, "ListSecrets after recover and purge", got, []store.Secret{recovered})
		return nil
	})
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.PurgeSecret("kv1", "db-password") })
	wantErr(t, "PurgeSecret(again)", err, store.ErrNotFound)
}

func testSecretVersions(t *testing.T, s store.Store) {
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateVault(testVault("kv1")); err != nil {
			return err
		}
		return tx.PutSecret(store.Secret{Vault: "kv1", Name: "Api-Key", CurrentVersion: "bb"})
	})
	v1 := store.SecretVersion{Vault: "kv1", Name: "Api-Key", Version: "bb", ValueSealed: []byte("sealed-1"),
		ContentType: "text/plain", Tags: map[string]string{"env": "prod"}, Enabled: true,
		NotBefore: at(time.Minute), Expires: at(time.Hour), CreatedAt: base, UpdatedAt: base}
	v2 := store.SecretVersion{Vault: "kv1", Name: "Api-Key", Version: "aa", ValueSealed: []byte("sealed-2"),
		CreatedAt: at(time.Second), UpdatedAt: at(time.Second)}
	createAll(t, s, func(tx store.Tx, v store.SecretVersion) error { return tx.CreateSecretVersion(v) }, v1, v2)
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateSecretVersion(v1) })
	wantErr(t, "CreateSecretVersion(duplicate)", err, store.ErrConflict)
	err = s.Write(t.Context(), func(tx store.Tx) error {
		orphan := v1
		orphan.Name = "no-such-secret"
		return tx.CreateSecretVersion(orphan)
	})
	wantErr(t, "CreateSecretVersion(no secret)", err, store.ErrNotFound)

	updated := v1
	updated.ContentType, updated.Tags, updated.Enabled = "", nil, false
	updated.NotBefore, updated.Expires, updated.UpdatedAt = time.Time{}, time.Time{}, at(time.Minute)
	updated.ValueSealed = []byte("must not change")
	write(t, s, func(tx store.Tx) error { return tx.UpdateSecretVersion(updated) })
	updated.ValueSealed = v1.ValueSealed
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetSecretVersion("KV1", "api-key", "bb")
		wantErr(t, "GetSecretVersion", err, nil)
		diff(t, "GetSecretVersion after update (value kept)", got, updated)
		_, err = tx.GetSecretVersion("kv1", "api-key", "BB")
		wantErr(t, "GetSecretVersion(version in other case)", err, store.ErrNotFound)
		all, err := tx.ListSecretVersions("kv1", "API-KEY", "", 0)
		wantErr(t, "ListSecretVersions", err, nil)
		diff(t, "ListSecretVersions (by version)", all, []store.SecretVersion{v2, updated})
		return nil
	})
	err = s.Write(t.Context(), func(tx store.Tx) error {
		missing := v1
		missing.Version = "cc"
		return tx.UpdateSecretVersion(missing)
	})
	wantErr(t, "UpdateSecretVersion(missing)", err, store.ErrNotFound)

	// Purging a secret takes its versions with it.
	write(t, s, func(tx store.Tx) error { return tx.PurgeSecret("kv1", "api-key") })
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetSecretVersion("kv1", "api-key", "aa")
		wantErr(t, "GetSecretVersion after purge", err, store.ErrNotFound)
		return nil
	})
}

func testSecretPaging(t *testing.T, s store.Store) {
	const n = 7
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateVault(testVault("kv1")); err != nil {
			return err
		}
		for i := range n {
			name := fmt.Sprintf("s%02d", i)
			if err := tx.PutSecret(store.Secret{Vault: "kv1", Name: name, CurrentVersion: "v"}); err != nil {
				return err
			}
			for j := range n {
				if err := tx.CreateSecretVersion(store.SecretVersion{Vault: "kv1", Name: name,
					Version: fmt.Sprintf("%02x", j), ValueSealed: []byte("x"), CreatedAt: base, UpdatedAt: base}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		var names []string
		after := ""
		for {
			page, err := tx.ListSecrets(store.SecretFilter{Vault: "kv1", After: after, Limit: 3})
			wantErr(t, "ListSecrets", err, nil)
			if len(page) == 0 || err != nil {
				break
			}
			for _, p := range page {
				names = append(names, p.Name)
			}
			after = page[len(page)-1].Name
		}
		diff(t, "paged secret names", names, []string{"s00", "s01", "s02", "s03", "s04", "s05", "s06"})

		var versions []string
		after = ""
		for {
			page, err := tx.ListSecretVersions("kv1", "s03", after, 2)
			wantErr(t, "ListSecretVersions", err, nil)
			if len(page) == 0 || err != nil {
				break
			}
			for _, p := range page {
				versions = append(versions, p.Version)
			}
			after = page[len(page)-1].Version
		}
		diff(t, "paged versions", versions, []string{"00", "01", "02", "03", "04", "05", "06"})
		return nil
	})
}

func testDeleteVaultRemovesSecrets(t *testing.T, s store.Store) {
	write(t, s, func(tx store.Tx) error {
		if err := tx.CreateVault(testVault("kv1")); err != nil {
			return err
		}
		if err := tx.PutSecret(store.Secret{Vault: "kv1", Name: "a", CurrentVersion: "01"}); err != nil {
			return err
		}
		return tx.CreateSecretVersion(store.SecretVersion{Vault: "kv1", Name: "a", Version: "01", ValueSealed: []byte("x")})
	})
	write(t, s, func(tx store.Tx) error { return tx.DeleteVault("kv1") })
	// A vault of the same name created later starts empty.
	write(t, s, func(tx store.Tx) error { return tx.CreateVault(testVault("kv1")) })
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetSecret("kv1", "a")
		wantErr(t, "GetSecret after the vault was deleted", err, store.ErrNotFound)
		_, err = tx.GetSecretVersion("kv1", "a", "01")
		wantErr(t, "GetSecretVersion after the vault was deleted", err, store.ErrNotFound)
		return nil
	})
}
