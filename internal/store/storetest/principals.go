package storetest

import (
	"bytes"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

const (
	spObject   = "0b000000-0000-4000-8000-0000000000a1"
	spClient   = "0c000000-0000-4000-8000-0000000000a1"
	sysObject  = "0b000000-0000-4000-8000-0000000000a2"
	sysClient  = "0c000000-0000-4000-8000-0000000000a2"
	userObject = "0b000000-0000-4000-8000-0000000000a3"
	userClient = "0c000000-0000-4000-8000-0000000000a3"
	bObject    = "0b000000-0000-4000-8000-0000000000b1"
)

func principals() (sp, sys, user, inB store.Principal) {
	sp = store.Principal{ObjectID: spObject, ClientID: spClient, TenantID: tenantA, Kind: store.KindServicePrincipal,
		DisplayName: "deployer", Enabled: true, CreatedAt: base}
	sys = store.Principal{ObjectID: sysObject, ClientID: sysClient, TenantID: tenantA, Kind: store.KindSystemAssigned,
		DisplayName: "vm1", ResourceID: vm1ID, Enabled: true, CreatedAt: base}
	user = store.Principal{ObjectID: userObject, ClientID: userClient, TenantID: tenantA, Kind: store.KindUserAssigned,
		DisplayName: "id1", ResourceID: uami1ID, Enabled: false, CreatedAt: base}
	// Same client id as sp, in another tenant.
	inB = store.Principal{ObjectID: bObject, ClientID: spClient, TenantID: tenantB, Kind: store.KindServicePrincipal,
		DisplayName: "other", Enabled: true, CreatedAt: base}
	return
}

func createAll[T any](t *testing.T, s store.Store, create func(store.Tx, T) error, vs ...T) {
	t.Helper()
	write(t, s, func(tx store.Tx) error {
		for _, v := range vs {
			if err := create(tx, v); err != nil {
				return err
			}
		}
		return nil
	})
}

func createPrincipal(tx store.Tx, p store.Principal) error { return tx.CreatePrincipal(p) }

func testPrincipals(t *testing.T, s store.Store) {
	sp, sys, user, inB := principals()
	createAll(t, s, createPrincipal, user, sp, inB, sys)

	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetPrincipal(upper(sysObject))
		wantErr(t, "GetPrincipal", err, nil)
		diff(t, "GetPrincipal", got, sys)

		got, err = tx.GetPrincipal(userObject)
		wantErr(t, "GetPrincipal(disabled)", err, nil)
		diff(t, "GetPrincipal(disabled)", got, user)

		_, err = tx.GetPrincipal("0b000000-0000-4000-8000-0000000000ff")
		wantErr(t, "GetPrincipal(missing)", err, store.ErrNotFound)

		got, err = tx.GetPrincipalByClientID(upper(tenantA), upper(spClient))
		wantErr(t, "GetPrincipalByClientID", err, nil)
		diff(t, "GetPrincipalByClientID(A)", got, sp)
		got, err = tx.GetPrincipalByClientID(tenantB, spClient)
		wantErr(t, "GetPrincipalByClientID(B)", err, nil)
		diff(t, "GetPrincipalByClientID(B)", got, inB)
		_, err = tx.GetPrincipalByClientID(tenantB, sysClient)
		wantErr(t, "GetPrincipalByClientID(wrong tenant)", err, store.ErrNotFound)

		got, err = tx.GetPrincipalByResourceID(store.KindSystemAssigned, upper(vm1ID))
		wantErr(t, "GetPrincipalByResourceID(system)", err, nil)
		diff(t, "GetPrincipalByResourceID(system)", got, sys)
		got, err = tx.GetPrincipalByResourceID(store.KindUserAssigned, uami1ID)
		wantErr(t, "GetPrincipalByResourceID(user)", err, nil)
		diff(t, "GetPrincipalByResourceID(user)", got, user)
		_, err = tx.GetPrincipalByResourceID(store.KindUserAssigned, vm1ID)
		wantErr(t, "GetPrincipalByResourceID(wrong kind)", err, store.ErrNotFound)
		// A service principal has no resource: "" must not find it.
		_, err = tx.GetPrincipalByResourceID(store.KindServicePrincipal, "")
		wantErr(t, "GetPrincipalByResourceID(empty id)", err, store.ErrNotFound)

		list, err := tx.ListPrincipals(tenantA)
		wantErr(t, "ListPrincipals", err, nil)
		diff(t, "ListPrincipals(A)", list, []store.Principal{sp, sys, user})
		list, err = tx.ListPrincipals(upper(tenantB))
		wantErr(t, "ListPrincipals(B)", err, nil)
		diff(t, "ListPrincipals(B)", list, []store.Principal{inB})
		return nil
	})

	conflicts := []struct {
		name string
		p    store.Principal
	}{
		{"same object id", store.Principal{ObjectID: upper(spObject), ClientID: "0c000000-0000-4000-8000-0000000000f1", TenantID: tenantA, Kind: store.KindServicePrincipal}},
		{"same client id in tenant", store.Principal{ObjectID: "0b000000-0000-4000-8000-0000000000f2", ClientID: upper(spClient), TenantID: tenantA, Kind: store.KindServicePrincipal}},
		{"second system identity for a resource", store.Principal{ObjectID: "0b000000-0000-4000-8000-0000000000f3", ClientID: "0c000000-0000-4000-8000-0000000000f3", TenantID: tenantA, Kind: store.KindSystemAssigned, ResourceID: upper(vm1ID)}},
	}
	for _, c := range conflicts {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreatePrincipal(c.p) })
		wantErr(t, "CreatePrincipal("+c.name+")", err, store.ErrConflict)
	}

	// Update replaces by object id.
	sp2 := sp
	sp2.DisplayName, sp2.Enabled = "renamed", false
	write(t, s, func(tx store.Tx) error { return tx.UpdatePrincipal(sp2) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetPrincipal(spObject)
		wantErr(t, "GetPrincipal after update", err, nil)
		diff(t, "GetPrincipal after update", got, sp2)
		return nil
	})
	missing := sp
	missing.ObjectID, missing.ClientID = "0b000000-0000-4000-8000-0000000000f9", "0c000000-0000-4000-8000-0000000000f9"
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.UpdatePrincipal(missing) })
	wantErr(t, "UpdatePrincipal(missing)", err, store.ErrNotFound)
	clash := user
	clash.ClientID = upper(sysClient)
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.UpdatePrincipal(clash) })
	wantErr(t, "UpdatePrincipal(client id of another)", err, store.ErrConflict)

	write(t, s, func(tx store.Tx) error { return tx.DeletePrincipal(upper(sysObject)) })
	err = s.Write(t.Context(), func(tx store.Tx) error { return tx.DeletePrincipal(sysObject) })
	wantErr(t, "DeletePrincipal(already deleted)", err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetPrincipal(sysObject)
		wantErr(t, "GetPrincipal after delete", err, store.ErrNotFound)
		_, err = tx.GetPrincipalByResourceID(store.KindSystemAssigned, vm1ID)
		wantErr(t, "GetPrincipalByResourceID after delete", err, store.ErrNotFound)
		_, err = tx.GetPrincipalByClientID(tenantA, sysClient)
		wantErr(t, "GetPrincipalByClientID after delete", err, store.ErrNotFound)
		return nil
	})
	// The resource may get a new system-assigned identity.
	sys2 := sys
	sys2.ObjectID, sys2.ClientID = "0b000000-0000-4000-8000-0000000000a9", "0c000000-0000-4000-8000-0000000000a9"
	createAll(t, s, createPrincipal, sys2)
}

func thumb(der []byte) []byte {
	sum := sha256.Sum256(der)
	return sum[:]
}

func credentials() (secret, cert, cert2 store.Credential) {
	secret = store.Credential{ID: "c1000000-0000-4000-8000-000000000001", PrincipalID: spObject, Kind: store.CredentialSecret,
		SecretHash: []byte("$argon2id$v=19$hash"), Hint: "abc", NotBefore: base, NotAfter: at(365 * 24 * time.Hour),
		CreatedAt: base}
	der := []byte{0x30, 0x82, 0x01, 0x0a, 0x02, 0x82, 0x01, 0x01, 0x00}
	cert = store.Credential{ID: "c1000000-0000-4000-8000-000000000002", PrincipalID: spObject, Kind: store.CredentialCertificate,
		CertificateDER: der, ThumbprintSHA256: thumb(der), NotBefore: base, NotAfter: at(24 * time.Hour),
		CreatedAt: at(time.Second)}
	der2 := []byte{0x30, 0x82, 0x02}
	cert2 = store.Credential{ID: "c1000000-0000-4000-8000-000000000003", PrincipalID: userObject, Kind: store.CredentialCertificate,
		CertificateDER: der2, ThumbprintSHA256: thumb(der2), NotBefore: base, NotAfter: at(24 * time.Hour),
		CreatedAt: at(2 * time.Second)}
	return
}

func createCredential(tx store.Tx, c store.Credential) error { return tx.CreateCredential(c) }

func testCredentials(t *testing.T, s store.Store) {
	sp, _, user, _ := principals()
	createAll(t, s, createPrincipal, sp, user)
	secret, cert, cert2 := credentials()
	createAll(t, s, createCredential, cert, secret, cert2)

	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListCredentials(upper(spObject))
		wantErr(t, "ListCredentials", err, nil)
		// Oldest first.
		diff(t, "ListCredentials", list, []store.Credential{secret, cert})

		got, err := tx.GetCredentialByThumbprint(cert.ThumbprintSHA256)
		wantErr(t, "GetCredentialByThumbprint", err, nil)
		diff(t, "GetCredentialByThumbprint", got, cert)

		got, err = tx.GetCredentialByThumbprint(bytes.Clone(cert2.ThumbprintSHA256))
		wantErr(t, "GetCredentialByThumbprint(2)", err, nil)
		diff(t, "GetCredentialByThumbprint(2)", got, cert2)

		_, err = tx.GetCredentialByThumbprint(thumb([]byte("unknown")))
		wantErr(t, "GetCredentialByThumbprint(unknown)", err, store.ErrNotFound)
		_, err = tx.GetCredentialByThumbprint(nil)
		wantErr(t, "GetCredentialByThumbprint(nil)", err, store.ErrNotFound)
		return nil
	})

	orphan := secret
	orphan.ID, orphan.PrincipalID = "c1000000-0000-4000-8000-0000000000f1", "0b000000-0000-4000-8000-0000000000ff"
	dupID := secret
	dupID.ID = upper(secret.ID)
	dupThumb := cert
	dupThumb.ID, dupThumb.PrincipalID = "c1000000-0000-4000-8000-0000000000f2", userObject
	for _, c := range []struct {
		name string
		cred store.Credential
		want error
	}{
		{"unknown principal", orphan, store.ErrNotFound},
		{"duplicate id", dupID, store.ErrConflict},
		// A thumbprint must identify one certificate credential, or a client
		// assertion could authenticate as whichever principal a lookup found.
		{"duplicate thumbprint", dupThumb, store.ErrConflict},
	} {
		err := s.Write(t.Context(), func(tx store.Tx) error { return tx.CreateCredential(c.cred) })
		wantErr(t, "CreateCredential("+c.name+")", err, c.want)
	}

	write(t, s, func(tx store.Tx) error { return tx.DeleteCredential(upper(cert.ID)) })
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteCredential(cert.ID) })
	wantErr(t, "DeleteCredential(already deleted)", err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListCredentials(spObject)
		wantErr(t, "ListCredentials after delete", err, nil)
		diff(t, "ListCredentials after delete", list, []store.Credential{secret})
		_, err = tx.GetCredentialByThumbprint(cert.ThumbprintSHA256)
		wantErr(t, "GetCredentialByThumbprint after delete", err, store.ErrNotFound)
		return nil
	})
}

func testDeletePrincipalRemovesCredentials(t *testing.T, s store.Store) {
	sp, _, user, _ := principals()
	createAll(t, s, createPrincipal, sp, user)
	secret, cert, cert2 := credentials()
	createAll(t, s, createCredential, secret, cert, cert2)

	write(t, s, func(tx store.Tx) error { return tx.DeletePrincipal(spObject) })
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListCredentials(spObject)
		wantErr(t, "ListCredentials of deleted principal", err, nil)
		diff(t, "ListCredentials of deleted principal", list, []store.Credential(nil))
		_, err = tx.GetCredentialByThumbprint(cert.ThumbprintSHA256)
		wantErr(t, "GetCredentialByThumbprint of deleted principal", err, store.ErrNotFound)
		// Other principals keep theirs.
		got, err := tx.GetCredentialByThumbprint(cert2.ThumbprintSHA256)
		wantErr(t, "GetCredentialByThumbprint of another principal", err, nil)
		diff(t, "GetCredentialByThumbprint of another principal", got, cert2)
		return nil
	})

	// A principal created again with the same id starts without credentials,
	// and the old certificate may be registered anew.
	createAll(t, s, createPrincipal, sp)
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListCredentials(spObject)
		wantErr(t, "ListCredentials of re-created principal", err, nil)
		diff(t, "ListCredentials of re-created principal", list, []store.Credential(nil))
		return nil
	})
	createAll(t, s, createCredential, cert)

	// The deletion is atomic with the rest of its transaction.
	err := s.Write(t.Context(), func(tx store.Tx) error {
		if err := tx.DeletePrincipal(spObject); err != nil {
			return err
		}
		return errRollback
	})
	wantErr(t, "rolled-back DeletePrincipal", err, errRollback)
	read(t, s, func(tx store.Tx) error {
		list, err := tx.ListCredentials(spObject)
		wantErr(t, "ListCredentials after rolled-back delete", err, nil)
		diff(t, "ListCredentials after rolled-back delete", list, []store.Credential{cert})
		return nil
	})
}
