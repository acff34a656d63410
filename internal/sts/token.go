package sts

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/oauth2"
	"github.com/signet-platform/signet/internal/store"
)

// recordTimeout bounds the wait for a sign-in record to commit. It is
// detached from the client's context: a client that hangs up must not cause
// its sign-in to go unrecorded.
const recordTimeout = 10 * time.Second

// tokenRequest is one token request as it moves through the dispatcher.
type tokenRequest struct {
	tenant  string // canonical tenant id
	version int    // endpoint version: 1 (/oauth2/token) or 2 (/oauth2/v2.0/token)
	now     time.Time
	form    tokenForm
	signIn  *store.SignIn // filled in as the request is understood
	// claimed is the assertion this request claimed (replay.go), and
	// spent whether the store has it spent; the handler answers the claim.
	claimed *store.AssertionUse
	spent   bool
}

// issuance is what a grant decides: the token's audience, version and life.
type issuance struct {
	Resource string // the aud claim, exactly as requested
	Version  int    // 1 or 2
	Lifetime time.Duration
}

// grant is one OAuth grant type. It only ever sees an authenticated client.
type grant interface {
	issue(req *tokenRequest, client *authenticatedClient) (*issuance, *oauth2.Error)
}

func (s *Server) grant(grantType string) (grant, bool) {
	switch grantType {
	case oauth2.GrantClientCredentials:
		return clientCredentialsGrant{s}, true
	}
	return nil, false
}

// handleToken is the token endpoint dispatcher: parse, pick the grant,
// authenticate the client, let the grant decide, sign, record, answer.
func (s *Server) handleToken(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, oerr := s.tenantID(r)
		if oerr != nil {
			// No sign-in record: there is no tenant to file it under.
			s.writeError(w, r, oerr)
			return
		}
		req := &tokenRequest{
			tenant:  tenant,
			version: version,
			now:     s.Now(),
			signIn:  &store.SignIn{TenantID: tenant, CallerAddress: callerAddress(r)},
		}
		defer func() {
			if u := req.claimed; u != nil {
				s.spending.done(u.Issuer, u.JTI, req.spent, u.Expires, s.Now())
			}
		}()
		// A granted token's sign-in is recorded by mint, before the token
		// is answered; a refusal's is recorded here.
		resp, oerr := s.token(w, r, req)
		if oerr != nil {
			rec := req.signIn
			rec.Time = req.now.UTC()
			rec.Result, rec.ErrorCode, rec.Reason = "failure", oerr.AADSTSCode(), oerr.Description
			if err := s.record(r, *rec); err != nil {
				s.Logger.ErrorContext(r.Context(), "sign-in failure not recorded",
					slog.String("tenant", tenant), slog.String("cause", err.Error()))
			}
			s.writeError(w, r, oerr)
			return
		}
		writeTokenResponse(w, resp)
	}
}

func (s *Server) record(r *http.Request, rec store.SignIn) error {
	ctx, cancel := recordContext(r.Context())
	defer cancel()
	return s.Recorder.SignIn(ctx, rec)
}

// recordContext bounds recording a sign-in by recordTimeout, whether or
// not the client is still there: a token is answered only once recorded,
// and a refusal is recorded even for a client that left.
func recordContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
}

// token runs a request to a signed token, or to the error to answer with.
func (s *Server) token(w http.ResponseWriter, r *http.Request, req *tokenRequest) (*tokenResponse, *oauth2.Error) {
	f, oerr := readTokenRequest(w, r)
	if oerr != nil {
		return nil, oerr
	}
	req.form = f
	req.signIn.ClientID = f.ClientID
	req.signIn.Resource = f.Resource
	if req.version == 2 {
		req.signIn.Resource = f.Scope
		if res, err := resourceFromScope(f.Scope); err == nil {
			req.signIn.Resource = res
		}
	}

	g, ok := s.grant(f.GrantType)
	if !ok {
		return nil, oauth2.Errorf(http.StatusBadRequest, oauth2.ErrUnsupportedGrantType, codeUnsupportedGrant,
			"The app requested an unsupported grant type '%s'. Signet supports client_credentials only.", truncate(f.GrantType, 64))
	}
	client, oerr := s.authenticateClient(r.Context(), req)
	if oerr != nil {
		return nil, oerr
	}
	iss, oerr := g.issue(req, client)
	if oerr != nil {
		return nil, oerr
	}
	req.signIn.Resource = iss.Resource
	return s.mint(r.Context(), req, client, iss)
}

// mint builds and signs the access token (reference §7) and its response,
// and records its sign-in (spending its assertion, if any) while it signs:
// the record commits on the audit writer while this goroutine does the RSA
// work, and the token is answered only once both are done. An unrecorded
// token must not exist, so a failed record refuses it.
func (s *Server) mint(ctx context.Context, req *tokenRequest, client *authenticatedClient, iss *issuance) (*tokenResponse, *oauth2.Error) {
	uti, err := newTokenID()
	if err != nil {
		return nil, oauth2.ServerError(err)
	}
	p := client.Principal
	iat := req.now.Unix()
	exp := req.now.Add(iss.Lifetime).Unix()
	c := jwt.Claims{
		Audience:  iss.Resource,
		IssuedAt:  iat,
		NotBefore: iat,
		Expiry:    exp,
		ObjectID:  p.ObjectID,
		Subject:   p.ObjectID,
		TenantID:  req.tenant,
		TokenID:   uti,
		IDType:    "app",
	}
	if iss.Version == 1 {
		c.Issuer, c.Version = IssuerV1(s.canonicalURL(), req.tenant), "1.0"
		c.AppID, c.AppIDACR = p.ClientID, client.ACR
	} else {
		c.Issuer, c.Version = IssuerV2(s.canonicalURL(), req.tenant), "2.0"
		c.AZP, c.AZPACR = p.ClientID, client.ACR
	}
	c.IdentityProvider = c.Issuer
	if p.Kind == store.KindSystemAssigned || p.Kind == store.KindUserAssigned {
		c.ManagedIdentity = p.ResourceID
	}
	rec := *req.signIn
	rec.TokenID, rec.Time = uti, req.now.UTC()
	rec.Result, rec.Reason = "success", "token issued"
	ctx, cancel := recordContext(ctx)
	defer cancel()
	wait := s.Recorder.StartSignIn(ctx, rec, client.Assertion)
	token, signErr := s.Signer.Sign(c)
	err = wait(ctx)
	// A conflict is a spent assertion only when there is one: a secret
	// client's conflict (a duplicate record) is a server error like any.
	replayed := client.Assertion != nil && errors.Is(err, store.ErrConflict)
	req.spent = err == nil || replayed
	switch {
	case replayed:
		// Spent before (by another replica, or longer ago than this one
		// remembers): this token is discarded unanswered, and the
		// refusal is recorded.
		return nil, errAssertionReplayed()
	case err != nil:
		return nil, oauth2.ServerError(fmt.Errorf("record sign-in: %w", err))
	}
	if signErr != nil {
		// Rare (no usable key): the success record has committed, so the
		// refusal recorded after it names the same token id, which was
		// never handed out.
		req.signIn.TokenID = uti
		return nil, oauth2.ServerError(fmt.Errorf("sign token: %w", signErr))
	}

	// A client adds expires_in to the time the response reaches it, so it
	// counts from now, not from iat: the sign-in commit and the signature
	// came between, and iat was rounded down. Whole seconds rounded down,
	// so that no client takes the token to live past its exp (Entra's
	// familiar 3599 for an hour).
	left := max(int64(time.Unix(exp, 0).Sub(s.Now())/time.Second), 0)
	resp := &tokenResponse{
		TokenType:    "Bearer",
		ExpiresIn:    left,
		ExtExpiresIn: left,
		RefreshIn:    left / 2,
		AccessToken:  token,
	}
	if req.version == 1 {
		resp.ExpiresOn = strconv.FormatInt(exp, 10)
		resp.NotBefore = strconv.FormatInt(iat, 10)
		resp.Resource = iss.Resource
	}
	return resp, nil
}

// newTokenID returns a uti: 16 random bytes, base64url.
func newTokenID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("token id: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

// tokenResponse is Entra's token response (reference §6.6). The durations
// are JSON integers (MSAL Go parses them with Atoi); v1 adds expires_on and
// not_before as strings of unix seconds, and resource. There is no scope
// field: MSAL Go fails a response whose scope lacks a requested scope.
type tokenResponse struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	RefreshIn    int64  `json:"refresh_in"`
	ExpiresOn    string `json:"expires_on,omitempty"`
	NotBefore    string `json:"not_before,omitempty"`
	Resource     string `json:"resource,omitempty"`
	AccessToken  string `json:"access_token"`
}

func writeTokenResponse(w http.ResponseWriter, resp *tokenResponse) {
	body, _ := json.Marshal(resp) // plain strings and integers cannot fail
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// callerAddress is the host part of the peer's address.
func callerAddress(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// clientCredentialsGrant is RFC 6749 §4.4: the client acts on its own
// behalf; the token's subject is the authenticated principal.
type clientCredentialsGrant struct{ s *Server }

func (g clientCredentialsGrant) issue(req *tokenRequest, client *authenticatedClient) (*issuance, *oauth2.Error) {
	f := req.form
	var resource string
	if req.version == 2 {
		if f.Resource != "" {
			return nil, errInvalidRequest(codeResourceParamV2, "The 'resource' request parameter is not supported by the v2.0 endpoint; use scope=<resource>/.default.")
		}
		var oerr *oauth2.Error
		if resource, oerr = resourceFromScope(f.Scope); oerr != nil {
			return nil, oerr
		}
	} else {
		if !validResource(f.Resource) {
			return nil, errInvalidResource(f.Resource)
		}
		resource = f.Resource
	}
	lifetime := g.s.ServicePrincipalTokenLifetime
	switch client.Principal.Kind {
	case store.KindSystemAssigned, store.KindUserAssigned:
		lifetime = g.s.ManagedIdentityTokenLifetime
	}
	return &issuance{Resource: resource, Version: tokenVersion(resource, req.version), Lifetime: lifetime}, nil
}
