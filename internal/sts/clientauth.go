package sts

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/directory"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/oauth2"
	"github.com/signet-platform/signet/internal/store"
)

// Credential types recorded in the sign-in log, and the matching
// appidacr/azpacr values (1: client secret, 2: certificate).
const (
	credentialTypeSecret    = "clientSecret"
	credentialTypeAssertion = "clientAssertion"
	acrSecret               = "1"
	acrCertificate          = "2"
)

// authenticatedClient is a client whose credential has been verified.
// Grants receive nothing else: no grant can see an unauthenticated client.
type authenticatedClient struct {
	Principal store.Principal
	ACR       string // "1" secret, "2" certificate
	// Assertion, for a certificate assertion, is the jti the token spends:
	// marked used in the transaction that records the sign-in.
	Assertion *store.AssertionUse
}

// clientAuthenticator verifies one kind of client credential.
type clientAuthenticator interface {
	authenticate(ctx context.Context, req *tokenRequest) (*authenticatedClient, *oauth2.Error)
}

// authenticateClient picks the one authentication method the request uses
// (RFC 6749 §2.3: never more than one) and runs it.
func (s *Server) authenticateClient(ctx context.Context, req *tokenRequest) (*authenticatedClient, *oauth2.Error) {
	f := req.form
	hasSecret := f.ClientSecret != "" || f.Basic
	hasAssertion := f.AssertionType != "" || f.Assertion != ""
	var auth clientAuthenticator
	switch {
	case hasSecret && hasAssertion:
		return nil, errInvalidRequest(codeInvalidParameter,
			"The request contains both a client secret and a client assertion; send exactly one.")
	case hasSecret:
		req.signIn.CredentialType = credentialTypeSecret
		auth = secretAuthenticator{s}
	case hasAssertion:
		req.signIn.CredentialType = credentialTypeAssertion
		auth = assertionAuthenticator{s}
	default:
		return nil, errInvalidRequest(codeMissingField,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	return auth.authenticate(ctx, req)
}

// loadClient finds a principal and its credentials (see client): the only
// store reads on the token path.
func (s *Server) loadClient(ctx context.Context, req *tokenRequest, clientID string) (store.Principal, []store.Credential, *oauth2.Error) {
	// Client ids are GUIDs; anything else cannot name a principal.
	if _, err := uuid.Parse(clientID); err != nil || len(clientID) != 36 {
		return store.Principal{}, nil, errUnknownClient(clientID, req.tenant)
	}
	c, err := s.client(ctx, req.tenant, clientID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.Principal{}, nil, errUnknownClient(clientID, req.tenant)
	case err != nil:
		return store.Principal{}, nil, oauth2.ServerError(fmt.Errorf("load client: %w", err))
	}
	p, creds := c.principal, c.creds
	req.signIn.PrincipalID = p.ObjectID
	if !p.Enabled {
		return store.Principal{}, nil, errClientDisabled(clientID)
	}
	return p, creds, nil
}

// client returns a principal and its credentials, read in one read
// transaction or taken from the client cache while the principals
// generation it was read under is current. The enabled flag and every
// credential check are applied by the caller to either alike.
func (s *Server) client(ctx context.Context, tenant, clientID string) (*cachedClient, error) {
	var gen int64
	cacheable := false
	if s.Generations != nil {
		// Read before the store: an entry is tagged with a generation no
		// newer than what it saw, so a change racing the load only makes
		// the entry stale sooner.
		gen, cacheable = s.Generations.Current(store.GenPrincipals)
	}
	k := newClientCacheKey(tenant, clientID)
	if cacheable {
		if c, ok := s.clients.get(gen, k); ok {
			return c, nil
		}
	}
	c := &cachedClient{}
	err := s.Store.Read(ctx, func(tx store.Tx) error {
		var err error
		if c.principal, err = tx.GetPrincipalByClientID(tenant, clientID); err != nil {
			return err
		}
		c.creds, err = tx.ListCredentials(c.principal.ObjectID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cacheable {
		s.clients.put(gen, k, c)
	}
	return c, nil
}

// withinValidity reports whether now is inside [notBefore, notAfter]; a zero
// bound is open.
func withinValidity(now, notBefore, notAfter time.Time) bool {
	return (notBefore.IsZero() || !now.Before(notBefore)) && (notAfter.IsZero() || !now.After(notAfter))
}

// secretAuthenticator: client_secret_post and client_secret_basic (RFC 6749 §2.3.1).
type secretAuthenticator struct{ s *Server }

func (a secretAuthenticator) authenticate(ctx context.Context, req *tokenRequest) (*authenticatedClient, *oauth2.Error) {
	f := req.form
	if f.ClientID == "" {
		return nil, errInvalidRequest(codeMissingField, "The request body must contain the following parameter: 'client_id'.")
	}
	if f.ClientSecret == "" {
		return nil, errInvalidRequest(codeMissingField, "The request body must contain the following parameter: 'client_secret'.")
	}
	p, creds, oerr := a.s.loadClient(ctx, req, f.ClientID)
	if oerr != nil {
		return nil, oerr
	}
	expired := false
	for _, c := range creds {
		if c.Kind != store.CredentialSecret || !directory.VerifySecret(c.SecretHash, f.ClientSecret) {
			continue
		}
		if withinValidity(req.now, c.NotBefore, c.NotAfter) {
			return &authenticatedClient{Principal: p, ACR: acrSecret}, nil
		}
		expired = true
	}
	if expired {
		return nil, errInvalidClient(codeSecretExpired, "The provided client secret keys for app '%s' are expired.", f.ClientID)
	}
	return nil, errInvalidClient(codeInvalidSecret, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", f.ClientID)
}

// assertionAuthenticator: private_key_jwt, a JWT signed by a certificate
// registered on the principal (RFC 7523 §2.2, §3).
type assertionAuthenticator struct{ s *Server }

func (a assertionAuthenticator) authenticate(ctx context.Context, req *tokenRequest) (*authenticatedClient, *oauth2.Error) {
	f := req.form
	if f.AssertionType == "" {
		return nil, errInvalidRequest(codeMissingField, "The request body must contain the following parameter: 'client_assertion_type'.")
	}
	if f.AssertionType != oauth2.AssertionTypeJWTBearer {
		return nil, errInvalidRequest(codeInvalidParameter, "The client_assertion_type must be '%s'.", oauth2.AssertionTypeJWTBearer)
	}
	if f.Assertion == "" {
		return nil, errInvalidRequest(codeMissingField, "The request body must contain the following parameter: 'client_assertion'.")
	}
	as, oerr := parseAssertion(f.Assertion)
	if oerr != nil {
		return nil, oerr
	}
	// client_id is optional with an assertion (RFC 7521 §4.2): the
	// assertion names the client. When both are present they must agree.
	clientID := as.Issuer
	if f.ClientIDSet {
		if f.ClientID != as.Issuer {
			req.signIn.ClientID = f.ClientID
			return nil, errInvalidClient(codeAssertionSubject,
				"Client assertion application identifier doesn't match 'client_id' parameter.")
		}
	}
	req.signIn.ClientID = clientID
	p, creds, oerr := a.s.loadClient(ctx, req, clientID)
	if oerr != nil {
		return nil, oerr
	}

	cred, ok := findCertificate(creds, as)
	if !ok {
		return nil, errInvalidClient(codeAssertionSignature,
			"The certificate used to sign the client assertion is not registered on application '%s'.", clientID)
	}
	vc, err := a.s.certs.get(cred)
	if err != nil {
		return nil, oauth2.ServerError(err)
	}
	if !withinValidity(req.now, cred.NotBefore, cred.NotAfter) || !withinValidity(req.now, vc.notBefore, vc.notAfter) {
		return nil, errInvalidClient(codeAssertionSignature,
			"The certificate used to sign the client assertion is outside its validity period.")
	}
	if err := as.jws.VerifySignature(vc.pub, jwt.PS256, jwt.RS256); err != nil {
		return nil, errInvalidClient(codeAssertionSignature, "Client assertion failed signature validation.").WithCause(err)
	}
	if oerr := as.checkClaims(assertionCheck{
		ClientID:  p.ClientID,
		Audiences: a.s.tokenEndpoints(req.tenant),
		Now:       req.now,
		Skew:      a.s.AssertionSkew,
	}); oerr != nil {
		return nil, oerr
	}
	// Last, once everything else holds, so that an invalid assertion cannot
	// burn the jti of a valid one. The marker outlives the assertion by the
	// skew, which is how long checkClaims still accepts it. It is written
	// with the sign-in (replay.go); this early look spares a replay the
	// RSA work.
	use := &store.AssertionUse{Issuer: p.ClientID, JTI: as.JTI, Expires: time.Unix(*as.Expiry, 0).Add(a.s.AssertionSkew)}
	if !a.s.spending.claim(use.Issuer, use.JTI, req.now) {
		return nil, errAssertionReplayed()
	}
	req.claimed = use
	return &authenticatedClient{Principal: p, ACR: acrCertificate, Assertion: use}, nil
}

func errAssertionReplayed() *oauth2.Error {
	return errInvalidClient(codeAssertionReplayed, "The client assertion has already been used (jti replayed).")
}

// findCertificate finds the certificate credential the assertion's header
// names, by SHA-256 (x5t#S256) or SHA-1 (x5t) thumbprint of its DER.
func findCertificate(creds []store.Credential, as *clientAssertion) (store.Credential, bool) {
	for _, c := range creds {
		if c.Kind != store.CredentialCertificate || len(c.CertificateDER) == 0 {
			continue
		}
		var tp []byte
		switch {
		case as.sha256 && len(c.ThumbprintSHA256) == sha256.Size:
			tp = c.ThumbprintSHA256
		case as.sha256:
			sum := sha256.Sum256(c.CertificateDER)
			tp = sum[:]
		default:
			sum := sha1.Sum(c.CertificateDER)
			tp = sum[:]
		}
		if subtle.ConstantTimeCompare(tp, as.thumbprint) == 1 {
			return c, true
		}
	}
	return store.Credential{}, false
}

// tokenEndpoints are the URLs a client assertion's aud may name: either
// token endpoint (v1, v2) under any public base (compared case-insensitively).
func (s *Server) tokenEndpoints(tenant string) []string {
	out := make([]string, 0, 2*len(s.PublicURLs))
	for _, base := range s.PublicURLs {
		out = append(out, base+"/"+tenant+"/oauth2/v2.0/token", base+"/"+tenant+"/oauth2/token")
	}
	return out
}
