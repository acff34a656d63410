package sts

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/oauth2"
)

// ignoredScopes are the OpenID Connect scopes MSAL Go appends to every
// request, client credentials included; they ask for nothing here.
var ignoredScopes = map[string]bool{"openid": true, "offline_access": true, "profile": true}

const defaultScopeSuffix = "/.default"

// resourceFromScope takes the v2 scope parameter: exactly one
// "<resource>/.default" scope, plus any of the ignored OIDC scopes. Client
// credentials have no consent, so nothing but .default may be asked for.
func resourceFromScope(scope string) (string, *oauth2.Error) {
	resource := ""
	for _, sc := range strings.Fields(scope) {
		if ignoredScopes[sc] {
			continue
		}
		if !strings.HasSuffix(sc, defaultScopeSuffix) || resource != "" {
			return "", errInvalidScope(scope)
		}
		resource = strings.TrimSuffix(sc, defaultScopeSuffix)
	}
	if !validResource(resource) {
		return "", errInvalidScope(scope)
	}
	return resource, nil
}

func errInvalidScope(scope string) *oauth2.Error {
	return oauth2.Errorf(http.StatusBadRequest, oauth2.ErrInvalidScope, codeInvalidScope,
		"The provided value for the input parameter 'scope' is not valid. The client credentials flow takes exactly one scope of the form '<resource>/.default'; got '%s'.", truncate(scope, 256))
}

func errInvalidResource(resource string) *oauth2.Error {
	return oauth2.Errorf(http.StatusBadRequest, oauth2.ErrInvalidResource, codeInvalidResource,
		"The resource principal named '%s' was not found. The resource must be an absolute URI or an application id.", truncate(resource, 256))
}

// maxResourceLen bounds a resource identifier (it is echoed and stored).
const maxResourceLen = 1024

// validResource accepts what Entra accepts as a resource: an application id
// (GUID) or an absolute URI with a host (https://…, api://…) and no
// credentials or fragment.
func validResource(resource string) bool {
	if resource == "" || len(resource) > maxResourceLen {
		return false
	}
	for _, c := range resource {
		if c <= ' ' || c == 0x7f {
			return false
		}
	}
	if _, err := uuid.Parse(resource); err == nil && len(resource) == 36 {
		return true
	}
	u, err := url.Parse(resource)
	return err == nil && u.Scheme != "" && u.Host != "" && u.User == nil && u.Fragment == "" && !strings.Contains(resource, "#")
}

// v1Audiences are the Azure services whose tokens are v1 whichever endpoint
// asked for them (their resource apps accept v1 tokens, as in Azure).
var v1Audiences = map[string]bool{
	"https://management.azure.com":        true,
	"https://management.core.windows.net": true,
	"https://vault.azure.net":             true,
	"https://storage.azure.com":           true,
}

// v1HostSuffixes are the per-account data-plane hosts of those services.
var v1HostSuffixes = []string{".vault.azure.net", ".blob.core.windows.net"}

// tokenVersion is the token version for a resource: 1 for the Azure service
// audiences, else the version of the endpoint asked.
func tokenVersion(resource string, endpointVersion int) int {
	r := strings.ToLower(strings.TrimRight(resource, "/"))
	if v1Audiences[r] {
		return 1
	}
	if u, err := url.Parse(r); err == nil && u.Scheme == "https" {
		for _, suffix := range v1HostSuffixes {
			if strings.HasSuffix(u.Hostname(), suffix) {
				return 1
			}
		}
	}
	return endpointVersion
}
