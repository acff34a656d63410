package secrets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/go-cmp/cmp"

	"github.com/signet-platform/signet/internal/authz"
)

const officer = "aaaaaaaa-0000-0000-0000-00000000000a"

func responseError(t *testing.T, err error) *azcore.ResponseError {
	t.Helper()
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a ResponseError", err)
	}
	return re
}

func wantStatus(t *testing.T, what string, err error, status int, code string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: succeeded, want %d %s", what, status, code)
	}
	re := responseError(t, err)
	if re.StatusCode != status || re.ErrorCode != code {
		t.Fatalf("%s: got %d %s, want %d %s", what, re.StatusCode, re.ErrorCode, status, code)
	}
}

func TestSDKSetGetUpdate(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	c := f.client("kv1", officer)
	ctx := t.Context()

	set, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{
		Value: to.Ptr("s3cr3t-value"), ContentType: to.Ptr("text/plain"), Tags: map[string]*string{"env": to.Ptr("prod")},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	version := set.ID.Version()
	if !validVersion(version) {
		t.Fatalf("version %q is not 32 lower-case hex characters", version)
	}
	if got, want := string(*set.ID), f.vaultURL("kv1")+"/secrets/db-password/"+version; got != want {
		t.Errorf("id = %q, want %q", got, want)
	}
	if got, want := *set.Attributes.RecoveryLevel, "Recoverable+Purgeable"; got != want {
		t.Errorf("recoveryLevel = %q, want %q", got, want)
	}

	latest, err := c.GetSecret(ctx, "db-password", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *latest.Value, "s3cr3t-value"; got != want {
		t.Errorf("latest value = %q, want %q", got, want)
	}
	if diff := cmp.Diff(map[string]*string{"env": to.Ptr("prod")}, latest.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	second, err := c.SetSecret(ctx, "db-password", azsecrets.SetSecretParameters{Value: to.Ptr("second")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	old, err := c.GetSecret(ctx, "db-password", version, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := *old.Value, "s3cr3t-value"; got != want {
		t.Errorf("by version = %q, want %q", got, want)
	}
	latest, err = c.GetSecret(ctx, "DB-PASSWORD", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := latest.ID.Version(), second.ID.Version(); got != want {
		t.Errorf("latest version = %q, want %q", got, want)
	}

	// Disable the current version: its value is refused, its metadata is not.
	upd, err := c.UpdateSecretProperties(ctx, "db-password", "", azsecrets.UpdateSecretPropertiesParameters{
		SecretAttributes: &azsecrets.SecretAttributes{Enabled: to.Ptr(false)}, ContentType: to.Ptr("application/x-thing"),
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if upd.Value != nil || *upd.Attributes.Enabled || *upd.ContentType != "application/x-thing" {
		t.Errorf("update answered value=%v enabled=%v contentType=%v", upd.Value, *upd.Attributes.Enabled, *upd.ContentType)
	}
	_, err = c.GetSecret(ctx, "db-password", "", nil)
	wantStatus(t, "get disabled", err, http.StatusForbidden, codeForbidden)
	if !strings.Contains(responseError(t, err).Error(), innerSecretDisabled) {
		t.Errorf("disabled refusal lacks innererror %s: %v", innerSecretDisabled, err)
	}
	// The older version is still enabled and readable.
	if _, err := c.GetSecret(ctx, "db-password", version, nil); err != nil {
		t.Errorf("older version: %v", err)
	}

	_, err = c.GetSecret(ctx, "missing", "", nil)
	wantStatus(t, "get missing", err, http.StatusNotFound, codeSecretNotFound)
}

func TestSDKPaging(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	c := f.client("kv1", officer)
	ctx := t.Context()
	const n = 30
	var want []string
	for i := range n {
		name := fmt.Sprintf("s-%02d", i)
		want = append(want, name)
		if _, err := c.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: to.Ptr("v")}, nil); err != nil {
			t.Fatal(err)
		}
	}
	var versions []string
	for i := range n {
		r, err := c.SetSecret(ctx, "many", azsecrets.SetSecretParameters{Value: to.Ptr(fmt.Sprint(i))}, nil)
		if err != nil {
			t.Fatal(err)
		}
		versions = append(versions, r.ID.Version())
	}
	want = append(want, "many")
	slices.Sort(want)
	slices.Sort(versions)

	var got []string
	pages := 0
	for p := c.NewListSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, it := range page.Value {
			got = append(got, it.ID.Name())
			if it.ID.Version() != "" {
				t.Errorf("list item id %q carries a version", *it.ID)
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("listed names (-want +got):\n%s", diff)
	}
	if pages < 2 {
		t.Errorf("listed %d secrets in %d page(s); want paging", len(got), pages)
	}

	got = nil
	for p := c.NewListSecretPropertiesVersionsPager("many", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Value {
			got = append(got, it.ID.Version())
		}
	}
	if diff := cmp.Diff(versions, got); diff != "" {
		t.Errorf("listed versions (-want +got):\n%s", diff)
	}
}

func TestSDKDeleteRecoverPurge(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{"softDeleteRetentionInDays":7}`)
	f.createVault("kv-locked", `{"enablePurgeProtection":true}`)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, "/subscriptions/"+testSub)
	c := f.client("kv1", officer)
	ctx := t.Context()

	if _, err := c.SetSecret(ctx, "gone", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); err != nil {
		t.Fatal(err)
	}
	del, err := c.DeleteSecret(ctx, "gone", nil)
	if err != nil {
		t.Fatal(err)
	}
	if del.Value != nil || del.RecoveryID == nil || del.DeletedDate == nil || del.ScheduledPurgeDate == nil {
		t.Fatalf("delete answered %+v", del.DeletedSecret)
	}
	if got, want := del.ScheduledPurgeDate.Sub(*del.DeletedDate).Hours(), 7*24.0; got != want {
		t.Errorf("purge scheduled %v hours after deletion, want %v", got, want)
	}
	if got, want := *del.Attributes.RecoveryLevel, "CustomizedRecoverable+Purgeable"; got != want {
		t.Errorf("recoveryLevel = %q, want %q", got, want)
	}
	_, err = c.GetSecret(ctx, "gone", "", nil)
	wantStatus(t, "get deleted secret", err, http.StatusNotFound, codeSecretNotFound)
	_, err = c.SetSecret(ctx, "gone", azsecrets.SetSecretParameters{Value: to.Ptr("y")}, nil)
	wantStatus(t, "set a soft-deleted name", err, http.StatusConflict, codeConflict)
	if _, err := c.GetDeletedSecret(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}
	var deleted []string
	for p := c.NewListDeletedSecretPropertiesPager(nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Value {
			deleted = append(deleted, it.ID.Name())
		}
	}
	if diff := cmp.Diff([]string{"gone"}, deleted); diff != "" {
		t.Errorf("deleted list (-want +got):\n%s", diff)
	}
	if _, err := c.RecoverDeletedSecret(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}
	got, err := c.GetSecret(ctx, "gone", "", nil)
	if err != nil || *got.Value != "x" {
		t.Fatalf("after recover: %v %v", got.Value, err)
	}
	if _, err := c.DeleteSecret(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PurgeDeletedSecret(ctx, "gone", nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.GetDeletedSecret(ctx, "gone", nil)
	wantStatus(t, "get purged", err, http.StatusNotFound, codeSecretNotFound)
	// The name is free again.
	if _, err := c.SetSecret(ctx, "gone", azsecrets.SetSecretParameters{Value: to.Ptr("z")}, nil); err != nil {
		t.Errorf("set after purge: %v", err)
	}

	locked := f.client("kv-locked", officer)
	if _, err := locked.SetSecret(ctx, "kept", azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := locked.DeleteSecret(ctx, "kept", nil); err != nil {
		t.Fatal(err)
	}
	_, err = locked.PurgeDeletedSecret(ctx, "kept", nil)
	wantStatus(t, "purge under purge protection", err, http.StatusForbidden, codeForbidden)
	if _, err := locked.RecoverDeletedSecret(ctx, "kept", nil); err != nil {
		t.Errorf("recover under purge protection: %v", err)
	}
}

func TestSDKBackupRestore(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	f.createVault("kv2", `{}`)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, "/subscriptions/"+testSub)
	src, dst := f.client("kv1", officer), f.client("kv2", officer)
	ctx := t.Context()
	for _, v := range []string{"one", "two"} {
		if _, err := src.SetSecret(ctx, "api-key", azsecrets.SetSecretParameters{Value: to.Ptr(v)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	b, err := src.BackupSecret(ctx, "api-key", nil)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b.Value), "two") {
		t.Fatal("the backup blob holds the value in plaintext")
	}
	restored, err := dst.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: b.Value}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := restored.ID.Name(), "api-key"; got != want {
		t.Errorf("restored name %q, want %q", got, want)
	}
	got, err := dst.GetSecret(ctx, "api-key", "", nil)
	if err != nil || *got.Value != "two" {
		t.Fatalf("restored value: %v, %v", got.Value, err)
	}
	n := 0
	for p := dst.NewListSecretPropertiesVersionsPager("api-key", nil); p.More(); {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Value)
	}
	if n != 2 {
		t.Errorf("restored %d versions, want 2", n)
	}
	_, err = dst.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: b.Value}, nil)
	wantStatus(t, "restore over an existing name", err, http.StatusConflict, codeConflict)

	tampered := append([]byte(nil), b.Value...)
	tampered[len(tampered)-1] ^= 1
	_, err = src.RestoreSecret(ctx, azsecrets.RestoreSecretParameters{SecretBackup: tampered}, nil)
	wantStatus(t, "restore a tampered blob", err, http.StatusBadRequest, codeBadParameter)
}

func TestSDKRBAC(t *testing.T) {
	f := newFixture(t)
	f.createVault("kv1", `{}`)
	admin := f.client("kv1", officer)
	f.grant(officer, authz.KeyVaultSecretsOfficerRoleID, vaultID("kv1"))
	ctx := t.Context()
	for _, name := range []string{"app-secret", "other"} {
		if _, err := admin.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: to.Ptr("v-" + name)}, nil); err != nil {
			t.Fatal(err)
		}
	}

	const reader, narrow = "bbbbbbbb-0000-0000-0000-00000000000b", "cccccccc-0000-0000-0000-00000000000c"
	rc := f.client("kv1", reader)
	_, err := rc.GetSecret(ctx, "app-secret", "", nil)
	wantStatus(t, "get without a role", err, http.StatusForbidden, codeForbidden)
	msg := err.Error()
	for _, want := range []string{innerForbiddenByRbac, actionGet, reader, strings.ToLower(vaultID("kv1") + "/secrets/app-secret"), "Key Vault Secrets User"} {
		if !strings.Contains(msg, want) {
			t.Errorf("denial does not name %q:\n%s", want, msg)
		}
	}

	f.grant(reader, authz.KeyVaultSecretsUserRoleID, vaultID("kv1"))
	if _, err := rc.GetSecret(ctx, "app-secret", "", nil); err != nil {
		t.Errorf("get as Secrets User: %v", err)
	}
	_, err = rc.SetSecret(ctx, "app-secret", azsecrets.SetSecretParameters{Value: to.Ptr("mine")}, nil)
	wantStatus(t, "set as Secrets User", err, http.StatusForbidden, codeForbidden)
	if !strings.Contains(err.Error(), "Key Vault Secrets Officer") {
		t.Errorf("set denial does not suggest Secrets Officer: %v", err)
	}

	f.grant(narrow, authz.KeyVaultSecretsUserRoleID, vaultID("kv1")+"/secrets/app-secret")
	nc := f.client("kv1", narrow)
	if _, err := nc.GetSecret(ctx, "app-secret", "", nil); err != nil {
		t.Errorf("get the granted secret: %v", err)
	}
	_, err = nc.GetSecret(ctx, "other", "", nil)
	wantStatus(t, "get another secret", err, http.StatusForbidden, codeForbidden)
	_, err = nc.NewListSecretPropertiesPager(nil).NextPage(ctx)
	wantStatus(t, "list with a role on one secret", err, http.StatusForbidden, codeForbidden)

	// Every one of those was recorded with the caller and the outcome.
	var denied, allowed int
	for _, a := range f.accessLog() {
		if a.CallerID == narrow && a.Action == actionGet {
			if a.Status == http.StatusForbidden && a.Result == "failure" && a.Item == "secrets/other" {
				denied++
			}
			if a.Status == http.StatusOK && a.Result == "success" && strings.HasPrefix(a.Item, "secrets/app-secret/") && a.TokenID != "" {
				allowed++
			}
		}
	}
	if denied != 1 || allowed != 1 {
		t.Errorf("access log for the narrow caller: %d denied get(s) of other, %d allowed get(s) of app-secret; want 1 and 1", denied, allowed)
	}
}

var _ = context.Background
