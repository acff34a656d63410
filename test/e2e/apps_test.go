package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/signet-platform/signet/internal/agent/host"
)

type siteBody struct {
	Location   string            `json:"location"`
	Identity   *armIdentity      `json:"identity,omitempty"`
	Properties map[string]string `json:"properties"`
}

// TestTwoAppsOnOneHostEachGetTheirOwnIdentity places two web apps on the
// host and runs each the way `signet run --app` does: each gets its own
// identity through the App Service endpoint, and one app's secret does not
// reach the other's identity.
func TestTwoAppsOnOneHostEachGetTheirOwnIdentity(t *testing.T) {
	s := startSignet(t, "")
	h := newTestHost(t, s)
	admin := s.adminCredential(t)
	apps := map[string]armResource{}
	for _, name := range []string{"app-one", "app-two"} {
		path := "/subscriptions/" + s.Dev.SubscriptionID + "/resourceGroups/" + s.Dev.ResourceGroup + "/providers/Microsoft.Web/sites/" + name
		var out armResource
		if _, err := armDo(ctxT(t), t, s, admin, http.MethodPut, path, "2023-12-01",
			siteBody{Location: "local", Identity: &armIdentity{Type: "SystemAssigned"}, Properties: map[string]string{"signetHostResourceId": h.vmID}}, &out); err != nil {
			t.Fatal(err)
		}
		apps[name] = out
	}

	envs := map[string][]string{}
	deadline := time.Now().Add(5 * time.Second)
	for name, app := range apps {
		for {
			env, err := host.RunEnv(h.stateDir, app.ID, []string{"PATH=/usr/bin", "MSI_ENDPOINT=http://elsewhere", "IMDS_ENDPOINT=http://elsewhere"})
			if err == nil {
				envs[name] = env
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the agent has not taken up %s: %v", name, err)
			}
			waitABit()
		}
	}
	for name, app := range apps {
		vars := envMap(envs[name])
		if vars["MSI_ENDPOINT"] != "" || vars["IMDS_ENDPOINT"] != "" || vars["IDENTITY_ENDPOINT"] == "" || vars["IDENTITY_HEADER"] == "" || vars["PATH"] != "/usr/bin" {
			t.Fatalf("%s: environment %v", name, vars)
		}
		clearMIEnv(t)
		t.Setenv("IDENTITY_ENDPOINT", vars["IDENTITY_ENDPOINT"])
		t.Setenv("IDENTITY_HEADER", vars["IDENTITY_HEADER"])
		cred, err := azidentity.NewManagedIdentityCredential(nil)
		if err != nil {
			t.Fatal(err)
		}
		// MSAL Go caches managed identity tokens per process by (identity,
		// resource); two apps in one test process would share the
		// system-assigned slot, so each asks for its own resource.
		h.checkTokenFor(t, cred, "api://"+name, app.Identity.PrincipalID, app.ID)
	}

	// App one's secret cannot reach app two's identity, nor the host's.
	one, two := envMap(envs["app-one"]), apps["app-two"]
	otherClient := s.principal(t, two.Identity.PrincipalID).ClientID
	for _, q := range []string{"&client_id=" + otherClient, "&client_id=" + s.principal(t, h.sysOID).ClientID} {
		req, _ := http.NewRequest(http.MethodGet, one["IDENTITY_ENDPOINT"]+"?api-version=2019-08-01&resource=https://vault.azure.net"+q, nil)
		req.Header.Set("X-IDENTITY-HEADER", one["IDENTITY_HEADER"])
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("app one asking for %s: %s, want 400 (identity not found)", q, resp.Status)
		}
	}
	// A wrong or missing header is refused.
	for header, want := range map[string]int{"": http.StatusUnauthorized, "not-a-secret": http.StatusForbidden} {
		req, _ := http.NewRequest(http.MethodGet, one["IDENTITY_ENDPOINT"]+"?api-version=2019-08-01&resource=https://vault.azure.net", nil)
		if header != "" {
			req.Header.Set("X-IDENTITY-HEADER", header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("header %q: %s, want %d", header, resp.Status, want)
		}
	}
}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
