package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/signet-platform/signet/internal/store"
)

// noChain compares audit records without their chain fields, which the
// store assigns on append (testAuditChain checks those).
var noChain = cmp.Options{opts,
	cmpopts.IgnoreFields(store.SignIn{}, "Seq", "PrevHash", "Hash"),
	cmpopts.IgnoreFields(store.Activity{}, "Seq", "PrevHash", "Hash"),
	cmpopts.IgnoreFields(store.Access{}, "Seq", "PrevHash", "Hash"),
}

func auditDiff(t *testing.T, what string, got, want any) {
	t.Helper()
	if d := cmp.Diff(want, got, noChain); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func signIn(n int, d time.Duration, tenant, principal, result string) store.SignIn {
	v := store.SignIn{
		ID: fmt.Sprintf("e0000000-0000-4000-8000-%012d", n), Time: at(d), TenantID: tenant, PrincipalID: principal,
		ClientID: spClient, Resource: "https://management.azure.com/", Result: result, Reason: "r",
		CallerAddress: "127.0.0.1", CredentialType: "clientSecret",
	}
	if result == "success" {
		v.TokenID = fmt.Sprint("uti-", n)
	} else {
		v.ErrorCode = "AADSTS7000215"
	}
	return v
}

func testSignIns(t *testing.T, s store.Store) {
	ins := []store.SignIn{
		signIn(1, 1*time.Second, tenantA, spObject, "success"),
		signIn(2, 2*time.Second, tenantA, userObject, "failure"),
		signIn(3, 3*time.Second, tenantB, bObject, "success"),
		signIn(4, 4*time.Second, tenantA, spObject, "failure"),
		signIn(5, 5*time.Second, tenantA, "", "failure"), // unknown principal
	}
	// Appended in two batches, out of time order.
	write(t, s, func(tx store.Tx) error { return tx.AppendSignIns([]store.SignIn{ins[3], ins[0]}) })
	write(t, s, func(tx store.Tx) error { return tx.AppendSignIns([]store.SignIn{ins[4], ins[2], ins[1]}) })
	write(t, s, func(tx store.Tx) error { return tx.AppendSignIns(nil) })

	pick := func(idx ...int) []store.SignIn { return nth(ins, idx...) }
	cases := []struct {
		name string
		f    store.AuditFilter
		want []store.SignIn
	}{
		{"all, newest first", store.AuditFilter{}, pick(5, 4, 3, 2, 1)},
		{"tenant", store.AuditFilter{TenantID: upper(tenantA)}, pick(5, 4, 2, 1)},
		{"principal", store.AuditFilter{PrincipalID: upper(spObject)}, pick(4, 1)},
		{"result", store.AuditFilter{Result: "failure"}, pick(5, 4, 2)},
		{"since is inclusive", store.AuditFilter{Since: at(3 * time.Second)}, pick(5, 4, 3)},
		{"until is exclusive", store.AuditFilter{Until: at(3 * time.Second)}, pick(2, 1)},
		{"window", store.AuditFilter{Since: at(2 * time.Second), Until: at(5 * time.Second)}, pick(4, 3, 2)},
		{"limit keeps the newest", store.AuditFilter{Limit: 2}, pick(5, 4)},
		{"everything", store.AuditFilter{TenantID: tenantA, PrincipalID: spObject, Result: "failure",
			Since: at(time.Second), Until: at(time.Minute), Limit: 10}, pick(4)},
		{"nothing", store.AuditFilter{TenantID: tenantB, Result: "failure"}, nil},
	}
	read(t, s, func(tx store.Tx) error {
		for _, c := range cases {
			got, err := tx.ListSignIns(c.f)
			wantErr(t, "ListSignIns("+c.name+")", err, nil)
			auditDiff(t, "ListSignIns("+c.name+")", got, c.want)
		}
		return nil
	})

	err := s.Write(t.Context(), func(tx store.Tx) error {
		return tx.AppendSignIns([]store.SignIn{signIn(6, 6*time.Second, tenantA, spObject, "success"), ins[0]})
	})
	wantErr(t, "AppendSignIns(duplicate id)", err, store.ErrConflict)
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListSignIns(store.AuditFilter{})
		wantErr(t, "ListSignIns after failed append", err, nil)
		if len(got) != len(ins) {
			t.Errorf("after a failed batch: %d sign-ins, want %d (the batch is all or nothing)", len(got), len(ins))
		}
		return nil
	})
}

func activity(n int, d time.Duration, tenant, caller, result string, status int) store.Activity {
	return store.Activity{
		ID: fmt.Sprintf("d0000000-0000-4000-8000-%012d", n), Time: at(d), TenantID: tenant, CallerID: caller,
		Operation: "Microsoft.Compute/virtualMachines/write", ResourceID: vm1ID, Result: result, Status: status,
		Message: "m", CallerAddress: "::1",
	}
}

func testActivity(t *testing.T, s store.Store) {
	acts := []store.Activity{
		activity(1, 1*time.Second, tenantA, spObject, "success", 201),
		activity(2, 2*time.Second, tenantA, userObject, "failure", 403),
		activity(3, 3*time.Second, tenantB, bObject, "success", 200),
		activity(4, 4*time.Second, tenantA, spObject, "failure", 409),
	}
	write(t, s, func(tx store.Tx) error { return tx.AppendActivity([]store.Activity{acts[2], acts[0]}) })
	write(t, s, func(tx store.Tx) error { return tx.AppendActivity([]store.Activity{acts[3], acts[1]}) })

	pick := func(idx ...int) []store.Activity { return nth(acts, idx...) }
	cases := []struct {
		name string
		f    store.AuditFilter
		want []store.Activity
	}{
		{"all, newest first", store.AuditFilter{}, pick(4, 3, 2, 1)},
		{"tenant", store.AuditFilter{TenantID: tenantA}, pick(4, 2, 1)},
		{"principal is the caller", store.AuditFilter{PrincipalID: upper(spObject)}, pick(4, 1)},
		{"result", store.AuditFilter{Result: "success"}, pick(3, 1)},
		{"window", store.AuditFilter{Since: at(2 * time.Second), Until: at(4 * time.Second)}, pick(3, 2)},
		{"limit", store.AuditFilter{Limit: 1}, pick(4)},
	}
	read(t, s, func(tx store.Tx) error {
		for _, c := range cases {
			got, err := tx.ListActivity(c.f)
			wantErr(t, "ListActivity("+c.name+")", err, nil)
			auditDiff(t, "ListActivity("+c.name+")", got, c.want)
		}
		return nil
	})
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.AppendActivity(acts[:1]) })
	wantErr(t, "AppendActivity(duplicate id)", err, store.ErrConflict)
}

func access(n int, d time.Duration, tenant, caller, result string, status int) store.Access {
	return store.Access{
		ID: fmt.Sprintf("e0000000-0000-4000-8000-%012d", n), Time: at(d), TenantID: tenant, CallerID: caller,
		ClientID: "c", Service: "keyvault", ResourceID: vm1ID, Item: fmt.Sprintf("secrets/s%d", n),
		Action: "Microsoft.KeyVault/vaults/secrets/getSecret/action", Result: result, Status: status,
		ErrorCode: "", CallerAddress: "::1", TokenID: fmt.Sprintf("uti-%d", n),
	}
}

func testAccess(t *testing.T, s store.Store) {
	recs := []store.Access{
		access(1, 1*time.Second, tenantA, spObject, "success", 200),
		access(2, 2*time.Second, tenantA, userObject, "failure", 403),
		access(3, 3*time.Second, tenantB, bObject, "success", 200),
		access(4, 4*time.Second, tenantA, spObject, "failure", 401),
	}
	write(t, s, func(tx store.Tx) error { return tx.AppendAccess([]store.Access{recs[2], recs[0]}) })
	write(t, s, func(tx store.Tx) error { return tx.AppendAccess([]store.Access{recs[3], recs[1]}) })
	pick := func(idx ...int) []store.Access { return nth(recs, idx...) }
	cases := []struct {
		name string
		f    store.AuditFilter
		want []store.Access
	}{
		{"all, newest first", store.AuditFilter{}, pick(4, 3, 2, 1)},
		{"tenant", store.AuditFilter{TenantID: tenantA}, pick(4, 2, 1)},
		{"principal is the caller", store.AuditFilter{PrincipalID: upper(spObject)}, pick(4, 1)},
		{"result", store.AuditFilter{Result: "failure"}, pick(4, 2)},
		{"window", store.AuditFilter{Since: at(2 * time.Second), Until: at(4 * time.Second)}, pick(3, 2)},
		{"limit", store.AuditFilter{Limit: 2}, pick(4, 3)},
	}
	read(t, s, func(tx store.Tx) error {
		for _, c := range cases {
			got, err := tx.ListAccess(c.f)
			wantErr(t, "ListAccess("+c.name+")", err, nil)
			auditDiff(t, "ListAccess("+c.name+")", got, c.want)
		}
		return nil
	})
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.AppendAccess(recs[:1]) })
	wantErr(t, "AppendAccess(duplicate id)", err, store.ErrConflict)
}

// testAuditDefaultLimit checks that an unset or negative limit means 1000,
// the newest ones.
func testAuditDefaultLimit(t *testing.T, s store.Store) {
	const total = 1003
	var ins []store.SignIn
	var acts []store.Activity
	for i := range total {
		ins = append(ins, signIn(i, time.Duration(i)*time.Millisecond, tenantA, spObject, "success"))
		acts = append(acts, activity(i, time.Duration(i)*time.Millisecond, tenantA, spObject, "success", 200))
	}
	write(t, s, func(tx store.Tx) error {
		if err := tx.AppendSignIns(ins); err != nil {
			return err
		}
		return tx.AppendActivity(acts)
	})
	read(t, s, func(tx store.Tx) error {
		for _, limit := range []int{0, -1} {
			got, err := tx.ListSignIns(store.AuditFilter{Limit: limit})
			wantErr(t, "ListSignIns", err, nil)
			if len(got) != 1000 {
				t.Fatalf("ListSignIns(Limit %d): %d records, want 1000", limit, len(got))
			}
			if got[0].ID != ins[total-1].ID || got[999].ID != ins[total-1000].ID {
				t.Errorf("ListSignIns(Limit %d): first %s last %s, want the newest 1000 (%s .. %s)",
					limit, got[0].ID, got[999].ID, ins[total-1].ID, ins[total-1000].ID)
			}
			gotActs, err := tx.ListActivity(store.AuditFilter{Limit: limit})
			wantErr(t, "ListActivity", err, nil)
			if len(gotActs) != 1000 {
				t.Errorf("ListActivity(Limit %d): %d records, want 1000", limit, len(gotActs))
			}
		}
		got, err := tx.ListSignIns(store.AuditFilter{Limit: 2000})
		wantErr(t, "ListSignIns(Limit 2000)", err, nil)
		if len(got) != total {
			t.Errorf("ListSignIns(Limit 2000): %d records, want %d", len(got), total)
		}
		return nil
	})
}
