package agent

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"time"
)

// IMDS paths (reference §1.1).
const (
	IMDSTokenPath    = "/metadata/identity/oauth2/token"
	IMDSInstancePath = "/metadata/instance"
)

// Oldest api-versions accepted: the token endpoint's documented minimum and
// the oldest instance-metadata version.
const (
	minTokenAPIVersion    = "2018-02-01"
	minInstanceAPIVersion = "2017-03-01"
)

// newestAPIVersions are listed in IMDS's api-version error, newest first.
var newestAPIVersions = []string{"2025-04-07", "2024-07-17", "2023-07-01"}

// HostInfo describes the host for GET /metadata/instance.
type HostInfo struct {
	Name              string
	ResourceID        string
	SubscriptionID    string
	ResourceGroupName string
	Location          string
	VMID              string
}

// IMDS serves the Azure Instance Metadata Service endpoints a workload uses
// for managed identity: GET /metadata/identity/oauth2/token and GET
// /metadata/instance (reference §1). It answers for the host's identities
// (Identities.Identities("")).
type IMDS struct {
	Tokens     TokenSource
	Identities IdentitySource
	Host       HostInfo
	Sources    SourceFilter
	RateLimit  *RateLimit // nil: no limit
	Logger     *slog.Logger
}

// ServeHTTP implements http.Handler.
func (h *IMDS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := h.serve(w, r); err != nil {
		writeIMDSError(w, r, h.Logger, "imds", err)
	}
}

func (h *IMDS) serve(w http.ResponseWriter, r *http.Request) error {
	// Source and proxy checks come first so nothing else is revealed to a
	// caller that should not be talking to us at all.
	if !h.Sources.admit(r) {
		return errForbiddenSource
	}
	if proxied(r) {
		return errProxied
	}
	var instance bool
	switch r.URL.Path {
	case IMDSTokenPath:
	case IMDSInstancePath, IMDSInstancePath + "/":
		instance = true
	default:
		return errNotFound
	}
	if r.Method != http.MethodGet {
		return errMethod
	}
	// Also the DefaultAzureCredential probe's answer: a bare GET with
	// neither query nor header gets an immediate 400 (reference §1.5).
	if !metadataHeader(r) {
		return errMetadataHeader
	}
	if h.RateLimit != nil {
		if !h.RateLimit.acquire(time.Now()) {
			return errThrottled
		}
		defer h.RateLimit.release()
	}
	var q query
	if err := parseQuery(r.URL.RawQuery, &q); err != nil {
		return malformedQuery(err)
	}
	if instance {
		return h.serveInstance(w, &q)
	}
	if err := checkAPIVersion(&q, minTokenAPIVersion); err != nil {
		return err
	}
	resource, ok := q.get("resource")
	if !ok || resource == "" {
		return badRequest("invalid_request", "Required query variable 'resource' is missing")
	}
	sel, herr := selectorFrom(&q, imdsSelectors)
	if herr != nil {
		return herr
	}
	id, serr := selectIdentity(h.Identities.Identities(""), sel)
	if serr != nil {
		return serr.asHTTPError()
	}
	tok, err := h.Tokens.Token(r.Context(), id, resource)
	if err != nil {
		return tokenError(err)
	}
	tok.viewFor(kindIMDS, resource).write(w, tok, time.Now())
	return nil
}

func (h *IMDS) serveInstance(w http.ResponseWriter, q *query) error {
	if err := checkAPIVersion(q, minInstanceAPIVersion); err != nil {
		return err
	}
	if f, ok := q.get("format"); ok && f != "json" {
		return badRequest("invalid_request", "Only format=json is supported")
	}
	type compute struct {
		Name              string `json:"name"`
		ResourceID        string `json:"resourceId"`
		SubscriptionID    string `json:"subscriptionId"`
		ResourceGroupName string `json:"resourceGroupName"`
		Location          string `json:"location"`
		VMID              string `json:"vmId"`
	}
	hi := h.Host
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	return json.NewEncoder(w).Encode(struct {
		Compute compute `json:"compute"`
	}{compute(hi)})
}

// checkAPIVersion requires api-version to be a date no older than oldest.
// IMDS answers a missing or unknown version with its own error shape that
// lists the newest versions (reference §1.1).
func checkAPIVersion(q *query, oldest string) *httpError {
	v, ok := q.get("api-version")
	if !ok || v == "" {
		return &httpError{status: http.StatusBadRequest, code: "invalid_request",
			msg:            "Bad request. api-version was not specified in the request. For more information refer to aka.ms/azureimds",
			newestVersions: newestAPIVersions}
	}
	if !isDate(v) || v < oldest {
		return &httpError{status: http.StatusBadRequest, code: "invalid_request",
			msg:            "Bad request. api-version is invalid or was not specified in the request. For more information refer to aka.ms/azureimds",
			newestVersions: newestAPIVersions}
	}
	return nil
}

// isDate reports whether v looks like YYYY-MM-DD; with that shape,
// comparing strings compares dates.
func isDate(v string) bool {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if i == 4 || i == 7 {
			continue
		}
		if v[i] < '0' || v[i] > '9' {
			return false
		}
	}
	_, err := time.Parse(time.DateOnly, v)
	return err == nil
}
