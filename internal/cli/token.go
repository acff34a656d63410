package cli

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(&command{path: "token get",
		args:    "[--resource R] [--identity [--client-id C | --object-id O | --resource-id ID]]",
		summary: "get an access token (default resource: the control plane); --identity asks the local agent", run: runTokenGet})
}

// tokenOutput is `az account get-access-token`'s shape, plus the unix
// expires_on newer az versions add.
type tokenOutput struct {
	AccessToken  string `json:"accessToken"`
	ExpiresOn    string `json:"expiresOn"`
	ExpiresOnTS  int64  `json:"expires_on"`
	TokenType    string `json:"tokenType"`
	Tenant       string `json:"tenant"`
	Subscription string `json:"subscription,omitempty"`
}

func runTokenGet(a *app, args []string) error {
	fs := newFlagSet("token get")
	resource := fs.String("resource", client.ManagementResource, "resource (audience) the token is for")
	identity := fs.Bool("identity", false, "use this host's (or app's) managed identity, through the local agent")
	clientID := fs.String("client-id", "", "with --identity: the user-assigned identity's client id")
	objectID := fs.String("object-id", "", "with --identity: the user-assigned identity's object (principal) id")
	resourceID := fs.String("resource-id", "", "with --identity: the user-assigned identity's resource id")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *resource == "" {
		return usagef("--resource is empty")
	}
	sel, err := identitySelector(*clientID, *objectID, *resourceID)
	if err != nil {
		return err
	}
	if sel.kind != selectSystem && !*identity {
		return usagef("--client-id, --object-id and --resource-id need --identity")
	}

	var src client.TokenSource
	var tenant, subscription string
	if *identity {
		getenv, err := a.lookupEnv()
		if err != nil {
			return err
		}
		src = newManagedIdentitySource(getenv, sel)
		subscription = a.subscription
		if subscription == "" {
			subscription = getenv(client.EnvSubscriptionID)
		}
	} else {
		c, err := a.api()
		if err != nil {
			return err
		}
		src, tenant, subscription = c, c.TenantID(), c.SubscriptionID()
	}
	tok, err := src.Token(a.ctx, *resource)
	if err != nil {
		return err
	}
	if *identity {
		// What az shows after `az login --identity`: the token's tenant.
		tenant = tokenTenant(tok.Token)
	}
	out := tokenOutput{
		AccessToken:  tok.Token,
		ExpiresOn:    formatTime(tok.ExpiresOn),
		ExpiresOnTS:  tok.ExpiresOn.Unix(),
		TokenType:    "Bearer",
		Tenant:       tenant,
		Subscription: subscription,
	}
	return a.emit(out, func(w io.Writer) error {
		_, err := fmt.Fprintln(w, tok.Token)
		return err
	})
}

// Where a managed identity token comes from (azure-wire-protocol.md §1,
// §2.1, §5.1): the App Service endpoint when IDENTITY_ENDPOINT and
// IDENTITY_HEADER are set (a process `signet run` started), else IMDS.
const (
	imdsAddrVar     = "SIGNET_IMDS_ADDR" // host:port of a dev agent's IMDS
	defaultIMDSAddr = "169.254.169.254:80"
	imdsTokenPath   = "/metadata/identity/oauth2/token"
)

type selectorKind int

const (
	selectSystem selectorKind = iota
	selectClientID
	selectObjectID
	selectResourceID
)

// miSelector names a user-assigned identity; selectSystem (the zero value)
// is the system-assigned one, or the only identity there is.
type miSelector struct {
	kind  selectorKind
	value string
}

func identitySelector(clientID, objectID, resourceID string) (miSelector, error) {
	var sels []miSelector
	for _, s := range []miSelector{{selectClientID, clientID}, {selectObjectID, objectID}, {selectResourceID, resourceID}} {
		if s.value != "" {
			sels = append(sels, s)
		}
	}
	switch len(sels) {
	case 0:
		return miSelector{}, nil
	case 1:
		return sels[0], nil
	}
	return miSelector{}, usagef("give at most one of --client-id, --object-id and --resource-id")
}

// managedIdentitySource asks the local agent for a token as azidentity
// would: the same endpoints, parameters and headers.
type managedIdentitySource struct {
	getenv func(string) string
	sel    miSelector
	http   *http.Client
}

func newManagedIdentitySource(getenv func(string) string, sel miSelector) *managedIdentitySource {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // IMDS refuses proxied requests, and the agent is local
	// The agent may wait for the token service up to its fetch timeout.
	return &managedIdentitySource{getenv: getenv, sel: sel, http: &http.Client{Transport: tr, Timeout: 45 * time.Second}}
}

// request builds the token request for resource.
func (m *managedIdentitySource) request(ctx context.Context, resource string) (*http.Request, error) {
	endpoint, secret := m.getenv("IDENTITY_ENDPOINT"), m.getenv("IDENTITY_HEADER")
	appService := endpoint != "" && secret != ""
	var u *url.URL
	q := url.Values{}
	if appService {
		var err error
		if u, err = url.Parse(endpoint); err != nil {
			return nil, fmt.Errorf("IDENTITY_ENDPOINT: %w", err)
		}
		q = u.Query() // the SDKs merge into a query IDENTITY_ENDPOINT already has
		q.Set("api-version", "2019-08-01")
	} else {
		addr := m.getenv(imdsAddrVar)
		if addr == "" {
			addr = defaultIMDSAddr
		}
		u = &url.URL{Scheme: "http", Host: addr, Path: imdsTokenPath}
		q.Set("api-version", "2018-02-01")
	}
	q.Set("resource", resource)
	switch m.sel.kind {
	case selectClientID:
		q.Set("client_id", m.sel.value)
	case selectObjectID:
		q.Set("object_id", m.sel.value)
	case selectResourceID:
		// The two protocols spell it differently (reference §1.1, §2.1).
		if appService {
			q.Set("mi_res_id", m.sel.value)
		} else {
			q.Set("msi_res_id", m.sel.value)
		}
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	if appService {
		req.Header.Set("X-IDENTITY-HEADER", secret)
	} else {
		req.Header.Set("Metadata", "true")
	}
	return req, nil
}

// maxAttempts and maxRetryWait bound the retries of 429 and 503: the agent
// answers 503 with Retry-After while it waits for a credential or the STS.
const (
	maxAttempts  = 3
	maxRetryWait = 10 * time.Second
)

// Token implements client.TokenSource.
func (m *managedIdentitySource) Token(ctx context.Context, resource string) (client.AccessToken, error) {
	for attempt := 1; ; attempt++ {
		req, err := m.request(ctx, resource)
		if err != nil {
			return client.AccessToken{}, err
		}
		resp, err := m.http.Do(req)
		if err != nil {
			return client.AccessToken{}, fmt.Errorf("no managed identity endpoint answered at %s://%s "+
				"(is `signet agent` running? for a local agent set %s=host:port): %w", req.URL.Scheme, req.URL.Host, imdsAddrVar, err)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return client.AccessToken{}, fmt.Errorf("reading the managed identity endpoint's answer: %w", err)
		}
		if resp.StatusCode == http.StatusOK {
			return parseMIToken(body)
		}
		wait := retryAfter(resp.Header.Get("Retry-After"))
		retryable := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if !retryable || attempt >= maxAttempts || wait > maxRetryWait {
			return client.AccessToken{}, miError(resp.StatusCode, body)
		}
		select {
		case <-ctx.Done():
			return client.AccessToken{}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

func retryAfter(h string) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return time.Second
}

// parseMIToken reads the IMDS / App Service token body: every value may be
// a JSON string, expires_on is unix seconds (reference §1.2).
func parseMIToken(body []byte) (client.AccessToken, error) {
	var r struct {
		AccessToken string          `json:"access_token"`
		ExpiresOn   json.RawMessage `json:"expires_on"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.AccessToken == "" {
		return client.AccessToken{}, errors.New("the managed identity endpoint answered 200 without a token")
	}
	if on, ok := jsonInt(r.ExpiresOn); ok {
		return client.AccessToken{Token: r.AccessToken, ExpiresOn: time.Unix(on, 0)}, nil
	}
	if in, ok := jsonInt(r.ExpiresIn); ok {
		return client.AccessToken{Token: r.AccessToken, ExpiresOn: time.Now().Add(time.Duration(in) * time.Second)}, nil
	}
	return client.AccessToken{}, errors.New("the managed identity endpoint's token has no usable expires_on")
}

// jsonInt reads an integer sent as a JSON number or string.
func jsonInt(raw json.RawMessage) (int64, bool) {
	n, err := strconv.ParseInt(strings.Trim(string(raw), `"`), 10, 64)
	return n, err == nil && len(raw) > 0
}

// miError turns an error answer into a message: IMDS sends
// {error, error_description}, App Service {message} (reference §1.3, §2.1).
func miError(status int, body []byte) error {
	var e struct {
		Error       json.RawMessage `json:"error"`
		Description string          `json:"error_description"`
		Message     string          `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		var code string
		_ = json.Unmarshal(e.Error, &code) // a string in IMDS's shape; an object elsewhere
		msg := e.Description
		if msg == "" {
			msg = e.Message
		}
		if code != "" || msg != "" {
			return fmt.Errorf("managed identity endpoint answered %d: %s", status, strings.TrimPrefix(code+": "+msg, ": "))
		}
	}
	text := strings.TrimSpace(string(body))
	if len(text) > 200 {
		text = text[:200] + "…"
	}
	return fmt.Errorf("managed identity endpoint answered %d: %s", status, text)
}

// tokenTenant reads the tid claim of a JWT without verifying it: it is
// only displayed, and the token's users verify it.
func tokenTenant(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		TID string `json:"tid"`
	}
	_ = json.Unmarshal(b, &c)
	return c.TID
}
