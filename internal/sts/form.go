package sts

import (
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/signet-platform/signet/internal/oauth2"
)

// maxTokenRequestBody bounds the token request body. A client assertion with
// an x5c chain is a few KiB; MSAL's claims JSON and telemetry add little.
const maxTokenRequestBody = 64 << 10

// tokenForm is a token request's parameters, each present at most once.
type tokenForm struct {
	GrantType     string
	ClientID      string
	ClientSecret  string
	AssertionType string
	Assertion     string
	Scope         string
	Resource      string
	// ClientIDSet distinguishes an absent client_id from an empty one.
	ClientIDSet bool
	// Basic says the client id and secret came from HTTP Basic (RFC 6749 §2.3.1).
	Basic bool
}

// readTokenRequest reads and parses the body of a token request.
func readTokenRequest(w http.ResponseWriter, r *http.Request) (tokenForm, *oauth2.Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxTokenRequestBody))
	if err != nil {
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return tokenForm{}, oauth2.Errorf(http.StatusRequestEntityTooLarge, oauth2.ErrInvalidRequest, codeInvalidParameter,
				"The request body exceeds %d bytes.", maxTokenRequestBody)
		}
		return tokenForm{}, errInvalidRequest(codeInvalidParameter, "The request body could not be read.").WithCause(err)
	}
	return parseTokenRequest(r.Header.Get("Content-Type"), r.Header.Get("Authorization"), body)
}

// parseTokenRequest parses a token request body (RFC 6749 §3.2: form
// encoded, no parameter more than once) and an optional HTTP Basic
// Authorization header. Query parameters are never read: a secret must not
// travel in a URL.
func parseTokenRequest(contentType, authorization string, body []byte) (tokenForm, *oauth2.Error) {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return tokenForm{}, errInvalidRequest(codeInvalidParameter,
			"The request body must be application/x-www-form-urlencoded.")
	}
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return tokenForm{}, errInvalidRequest(codeInvalidParameter, "The request body is not valid form encoding.")
	}
	for name, v := range values {
		if len(v) > 1 {
			return tokenForm{}, errInvalidRequest(codeInvalidParameter,
				"The request parameter '%s' is duplicated.", truncate(name, 64))
		}
	}
	get := func(name string) string { return values.Get(name) }
	f := tokenForm{
		GrantType:     get("grant_type"),
		ClientID:      get("client_id"),
		ClientSecret:  get("client_secret"),
		AssertionType: get("client_assertion_type"),
		Assertion:     get("client_assertion"),
		Scope:         get("scope"),
		Resource:      get("resource"),
		ClientIDSet:   values.Has("client_id"),
	}
	if authorization != "" {
		id, secret, oerr := parseBasic(authorization)
		if oerr != nil {
			return tokenForm{}, oerr
		}
		// RFC 6749 §2.3: a client must not use more than one authentication
		// method in a request.
		if values.Has("client_secret") {
			return tokenForm{}, errInvalidRequest(codeInvalidParameter,
				"The client secret was sent both in the Authorization header and in the body.")
		}
		if f.ClientIDSet && f.ClientID != id {
			return tokenForm{}, errInvalidRequest(codeInvalidParameter,
				"The client_id in the body differs from the one in the Authorization header.")
		}
		f.ClientID, f.ClientIDSet, f.ClientSecret, f.Basic = id, true, secret, true
	}
	if f.GrantType == "" {
		return tokenForm{}, errInvalidRequest(codeMissingGrantType,
			"The request body must contain the following parameter: 'grant_type'.")
	}
	return f, nil
}

// parseBasic decodes "Basic base64(urlencode(id):urlencode(secret))" (RFC
// 6749 §2.3.1). Any other scheme is refused rather than ignored, so that a
// request never carries credentials the server silently skips.
func parseBasic(h string) (id, secret string, _ *oauth2.Error) {
	bad := errInvalidRequest(codeInvalidParameter, "The Authorization header is not valid HTTP Basic client authentication.")
	scheme, payload, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", "", bad
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return "", "", bad
	}
	encID, encSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", bad
	}
	if id, err = url.QueryUnescape(encID); err != nil {
		return "", "", bad
	}
	if secret, err = url.QueryUnescape(encSecret); err != nil {
		return "", "", bad
	}
	if id == "" || secret == "" {
		return "", "", bad
	}
	return id, secret, nil
}
