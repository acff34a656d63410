package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

const (
	rgPrefix   = "/subscriptions/" + subA1 + "/resourceGroups/"
	vmType     = "Microsoft.Compute/virtualMachines"
	uamiType   = "Microsoft.ManagedIdentity/userAssignedIdentities"
	vm1ID      = rgPrefix + "rg1/providers/Microsoft.Compute/virtualMachines/vm1"
	vm2ID      = rgPrefix + "rg1/providers/Microsoft.Compute/virtualMachines/vm2"
	vm3ID      = rgPrefix + "rg2/providers/Microsoft.Compute/virtualMachines/vm3"
	uami1ID    = rgPrefix + "rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id1"
	uami2ID    = rgPrefix + "rg1/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id2"
	otherSubVM = "/subscriptions/" + subA2 + "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1"
)

func resource(id, sub, rg, typ, name string) store.Resource {
	return store.Resource{
		ID: id, SubscriptionID: sub, ResourceGroup: rg, Type: typ, Name: name, Location: "westeurope",
		CreatedAt: base, CreatedBy: "creator", UpdatedAt: at(time.Minute), UpdatedBy: "updater",
	}
}

func testResources(t *testing.T, s store.Store) {
	vm1 := resource(vm1ID, subA1, "rg1", vmType, "vm1")
	vm1.Tags = map[string]string{"role": "web"}
	vm1.Properties = json.RawMessage(`{"hardwareProfile":{"vmSize":"Standard_B1s"},"n":[1,2]}`)
	vm1.SystemAssignedPrincipalID = "0b000000-0000-4000-8000-000000000001"
	vm2 := resource(vm2ID, subA1, "RG1", vmType, "vm2") // group spelled differently
	vm3 := resource(vm3ID, subA1, "rg2", vmType, "vm3")
	id1 := resource(uami1ID, subA1, "rg1", uamiType, "id1")
	other := resource(otherSubVM, subA2, "rg1", vmType, "vm1")
	all := []store.Resource{vm3, id1, other, vm2, vm1}
	write(t, s, func(tx store.Tx) error {
		for _, v := range all {
			if err := tx.PutResource(v); err != nil {
				return err
			}
		}
		return nil
	})

	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetResource(upper(vm1ID))
		wantErr(t, "GetResource(upper-case id)", err, nil)
		diff(t, "GetResource", got, vm1)
		if string(got.Properties) != string(vm1.Properties) {
			t.Errorf("GetResource: properties = %s, want %s byte for byte", got.Properties, vm1.Properties)
		}

		_, err = tx.GetResource(rgPrefix + "rg1/providers/Microsoft.Compute/virtualMachines/nope")
		wantErr(t, "GetResource(missing)", err, store.ErrNotFound)

		// Ordered by ID; rg and type filters are case-insensitive.
		cases := []struct {
			sub, rg, typ string
			want         []store.Resource
		}{
			{subA1, "", "", []store.Resource{vm1, vm2, id1, vm3}},
			{upper(subA1), "RG1", "", []store.Resource{vm1, vm2, id1}},
			{subA1, "rg1", "microsoft.compute/VIRTUALMACHINES", []store.Resource{vm1, vm2}},
			{subA1, "", vmType, []store.Resource{vm1, vm2, vm3}},
			{subA1, "rg2", uamiType, nil},
			{subA2, "", "", []store.Resource{other}},
			{subB1, "", "", nil},
		}
		for _, c := range cases {
			got, err := tx.ListResources(c.sub, c.rg, c.typ)
			wantErr(t, "ListResources", err, nil)
			diff(t, "ListResources("+c.sub+", "+c.rg+", "+c.typ+")", ids(got), ids(c.want))
		}
		return nil
	})

	// Put replaces every field, matching the id case-insensitively.
	vm1b := resource(upper(vm1ID), subA1, "rg1", vmType, "vm1")
	vm1b.Location = "northeurope"
	write(t, s, func(tx store.Tx) error { return tx.PutResource(vm1b) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.GetResource(vm1ID)
		wantErr(t, "GetResource after replace", err, nil)
		diff(t, "GetResource after replace", got, vm1b)
		list, err := tx.ListResources(subA1, "rg1", vmType)
		wantErr(t, "ListResources after replace", err, nil)
		if len(list) != 2 {
			t.Errorf("ListResources after replace: %d resources, want 2 (replace must not duplicate)", len(list))
		}
		return nil
	})

	write(t, s, func(tx store.Tx) error { return tx.DeleteResource(vm1ID) })
	err := s.Write(t.Context(), func(tx store.Tx) error { return tx.DeleteResource(vm1ID) })
	wantErr(t, "DeleteResource(already deleted)", err, store.ErrNotFound)
	read(t, s, func(tx store.Tx) error {
		_, err := tx.GetResource(vm1ID)
		wantErr(t, "GetResource after delete", err, store.ErrNotFound)
		got, err := tx.ListResources(subA1, "", "")
		wantErr(t, "ListResources after delete", err, nil)
		diff(t, "ListResources after delete", ids(got), ids([]store.Resource{vm2, id1, vm3}))
		return nil
	})
}

func ids(rs []store.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testResourceIdentities(t *testing.T, s store.Store) {
	write(t, s, func(tx store.Tx) error {
		for _, v := range []store.Resource{
			resource(vm1ID, subA1, "rg1", vmType, "vm1"),
			resource(vm2ID, subA1, "rg1", vmType, "vm2"),
			resource(uami1ID, subA1, "rg1", uamiType, "id1"),
			resource(uami2ID, subA1, "rg1", uamiType, "id2"),
		} {
			if err := tx.PutResource(v); err != nil {
				return err
			}
		}
		if err := tx.SetResourceIdentities(vm1ID, []string{uami2ID, uami1ID}); err != nil {
			return err
		}
		return tx.SetResourceIdentities(vm2ID, []string{uami1ID})
	})
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListResourceIdentities(upper(vm1ID))
		wantErr(t, "ListResourceIdentities", err, nil)
		diff(t, "ListResourceIdentities(vm1)", got, []string{uami1ID, uami2ID})

		got, err = tx.ListIdentityUsers(upper(uami1ID))
		wantErr(t, "ListIdentityUsers", err, nil)
		diff(t, "ListIdentityUsers(id1)", got, []string{vm1ID, vm2ID})

		got, err = tx.ListResourceIdentities(vm3ID)
		wantErr(t, "ListResourceIdentities(no identities)", err, nil)
		diff(t, "ListResourceIdentities(no identities)", got, []string(nil))
		return nil
	})

	// Set replaces the whole set.
	write(t, s, func(tx store.Tx) error { return tx.SetResourceIdentities(vm1ID, []string{uami2ID}) })
	read(t, s, func(tx store.Tx) error {
		got, err := tx.ListResourceIdentities(vm1ID)
		wantErr(t, "ListResourceIdentities after replace", err, nil)
		diff(t, "ListResourceIdentities after replace", got, []string{uami2ID})
		got, err = tx.ListIdentityUsers(uami1ID)
		wantErr(t, "ListIdentityUsers after replace", err, nil)
		diff(t, "ListIdentityUsers(id1) after replace", got, []string{vm2ID})
		return nil
	})

	// Deleting a resource drops what it used; an empty set clears.
	write(t, s, func(tx store.Tx) error {
		if err := tx.DeleteResource(vm2ID); err != nil {
			return err
		}
		return tx.SetResourceIdentities(vm1ID, nil)
	})
	read(t, s, func(tx store.Tx) error {
		for _, id := range []string{uami1ID, uami2ID} {
			got, err := tx.ListIdentityUsers(id)
			wantErr(t, "ListIdentityUsers after delete", err, nil)
			diff(t, "ListIdentityUsers("+id+") after delete and clear", got, []string(nil))
		}
		return nil
	})
}
