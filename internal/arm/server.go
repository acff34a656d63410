package arm

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/authz"
	"github.com/signet-platform/signet/internal/jwt"
	"github.com/signet-platform/signet/internal/store"
)

// TokenVerifier checks a bearer token's signature, issuer, audience and
// lifetime, and returns its claims.
type TokenVerifier interface {
	Verify(token string) (*jwt.Claims, error)
}

// Authorizer answers RBAC questions.
type Authorizer interface {
	Decide(ctx context.Context, req authz.Request) (authz.Decision, error)
}

// ActivityRecorder appends to the activity log.
type ActivityRecorder interface {
	Activity(ctx context.Context, a store.Activity) error
}

// KeyRotator manages the token-signing keys.
type KeyRotator interface {
	Rotate(ctx context.Context) (store.SigningKey, error)
	List(ctx context.Context) ([]store.SigningKey, error)
}

// Server is the control plane. Build it with a struct literal; Keys and
// Nodes may be nil (their endpoints then answer 404), Entitlements may be
// nil (no credential issuer to tell).
type Server struct {
	Store      store.Store
	Verifier   TokenVerifier
	Authorizer Authorizer
	Activity   ActivityRecorder // required: every write is recorded
	Keys       KeyRotator
	// Entitlements is called inside every write transaction that can end
	// a host's entitlement to an identity, so credentials are revoked in
	// the same commit (see entitlements.go).
	Entitlements EntitlementHook
	// TypeHooks, keyed by lower-cased resource type, let data-plane
	// services own their type's properties and data (nil: none).
	TypeHooks map[string]TypeHooks
	// Nodes serves the MIRP node endpoints (join tokens, nodes).
	Nodes  NodeAdmin
	Now    func() time.Time
	Logger *slog.Logger
	// LoginURL is the STS's public base URL, sent as authorization_uri in
	// WWW-Authenticate challenges so clients know where to get a token; ""
	// leaves the parameter out.
	LoginURL string

	// pageSize overrides the list page size (tests); 0 means defaultPageSize.
	pageSize int
}

const (
	defaultPageSize = 100
	maxBodyBytes    = 1 << 20
)

// request is what a handler gets: the authenticated caller and the parsed
// path, besides the HTTP request.
type request struct {
	*http.Request
	caller caller
	route  route
}

// Handler returns the control plane's HTTP handler.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	// The store keeps microseconds; truncating here makes a PUT's answer
	// equal to a later GET's.
	return now().UTC().Truncate(time.Microsecond)
}

func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	requestID := uuid.NewString()
	w.Header().Set("x-ms-request-id", requestID)
	w.Header().Set("x-ms-correlation-request-id", requestID)
	if id := r.Header.Get("x-ms-client-request-id"); id != "" && len(id) <= 128 {
		w.Header().Set("x-ms-client-request-id", id)
	}
	rec := &statusRecorder{ResponseWriter: w}

	c, err := s.authenticate(r)
	if err != nil {
		writeError(rec, s.logger(), r, err)
		return
	}
	req := &request{Request: r, caller: c}
	rt, h, err := s.resolve(r)
	req.route = rt
	if err == nil {
		err = h(s, rec, req)
	}
	var ae *apiError
	if err != nil {
		ae = writeError(rec, s.logger(), r, err)
	}
	if isWrite(r.Method) {
		s.recordActivity(req, rec.status, ae)
	}
	s.logger().InfoContext(r.Context(), "arm request",
		"method", r.Method, "path", r.URL.Path, "status", rec.status,
		"caller", c.objectID, "tenant", c.tenantID, "request_id", requestID)
}

// resolve checks the api-version and the path and picks the handler.
func (s *Server) resolve(r *http.Request) (route, routeMethod, error) {
	if r.URL.Query().Get("api-version") == "" {
		return route{}, nil, newError(http.StatusBadRequest, codeMissingAPIVersion,
			"The api-version query parameter (?api-version=) is required for all requests.")
	}
	rt, err := parseRoute(r.URL.Path)
	if err != nil {
		return route{}, nil, err
	}
	h := routeHandlers[rt.kind][r.Method]
	if h == nil {
		return rt, nil, newError(http.StatusMethodNotAllowed, codeMethodNotAllowed,
			"The requested resource does not support http method '%s'.", truncate(r.Method, 16))
	}
	return rt, h, nil
}

// routeMethod handles one route and method. It writes the success response
// itself and returns an error for everything else. It is a method
// expression so that routeHandlers is built once, not per request.
type routeMethod func(s *Server, w http.ResponseWriter, req *request) error

// routeHandlers maps a route kind to its handlers by method.
var routeHandlers = map[routeKind]map[string]routeMethod{
	routeSubscriptions: {http.MethodGet: (*Server).listSubscriptions},
	routeSubscription:  {http.MethodGet: (*Server).getSubscription},
	routeGroups:        {http.MethodGet: (*Server).listGroups},
	routeGroup: {http.MethodGet: (*Server).getGroup, http.MethodHead: (*Server).headGroup,
		http.MethodPut: (*Server).putGroup, http.MethodDelete: (*Server).deleteGroup},
	routeResourcesBySub:   {http.MethodGet: (*Server).listResources},
	routeResourcesByGroup: {http.MethodGet: (*Server).listResources},
	routeResource: {http.MethodGet: (*Server).getResource, http.MethodPut: (*Server).putResource,
		http.MethodPatch: (*Server).patchResource, http.MethodDelete: (*Server).deleteResource},
	routeSystemIdentity:  {http.MethodGet: (*Server).getSystemIdentity},
	routeRoleAssignments: {http.MethodGet: (*Server).listRoleAssignments},
	routeRoleAssignment: {http.MethodGet: (*Server).getRoleAssignment, http.MethodPut: (*Server).putRoleAssignment,
		http.MethodDelete: (*Server).deleteRoleAssignment},
	routeRoleDefinitions: {http.MethodGet: (*Server).listRoleDefinitions},
	routeRoleDefinition: {http.MethodGet: (*Server).getRoleDefinition, http.MethodPut: (*Server).putRoleDefinition,
		http.MethodDelete: (*Server).deleteRoleDefinition},
	routeSignIns:     {http.MethodGet: (*Server).listSignIns},
	routeAccessLogs:  {http.MethodGet: (*Server).listAccessLogs},
	routeAuditVerify: {http.MethodPost: (*Server).verifyAudit},
	routeAuditExport: {http.MethodGet: (*Server).exportAudit},
	routeActivity:    {http.MethodGet: (*Server).listActivity},
	routeKeysRotate:  {http.MethodPost: (*Server).rotateKeys},
	routeSigningKeys: {http.MethodGet: (*Server).listSigningKeys},
	routeJoinTokens:  {http.MethodPost: (*Server).createJoinToken},
	routeNodes:       {http.MethodGet: (*Server).listNodes},
	routeNode:        {http.MethodDelete: (*Server).removeNode},
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodPost:
		return true
	}
	return false
}

// recordActivity appends one activity record for a write by an
// authenticated caller, whatever its outcome.
func (s *Server) recordActivity(req *request, status int, ae *apiError) {
	a := store.Activity{
		ID:            uuid.NewString(),
		Time:          s.now(),
		TenantID:      req.caller.tenantID,
		CallerID:      req.caller.objectID,
		Operation:     operationName(req.route, req.Method),
		ResourceID:    targetID(req.route, req.URL.Path),
		Result:        "success",
		Status:        status,
		CallerAddress: remoteHost(req.RemoteAddr),
	}
	if ae != nil {
		a.Result, a.Message = "failure", ae.code+": "+ae.message
	}
	// The write (if any) is committed by now; a lost audit record is logged
	// rather than turned into a failure the client would retry.
	// A client that hung up must not cancel the record of what it did.
	if err := s.Activity.Activity(context.WithoutCancel(req.Context()), a); err != nil {
		s.logger().ErrorContext(req.Context(), "arm activity not recorded", "operation", a.Operation, "err", err)
	}
}

// operationName is the ARM operation of a write, e.g.
// Microsoft.Compute/virtualMachines/write.
func operationName(rt route, method string) string {
	verb := "write"
	switch method {
	case http.MethodDelete:
		verb = "delete"
	case http.MethodPost:
		verb = "action"
	}
	switch rt.kind {
	case routeGroup:
		return "Microsoft.Resources/subscriptions/resourceGroups/" + verb
	case routeResource:
		return rt.typ + "/" + verb
	case routeRoleAssignment, routeRoleAssignments:
		return typeRA + "/" + verb
	case routeRoleDefinition, routeRoleDefinitions:
		return typeRD + "/" + verb
	case routeKeysRotate:
		return actionKeysRotate
	case routeAuditVerify:
		return actionAuditVerify
	case routeJoinTokens:
		return actionJoinTokens
	case routeNode, routeNodes:
		return nsSignetIdentity + "/nodes/" + verb
	}
	return "Microsoft.Resources/" + verb
}

// targetID is the resource id an activity record names.
func targetID(rt route, path string) string {
	switch rt.kind {
	case routeGroup:
		return rt.groupID()
	case routeResource:
		return rt.resourceID()
	case routeJoinTokens:
		return rt.scope // the host resource
	}
	return truncate(path, 1024)
}

func remoteHost(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}
