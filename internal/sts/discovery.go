package sts

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/oauth2"
	"github.com/signet-platform/signet/internal/store"
)

// jwksMaxAge is how long clients may cache the JWKS. Keys are published well
// before they sign (store.SigningKey.PublishAt), so a short cache never hides
// a key that is in use.
const jwksMaxAge = "public, max-age=300"

// tenantID checks the {tenant} path value: a GUID naming a tenant in the
// store. It returns the tenant's id in canonical (lower-case) form. Known
// tenants are remembered, so after the first request the hot path does not
// read the store for this (tenants are never deleted).
func (s *Server) tenantID(r *http.Request) (string, *oauth2.Error) {
	raw := r.PathValue("tenant")
	// uuid.Parse also takes {braced}, urn: and 32-hex forms; Entra's paths
	// carry the 36-character form only.
	id, err := uuid.Parse(raw)
	if len(raw) != 36 || err != nil {
		return "", errUnknownTenant(raw)
	}
	tenant := id.String()
	if _, ok := s.tenant.Load(tenant); ok {
		return tenant, nil
	}
	err = s.Store.Read(r.Context(), func(tx store.Tx) error {
		_, err := tx.GetTenant(tenant)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return "", errUnknownTenant(raw)
	case err != nil:
		return "", oauth2.ServerError(err)
	}
	s.tenant.Store(tenant, struct{}{})
	return tenant, nil
}

// discoveryDocument is the OpenID Provider Metadata (OpenID Connect
// Discovery 1.0 §3) MSAL reads: it requires issuer, authorization_endpoint
// and token_endpoint (and msal-node jwks_uri), and checks that the issuer's
// host is the authority's.
type discoveryDocument struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	ResponseModesSupported            []string `json:"response_modes_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	SubjectTypesSupported             []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	TokenEndpointAuthSigningAlgs      []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	RequestURIParameterSupported      bool     `json:"request_uri_parameter_supported"`
}

func (s *Server) handleDiscovery(version int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tenant, oerr := s.tenantID(r)
		if oerr != nil {
			s.writeError(w, r, oerr)
			return
		}
		base := s.baseURL(r)
		root := base + "/" + tenant
		doc := discoveryDocument{
			// Interactive flows are not offered: the authorize endpoint exists
			// (MSAL requires its URL) but answers unsupported_response_type.
			ResponseTypesSupported:            []string{},
			ResponseModesSupported:            []string{},
			GrantTypesSupported:               []string{oauth2.GrantClientCredentials},
			SubjectTypesSupported:             []string{"pairwise"},
			IDTokenSigningAlgValuesSupported:  []string{"RS256"},
			TokenEndpointAuthMethodsSupported: []string{"client_secret_post", "client_secret_basic", "private_key_jwt"},
			TokenEndpointAuthSigningAlgs:      []string{"PS256", "RS256"},
		}
		if version == 2 {
			doc.Issuer = IssuerV2(base, tenant)
			doc.AuthorizationEndpoint = root + "/oauth2/v2.0/authorize"
			doc.TokenEndpoint = root + "/oauth2/v2.0/token"
			doc.JWKSURI = root + "/discovery/v2.0/keys"
		} else {
			doc.Issuer = IssuerV1(base, tenant)
			doc.AuthorizationEndpoint = root + "/oauth2/authorize"
			doc.TokenEndpoint = root + "/oauth2/token"
			doc.JWKSURI = root + "/discovery/keys"
		}
		body, err := json.Marshal(doc)
		if err != nil {
			s.writeError(w, r, oauth2.ServerError(err))
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Cache-Control", "max-age=86400, private")
		_, _ = w.Write(body)
	}
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	if _, oerr := s.tenantID(r); oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", jwksMaxAge)
	_, _ = w.Write(s.Keys.JWKS())
}

// handleAuthorize answers every authorization request with
// unsupported_response_type: Signet offers no interactive sign-in.
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if _, oerr := s.tenantID(r); oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	s.writeError(w, r, errUnsupportedResponseType)
}

// handleTokenMethod answers the token paths for any method but POST.
func (s *Server) handleTokenMethod(w http.ResponseWriter, r *http.Request) {
	s.writeError(w, r, errMethodNotAllowed(r.Method))
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	oauth2.WriteError(w, r, s.Logger, s.Now(), err)
}
