package sts

import (
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/signet-platform/signet/internal/jwt"
)

// TestAzureSDKCredentials drives the official azidentity credentials (MSAL
// Go underneath: OIDC discovery with issuer-host validation, the v2 token
// endpoint, MSAL's scopes, CP1 claims, std-base64 x5t#S256 PS256
// assertions) against the service.
func TestAzureSDKCredentials(t *testing.T) {
	f := newFixture(t)
	ck, _ := testKeys(t)
	cert, err := x509.ParseCertificate(f.certDER)
	if err != nil {
		t.Fatal(err)
	}
	clientOptions := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: f.ts.URL},
		Transport: f.ts.Client(), // trusts the test server's certificate
	}
	secretCred, err := azidentity.NewClientSecretCredential(f.tenant, f.sp.ClientID, f.secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	certCred, err := azidentity.NewClientCertificateCredential(f.tenant, f.sp.ClientID, []*x509.Certificate{cert}, ck,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOptions, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	verifier := &jwt.Verifier{
		Keys:        f.keys,
		ValidIssuer: func(iss string) bool { return iss == IssuerV1(f.ts.URL, f.tenant) },
		Audiences:   []string{"https://management.azure.com"},
	}
	for _, tc := range []struct {
		name string
		cred azcore.TokenCredential
		acr  string
	}{{"client secret", secretCred, "1"}, {"client certificate", certCred, "2"}} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.cred.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			c, err := verifier.Verify(tok.Token)
			if err != nil {
				t.Fatalf("token does not verify: %v", err)
			}
			if c.AppID != f.sp.ClientID || c.AppIDACR != tc.acr || c.ObjectID != f.sp.ObjectID || c.Version != "1.0" {
				t.Errorf("claims appid %q appidacr %q oid %q ver %q, want %q %q %q 1.0", c.AppID, c.AppIDACR, c.ObjectID, c.Version, f.sp.ClientID, tc.acr, f.sp.ObjectID)
			}
			// The SDK's expiry is the response's arrival plus expires_in:
			// within a second before exp, never after it (give or take
			// this loopback round trip's tail).
			if d := tok.ExpiresOn.Sub(time.Unix(c.Expiry, 0)); d > 100*time.Millisecond || d < -2*time.Second {
				t.Errorf("SDK ExpiresOn %v is %v from the token's exp %d", tok.ExpiresOn, d, c.Expiry)
			}
		})
	}

	// A refusal reaches the SDK as an authentication error naming Entra's code.
	bad, err := azidentity.NewClientSecretCredential(f.tenant, f.sp.ClientID, "wrong",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOptions, DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.GetToken(t.Context(), policy.TokenRequestOptions{Scopes: []string{"https://management.azure.com/.default"}})
	var authErr *azidentity.AuthenticationFailedError
	if !asAuthFailed(err, &authErr) || authErr.RawResponse == nil || authErr.RawResponse.StatusCode != 401 {
		t.Errorf("wrong secret: err = %v, want an AuthenticationFailedError with status 401", err)
	}
}

func asAuthFailed(err error, target **azidentity.AuthenticationFailedError) bool {
	return errors.As(err, target)
}
