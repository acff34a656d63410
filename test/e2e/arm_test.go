package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"
	"github.com/google/uuid"
)

const (
	readerRoleID     = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
	contributorRole  = "b24988ac-6180-42a0-ab88-20f7382dd24c"
	vmType           = "Microsoft.Compute/virtualMachines"
	computeAPI       = "2024-03-01"
	roleDefinitionFm = "/subscriptions/%s/providers/Microsoft.Authorization/roleDefinitions/%s"
)

func TestArmMSIUserAssignedIdentityLifecycle(t *testing.T) {
	s := startSignet(t, "")
	ctx := ctxT(t)
	c, err := armmsi.NewUserAssignedIdentitiesClient(s.Dev.SubscriptionID, s.adminCredential(t), s.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	created, err := c.CreateOrUpdate(ctx, s.Dev.ResourceGroup, "uami-1", armmsi.Identity{Location: to.Ptr("local"), Tags: map[string]*string{"env": to.Ptr("test")}}, nil)
	if err != nil {
		t.Fatalf("CreateOrUpdate: %v", err)
	}
	p := created.Properties
	if p == nil || p.PrincipalID == nil || p.ClientID == nil || p.TenantID == nil || *p.TenantID != s.Dev.TenantID {
		t.Fatalf("created identity properties: %+v", p)
	}
	wantID := "/subscriptions/" + s.Dev.SubscriptionID + "/resourceGroups/" + s.Dev.ResourceGroup + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami-1"
	if !strings.EqualFold(*created.ID, wantID) || *created.Type != "Microsoft.ManagedIdentity/userAssignedIdentities" {
		t.Errorf("id %q type %q", *created.ID, *created.Type)
	}
	// The identity is a principal of its own kind, carrying its resource id.
	if got := s.principal(t, *p.PrincipalID); got.ClientID != *p.ClientID || !strings.EqualFold(got.ResourceID, wantID) {
		t.Errorf("principal %+v does not match the resource", got)
	}

	got, err := c.Get(ctx, s.Dev.ResourceGroup, "uami-1", nil)
	if err != nil || *got.Properties.PrincipalID != *p.PrincipalID {
		t.Fatalf("Get: %v %+v", err, got)
	}
	// A second PUT keeps the same principal, as Azure does.
	again, err := c.CreateOrUpdate(ctx, s.Dev.ResourceGroup, "uami-1", armmsi.Identity{Location: to.Ptr("local")}, nil)
	if err != nil || *again.Properties.PrincipalID != *p.PrincipalID {
		t.Fatalf("second CreateOrUpdate: %v, principal %v", err, again.Properties)
	}
	if _, err := c.CreateOrUpdate(ctx, s.Dev.ResourceGroup, "uami-2", armmsi.Identity{Location: to.Ptr("local")}, nil); err != nil {
		t.Fatal(err)
	}

	var names []string
	for pager := c.NewListByResourceGroupPager(s.Dev.ResourceGroup, nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListByResourceGroup: %v", err)
		}
		for _, id := range page.Value {
			names = append(names, *id.Name)
		}
	}
	if strings.Join(names, ",") != "uami-1,uami-2" {
		t.Errorf("ListByResourceGroup = %v", names)
	}
	count := 0
	for pager := c.NewListBySubscriptionPager(nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListBySubscription: %v", err)
		}
		count += len(page.Value)
	}
	if count != 2 {
		t.Errorf("ListBySubscription found %d identities, want 2", count)
	}

	if _, err := c.Delete(ctx, s.Dev.ResourceGroup, "uami-1", nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	_, err = c.Get(ctx, s.Dev.ResourceGroup, "uami-1", nil)
	if code := respCode(err); code != http.StatusNotFound {
		t.Fatalf("Get after delete: status %d (%v), want 404", code, err)
	}
}

func TestArmAuthorizationRoleAssignments(t *testing.T) {
	s := startSignet(t, "")
	ctx := ctxT(t)
	cred := s.adminCredential(t)
	msi, _ := armmsi.NewUserAssignedIdentitiesClient(s.Dev.SubscriptionID, cred, s.armOptions())
	uami, err := msi.CreateOrUpdate(ctx, s.Dev.ResourceGroup, "reader-id", armmsi.Identity{Location: to.Ptr("local")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ra, err := armauthorization.NewRoleAssignmentsClient(s.Dev.SubscriptionID, cred, s.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	scope := "/subscriptions/" + s.Dev.SubscriptionID + "/resourceGroups/" + s.Dev.ResourceGroup
	name := uuid.NewString()
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: to.Ptr("/subscriptions/" + s.Dev.SubscriptionID + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRoleID),
		PrincipalID:      uami.Properties.PrincipalID,
		PrincipalType:    to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
	}}
	created, err := ra.Create(ctx, scope, name, params, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if *created.Name != name || !strings.EqualFold(*created.Properties.Scope, scope) || *created.Properties.PrincipalID != *uami.Properties.PrincipalID {
		t.Errorf("created assignment %+v", created.Properties)
	}
	// The same grant again under another name is a duplicate.
	_, err = ra.Create(ctx, scope, uuid.NewString(), params, nil)
	if code, ec := respCode(err), errCode(err); code != http.StatusConflict || ec != "RoleAssignmentExists" {
		t.Errorf("duplicate: status %d code %q, want 409 RoleAssignmentExists", code, ec)
	}

	filter := "principalId eq '" + *uami.Properties.PrincipalID + "'"
	var found []string
	for pager := ra.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &filter}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListForScope: %v", err)
		}
		for _, a := range page.Value {
			found = append(found, *a.Name)
		}
	}
	if len(found) != 1 || found[0] != name {
		t.Errorf("ListForScope(%s) = %v, want [%s]", filter, found, name)
	}

	defs, _ := armauthorization.NewRoleDefinitionsClient(cred, s.armOptions())
	rolePager := defs.NewListPager(scope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Reader'")})
	page, err := rolePager.NextPage(ctx)
	if err != nil || len(page.Value) != 1 || *page.Value[0].Name != readerRoleID {
		t.Fatalf("role definitions with roleName eq 'Reader': %v %v", err, page.Value)
	}

	if _, err := ra.Delete(ctx, scope, name, nil); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	found = nil
	for pager := ra.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &filter}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Value {
			found = append(found, *a.Name)
		}
	}
	if len(found) != 0 {
		t.Errorf("after delete: %v", found)
	}
}

// armDo sends one request through the official ARM pipeline (bearer token
// policy and all) and decodes the JSON answer into out when it is not nil.
func armDo(ctx context.Context, t testing.TB, s *signet, cred azcore.TokenCredential, method, path, apiVersion string, body, out any) (int, error) {
	t.Helper()
	client, err := arm.NewClient("signet-e2e", "v0.0.1", cred, s.armOptions())
	if err != nil {
		t.Fatal(err)
	}
	req, err := runtime.NewRequest(ctx, method, runtime.JoinPaths(s.ARMURL, path))
	if err != nil {
		t.Fatal(err)
	}
	q := req.Raw().URL.Query()
	q.Set("api-version", apiVersion)
	req.Raw().URL.RawQuery = q.Encode()
	if body != nil {
		if err := runtime.MarshalAsJSON(req, body); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := client.Pipeline().Do(req)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, runtime.NewResponseError(resp)
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := runtime.UnmarshalAsJSON(resp, out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode, nil
}

func respCode(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

func errCode(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}
