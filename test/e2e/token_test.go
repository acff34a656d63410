package e2e

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/store"
)

// tokenClaims are the claims the tests look at, decoded by go-jose.
type tokenClaims struct {
	josejwt.Claims
	Audience string `json:"aud"` // Azure's aud is a string
	AppID    string `json:"appid"`
	AppIDACR string `json:"appidacr"`
	AZP      string `json:"azp"`
	AZPACR   string `json:"azpacr"`
	IDP      string `json:"idp"`
	OID      string `json:"oid"`
	TID      string `json:"tid"`
	UTI      string `json:"uti"`
	Ver      string `json:"ver"`
	IDTyp    string `json:"idtyp"`
	MIRID    string `json:"xms_mirid"`
}

// verifyWithDiscovery verifies a token the way an independent relying party
// would: OIDC discovery → jwks_uri → go-jose verification.
func (s *signet) verifyWithDiscovery(t testing.TB, token string) tokenClaims {
	t.Helper()
	var disco struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	s.getJSON(t, s.STSURL+"/"+s.Dev.TenantID+"/v2.0/.well-known/openid-configuration", &disco)
	if disco.JWKSURI == "" || !strings.HasPrefix(disco.Issuer, s.STSURL+"/"+s.Dev.TenantID) {
		t.Fatalf("discovery: issuer %q jwks_uri %q", disco.Issuer, disco.JWKSURI)
	}
	var jwks jose.JSONWebKeySet
	s.getJSON(t, disco.JWKSURI, &jwks)
	parsed, err := josejwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		t.Fatalf("parsing token: %v", err)
	}
	var c tokenClaims
	if err := parsed.Claims(jwks, &c); err != nil {
		t.Fatalf("token does not verify against the discovered JWKS: %v", err)
	}
	return c
}

func (s *signet) getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := s.http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func getToken(t testing.TB, cred azcore.TokenCredential, scope string) azcore.AccessToken {
	t.Helper()
	tok, err := cred.GetToken(ctxT(t), policy.TokenRequestOptions{Scopes: []string{scope}})
	if err != nil {
		t.Fatalf("GetToken(%s): %v", scope, err)
	}
	return tok
}

func checkCommonClaims(t testing.TB, s *signet, c tokenClaims, p store.Principal, lifetime time.Duration) {
	t.Helper()
	if c.OID != p.ObjectID || c.Subject != p.ObjectID || c.TID != s.Dev.TenantID {
		t.Errorf("oid/sub/tid = %q/%q/%q, want %q/%q/%q", c.OID, c.Subject, c.TID, p.ObjectID, p.ObjectID, s.Dev.TenantID)
	}
	if c.UTI == "" || c.IDTyp != "app" || c.IDP != c.Issuer {
		t.Errorf("uti %q idtyp %q idp %q (iss %q)", c.UTI, c.IDTyp, c.IDP, c.Issuer)
	}
	if c.IssuedAt == nil || c.NotBefore == nil || c.Expiry == nil {
		t.Fatalf("iat/nbf/exp missing: %+v", c.Claims)
	}
	if got := c.Expiry.Time().Sub(c.IssuedAt.Time()); got != lifetime {
		t.Errorf("lifetime = %v, want %v", got, lifetime)
	}
}

func TestClientSecretCredentialGetsVerifiableTokens(t *testing.T) {
	s := startSignet(t, "")
	cred := s.adminCredential(t)
	admin := s.principal(t, s.Dev.ObjectID)

	// Management: an Azure service audience, so a v1 token even though
	// MSAL used the v2 endpoint.
	tok := getToken(t, cred, "https://management.azure.com//.default")
	c := s.verifyWithDiscovery(t, tok.Token)
	checkCommonClaims(t, s, c, admin, time.Hour)
	if c.Audience != "https://management.azure.com/" || c.Ver != "1.0" || c.AppID != s.Dev.ClientID || c.AppIDACR != "1" {
		t.Errorf("aud %q ver %q appid %q appidacr %q", c.Audience, c.Ver, c.AppID, c.AppIDACR)
	}
	if want := s.STSURL + "/" + s.Dev.TenantID + "/"; c.Issuer != want {
		t.Errorf("iss = %q, want %q", c.Issuer, want)
	}
	if time.Until(tok.ExpiresOn) < 50*time.Minute {
		t.Errorf("ExpiresOn %v is too soon", tok.ExpiresOn)
	}

	// A custom audience on the v2 endpoint gets a v2 token.
	c = s.verifyWithDiscovery(t, getToken(t, cred, "api://signet-test-app/.default").Token)
	if c.Audience != "api://signet-test-app" || c.Ver != "2.0" || c.AZP != s.Dev.ClientID || c.AZPACR != "1" {
		t.Errorf("v2 token: aud %q ver %q azp %q azpacr %q", c.Audience, c.Ver, c.AZP, c.AZPACR)
	}
	if want := s.STSURL + "/" + s.Dev.TenantID + "/v2.0"; c.Issuer != want {
		t.Errorf("v2 iss = %q, want %q", c.Issuer, want)
	}
}

func TestClientCertificateCredentialGetsVerifiableTokens(t *testing.T) {
	s := startSignet(t, "")
	sp, certs, key := s.servicePrincipalWithCertificate(t, "cert-app")
	cred, err := azidentity.NewClientCertificateCredential(s.Dev.TenantID, sp.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: s.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	c := s.verifyWithDiscovery(t, getToken(t, cred, "https://vault.azure.net/.default").Token)
	checkCommonClaims(t, s, c, sp, time.Hour)
	if c.Audience != "https://vault.azure.net" || c.Ver != "1.0" || c.AppID != sp.ClientID || c.AppIDACR != "2" {
		t.Errorf("aud %q ver %q appid %q appidacr %q", c.Audience, c.Ver, c.AppID, c.AppIDACR)
	}
	// A second token needs a fresh assertion (MSAL makes one per request):
	// the replay check must not refuse honest clients.
	cred2, err := azidentity.NewClientCertificateCredential(s.Dev.TenantID, sp.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: s.clientOptions(), DisableInstanceDiscovery: true, SendCertificateChain: true})
	if err != nil {
		t.Fatal(err)
	}
	getToken(t, cred2, "https://storage.azure.com/.default")
}

// principal reads a principal from the store.
func (s *signet) principal(t testing.TB, objectID string) store.Principal {
	t.Helper()
	var p store.Principal
	err := s.Store.Read(ctxT(t), func(tx store.Tx) error {
		var err error
		p, err = tx.GetPrincipal(objectID)
		return err
	})
	if err != nil {
		t.Fatalf("principal %s: %v", objectID, err)
	}
	return p
}

// servicePrincipalWithCertificate registers an app with a certificate
// credential directly in the directory (Signet has no Graph-style API for app
// registrations yet).
func (s *signet) servicePrincipalWithCertificate(t testing.TB, name string) (store.Principal, []*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	sp := directory.NewServicePrincipal(s.Dev.TenantID, name, time.Now())
	cert, key := selfSignedCert(t, name)
	s.addCertificate(t, &sp, cert, true)
	return sp, []*x509.Certificate{cert}, key
}

func (s *signet) addCertificate(t testing.TB, p *store.Principal, cert *x509.Certificate, create bool) {
	t.Helper()
	err := s.Store.Write(ctxT(t), func(tx store.Tx) error {
		if create {
			if err := tx.CreatePrincipal(*p); err != nil {
				return err
			}
		}
		return tx.CreateCredential(store.Credential{
			ID: directory.NewID(), PrincipalID: p.ObjectID, Kind: store.CredentialCertificate,
			CertificateDER: cert.Raw, ThumbprintSHA256: sha256Sum(cert.Raw),
			NotBefore: cert.NotBefore, NotAfter: cert.NotAfter, CreatedAt: time.Now(),
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func selfSignedCert(t testing.TB, cn string) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}
