package arm

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	azarm "github.com/Azure/azure-sdk-for-go/sdk/azcore/arm"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/authorization/armauthorization/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/msi/armmsi"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/directory"
)

// These tests drive the official management clients against the handler in
// process, to pin the JSON and status codes they accept. The end-to-end
// suite repeats them over real HTTPS with real tokens.

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) Do(r *http.Request) (*http.Response, error) {
	w := httptest.NewRecorder()
	t.h.ServeHTTP(w, r)
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

type staticToken string

func (s staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func (e *env) clientOptions() *azarm.ClientOptions {
	return &azarm.ClientOptions{
		ClientOptions: policy.ClientOptions{
			Cloud: cloud.Configuration{Services: map[cloud.ServiceName]cloud.ServiceConfiguration{
				cloud.ResourceManager: {Endpoint: "https://management.signet.test", Audience: "https://management.azure.com"},
			}},
			Transport: handlerTransport{e.h},
			Retry:     policy.RetryOptions{MaxRetries: -1},
		},
		DisableRPRegistration: true,
	}
}

func TestArmMSIClient(t *testing.T) {
	e := newEnv(t)
	e.srv.pageSize = 1 // make the pager follow nextLink
	e.group("rg")
	ctx := t.Context()
	uamis, err := armmsi.NewUserAssignedIdentitiesClient(sub1, staticToken("admin"), e.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	created, err := uamis.CreateOrUpdate(ctx, "rg", "one", armmsi.Identity{Location: to.Ptr("westeurope"), Tags: map[string]*string{"a": to.Ptr("b")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := created.Properties
	if p == nil || p.PrincipalID == nil || p.ClientID == nil || p.TenantID == nil || *p.TenantID != tenant1 ||
		created.SystemData == nil || created.SystemData.CreatedAt == nil || *created.Type != typeUAMI {
		t.Fatalf("created = %+v", created.Identity)
	}
	if _, err := uamis.CreateOrUpdate(ctx, "rg", "two", armmsi.Identity{Location: to.Ptr("westeurope")}, nil); err != nil {
		t.Fatal(err)
	}
	got, err := uamis.Get(ctx, "rg", "one", nil)
	if err != nil || *got.Properties.PrincipalID != *p.PrincipalID {
		t.Fatalf("Get = %+v, %v", got.Properties, err)
	}
	upd, err := uamis.Update(ctx, "rg", "one", armmsi.IdentityUpdate{Tags: map[string]*string{"c": to.Ptr("d")}}, nil)
	if err != nil || upd.Tags["c"] == nil || *upd.Properties.ClientID != *p.ClientID {
		t.Fatalf("Update = %+v, %v", upd, err)
	}
	var names []string
	for pager := uamis.NewListByResourceGroupPager("rg", nil); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range page.Value {
			names = append(names, *v.Name)
		}
	}
	if strings.Join(names, ",") != "one,two" {
		t.Errorf("listed %v, want one,two over two pages", names)
	}

	// System-assigned identity of a VM.
	vm := e.vm("rg", "vm", map[string]any{"type": "SystemAssigned"})
	sys, err := armmsi.NewSystemAssignedIdentitiesClient(staticToken("admin"), e.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	def, err := sys.GetByScope(ctx, strings.TrimPrefix(vm.ID, "/"), nil)
	if err != nil || *def.Properties.PrincipalID != vm.Identity.PrincipalID {
		t.Fatalf("GetByScope = %+v, %v", def.Properties, err)
	}

	if _, err := uamis.Delete(ctx, "rg", "one", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := uamis.Delete(ctx, "rg", "one", nil); err != nil {
		t.Fatalf("second Delete (204): %v", err)
	}
	_, err = uamis.Get(ctx, "rg", "one", nil)
	if re, ok := err.(*azcore.ResponseError); !ok || re.StatusCode != http.StatusNotFound || re.ErrorCode != codeResourceNotFound {
		t.Errorf("Get after Delete: %v, want 404 ResourceNotFound", err)
	}
}

func TestArmAuthorizationClient(t *testing.T) {
	e := newEnv(t)
	e.group("rg")
	ctx := t.Context()
	target := e.principal("app", tenant1, "", "")
	scope := "subscriptions/" + sub1 + "/resourceGroups/rg"

	defs, err := armauthorization.NewRoleDefinitionsClient(staticToken("admin"), e.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	var readerID string
	for pager := defs.NewListPager(scope, &armauthorization.RoleDefinitionsClientListOptions{Filter: to.Ptr("roleName eq 'Reader'")}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range page.Value {
			readerID = *d.ID
			if *d.Properties.RoleType != "BuiltInRole" || *d.Properties.Permissions[0].Actions[0] != "*/read" {
				t.Errorf("Reader = %+v", d.Properties)
			}
		}
	}
	if want := "/subscriptions/" + sub1 + "/providers/Microsoft.Authorization/roleDefinitions/" + authz.ReaderRoleID; readerID != want {
		t.Fatalf("Reader id = %q, want %q", readerID, want)
	}

	ras, err := armauthorization.NewRoleAssignmentsClient(sub1, staticToken("admin"), e.clientOptions())
	if err != nil {
		t.Fatal(err)
	}
	name := directory.NewID()
	params := armauthorization.RoleAssignmentCreateParameters{Properties: &armauthorization.RoleAssignmentProperties{
		RoleDefinitionID: &readerID, PrincipalID: &target, PrincipalType: to.Ptr(armauthorization.PrincipalTypeServicePrincipal),
	}}
	created, err := ras.Create(ctx, scope, name, params, nil)
	if err != nil {
		t.Fatal(err)
	}
	if *created.Name != name || *created.Properties.Scope != "/"+scope || created.Properties.CreatedOn == nil {
		t.Errorf("created = %+v", created.Properties)
	}
	if _, err := ras.Create(ctx, scope, name, params, nil); err != nil {
		t.Errorf("identical PUT: %v, want success", err)
	}
	_, err = ras.Create(ctx, scope, directory.NewID(), params, nil)
	if re, ok := err.(*azcore.ResponseError); !ok || re.StatusCode != http.StatusConflict || re.ErrorCode != codeRoleAssignmentExists {
		t.Errorf("duplicate: %v, want 409 RoleAssignmentExists", err)
	}
	byID, err := ras.GetByID(ctx, *created.ID, nil)
	if err != nil || *byID.Properties.PrincipalID != target {
		t.Fatalf("GetByID = %+v, %v", byID, err)
	}
	count := 0
	for pager := ras.NewListForScopePager(scope, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: to.Ptr("atScope()")}); pager.More(); {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		count += len(page.Value)
	}
	if count != 2 { // the admin's Owner at the subscription and the new Reader
		t.Errorf("atScope() listed %d, want 2", count)
	}

	custom, err := defs.CreateOrUpdate(ctx, "subscriptions/"+sub1, directory.NewID(), armauthorization.RoleDefinition{
		Properties: &armauthorization.RoleDefinitionProperties{
			RoleName:         to.Ptr("Custom"),
			AssignableScopes: []*string{to.Ptr("/subscriptions/" + sub1)},
			Permissions:      []*armauthorization.Permission{{Actions: []*string{to.Ptr("Microsoft.Compute/*/read")}}},
		},
	}, nil)
	if err != nil || *custom.Properties.RoleType != "CustomRole" {
		t.Fatalf("custom role = %+v, %v", custom, err)
	}
	if _, err := ras.DeleteByID(ctx, *created.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := ras.DeleteByID(ctx, *created.ID, nil); err != nil {
		t.Fatalf("second delete (204): %v", err)
	}
	if _, err := defs.Delete(ctx, "subscriptions/"+sub1, *custom.Name, nil); err != nil {
		t.Fatal(err)
	}
}

// armauthorization appends $filter to the query unencoded, so
// "principalId eq '…'" reaches the wire with raw spaces. Go's HTTP/1.1
// server refuses such a request line before any handler runs; over HTTP/2
// (what azcore negotiates on TLS) it arrives intact. The management
// listener must therefore keep HTTP/2 enabled; this pins that it works.
func TestUnencodedFilterOverHTTP2(t *testing.T) {
	e := newEnv(t)
	ts := httptest.NewUnstartedServer(e.h)
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	o := e.clientOptions()
	o.Transport = ts.Client()
	o.Cloud.Services[cloud.ResourceManager] = cloud.ServiceConfiguration{Endpoint: ts.URL, Audience: "https://management.azure.com"}
	ra, err := armauthorization.NewRoleAssignmentsClient(sub1, staticToken("admin"), o)
	if err != nil {
		t.Fatal(err)
	}
	filter := "principalId eq '" + e.tokens["admin"].ObjectID + "'"
	page, err := ra.NewListForScopePager("subscriptions/"+sub1, &armauthorization.RoleAssignmentsClientListForScopeOptions{Filter: &filter}).NextPage(t.Context())
	if err != nil || len(page.Value) != 1 || *page.Value[0].Properties.RoleDefinitionID != roleDefinitionID("/subscriptions/"+sub1, authz.OwnerRoleID) {
		t.Fatalf("list with %q: %v, %+v", filter, err, page.Value)
	}
}
