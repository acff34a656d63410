package storetest

import (
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

const (
	tenantA = "6a1b7c3e-0000-4000-8000-00000000000a"
	tenantB = "6a1b7c3e-0000-4000-8000-00000000000b"
	subA1   = "5f000000-0000-4000-8000-0000000000a1"
	subA2   = "5f000000-0000-4000-8000-0000000000a2"
	subB1   = "5f000000-0000-4000-8000-0000000000b1"
)

func testTenants(t *testing.T, s store.Store) {
	// A time with nanoseconds in another zone comes back in UTC at
	// microsecond precision.
	odd := time.Date(2025, 3, 1, 13, 0, 0, 123456789, time.FixedZone("CET", 3600))
	a := store.Tenant{ID: tenantA, DisplayName: "Contoso", CreatedAt: odd}
	b := store.Tenant{ID: tenantB, DisplayName: "Fabrikam", CreatedAt: base}
	write(t, s, func(tx store.Tx) error {
		// Created out of order: List must sort.
		if err := tx.CreateTenant(b); err != nil {
			return err
		}
		return tx.CreateTenant(a)
	})
	wantA := a
	wantA.CreatedAt = odd.Truncate(time.Microsecond).UTC()

	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetTenant(tenantA)
		wantErr(t, "GetTenant", err, nil)
		diff(t, "GetTenant", got, wantA)
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("GetTenant: CreatedAt location = %v, want UTC", got.CreatedAt.Location())
		}

		got, err = tx.GetTenant(upper(tenantA))
		wantErr(t, "GetTenant(upper-case id)", err, nil)
		diff(t, "GetTenant(upper-case id)", got, wantA)

		_, err = tx.GetTenant("00000000-0000-0000-0000-000000000000")
		wantErr(t, "GetTenant(missing)", err, store.ErrNotFound)

		list, err := tx.ListTenants()
		wantErr(t, "ListTenants", err, nil)
		diff(t, "ListTenants", list, []store.Tenant{wantA, b})
		return nil
	})

	for _, id := range []string{tenantA, upper(tenantA)} {
		err := s.Write(t.Context(), func(tx store.Tx) error {
			return tx.CreateTenant(store.Tenant{ID: id, DisplayName: "dup"})
		})
		wantErr(t, "CreateTenant(duplicate "+id+")", err, store.ErrConflict)
	}
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetTenant(tenantA)
		wantErr(t, "GetTenant after duplicate", err, nil)
		diff(t, "GetTenant after duplicate (the original is kept)", got, wantA)
		return nil
	})
}

func testSubscriptions(t *testing.T, s store.Store) {
	subs := []store.Subscription{
		{ID: subA2, TenantID: tenantA, DisplayName: "two", State: "Enabled", CreatedAt: at(2 * time.Second)},
		{ID: subA1, TenantID: tenantA, DisplayName: "one", State: "Enabled", CreatedAt: at(time.Second)},
		{ID: subB1, TenantID: tenantB, DisplayName: "other", State: "Disabled", CreatedAt: at(3 * time.Second)},
	}
	write(t, s, func(tx store.Tx) error {
		for _, v := range subs {
			if err := tx.CreateSubscription(v); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetSubscription(upper(subA1))
		wantErr(t, "GetSubscription(upper-case id)", err, nil)
		diff(t, "GetSubscription", got, subs[1])

		_, err = tx.GetSubscription("5f000000-0000-4000-8000-0000000000ff")
		wantErr(t, "GetSubscription(missing)", err, store.ErrNotFound)

		list, err := tx.ListSubscriptions(tenantA)
		wantErr(t, "ListSubscriptions", err, nil)
		diff(t, "ListSubscriptions(A)", list, []store.Subscription{subs[1], subs[0]})

		list, err = tx.ListSubscriptions(upper(tenantB))
		wantErr(t, "ListSubscriptions(upper-case B)", err, nil)
		diff(t, "ListSubscriptions(B)", list, []store.Subscription{subs[2]})

		list, err = tx.ListSubscriptions("6a1b7c3e-0000-4000-8000-0000000000ff")
		wantErr(t, "ListSubscriptions(unknown tenant)", err, nil)
		diff(t, "ListSubscriptions(unknown tenant)", list, []store.Subscription(nil))
		return nil
	})
	err := s.Write(t.Context(), func(tx store.Tx) error {
		return tx.CreateSubscription(store.Subscription{ID: upper(subA1), TenantID: tenantB})
	})
	wantErr(t, "CreateSubscription(duplicate)", err, store.ErrConflict)
}

func testResourceGroups(t *testing.T, s store.Store) {
	rg := store.ResourceGroup{
		SubscriptionID: subA1, Name: "Web-RG", Location: "westeurope",
		Tags: map[string]string{"env": "prod", "owner": "ops"}, CreatedAt: base,
	}
	other := store.ResourceGroup{SubscriptionID: subA1, Name: "alpha", Location: "eastus", CreatedAt: base}
	elsewhere := store.ResourceGroup{SubscriptionID: subA2, Name: "web-rg", Location: "eastus", CreatedAt: base}
	write(t, s, func(tx store.Tx) error {
		for _, v := range []store.ResourceGroup{rg, other, elsewhere} {
			if err := tx.PutResourceGroup(v); err != nil {
				return err
			}
		}
		return nil
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetResourceGroup(upper(subA1), "WEB-rg")
		wantErr(t, "GetResourceGroup(other case)", err, nil)
		diff(t, "GetResourceGroup", got, rg)

		_, err = tx.GetResourceGroup(subA1, "missing")
		wantErr(t, "GetResourceGroup(missing)", err, store.ErrNotFound)
		_, err = tx.GetResourceGroup(subB1, "web-rg")
		wantErr(t, "GetResourceGroup(other subscription)", err, store.ErrNotFound)

		list, err := tx.ListResourceGroups(subA1)
		wantErr(t, "ListResourceGroups", err, nil)
		// Ordered by name, case-insensitively: "alpha" before "Web-RG".
		diff(t, "ListResourceGroups", list, []store.ResourceGroup{other, rg})
		return nil
	})

	// Put replaces, matching the name case-insensitively and keeping the
	// new spelling.
	replaced := store.ResourceGroup{SubscriptionID: subA1, Name: "web-rg", Location: "northeurope", CreatedAt: at(time.Hour)}
	write(t, s, func(tx store.Tx) error { return tx.PutResourceGroup(replaced) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetResourceGroup(subA1, "Web-RG")
		wantErr(t, "GetResourceGroup after replace", err, nil)
		diff(t, "GetResourceGroup after replace", got, replaced)
		list, err := tx.ListResourceGroups(subA1)
		wantErr(t, "ListResourceGroups after replace", err, nil)
		diff(t, "ListResourceGroups after replace", list, []store.ResourceGroup{other, replaced})
		return nil
	})

	write(t, s, func(tx store.Tx) error { return tx.DeleteResourceGroup(subA1, "WEB-RG") })
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteResourceGroup(subA1, "web-rg") })
	wantErr(t, "DeleteResourceGroup(already deleted)", err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetResourceGroup(subA1, "web-rg")
		wantErr(t, "GetResourceGroup after delete", err, store.ErrNotFound)
		got, err := tx.GetResourceGroup(subA2, "web-rg")
		wantErr(t, "GetResourceGroup(same name, other subscription) after delete", err, nil)
		diff(t, "GetResourceGroup(other subscription)", got, elsewhere)
		return nil
	})
}
