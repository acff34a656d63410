package arm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/signet-platform/signet/internal/store"
)

// NodeAdmin is MIRP's operator side: join tokens and enrolled nodes.
type NodeAdmin interface {
	// CreateJoinToken makes a one-time token that enrolls one node for the
	// host resource until it expires; only its hash may be stored.
	CreateJoinToken(ctx context.Context, resourceID string, ttl time.Duration) (token string, expires time.Time, err error)
	// ListNodes lists every node, removed ones included.
	ListNodes(ctx context.Context) ([]store.MIRPNode, error)
	// RemoveNode removes a node and revokes everything issued to it; an
	// unknown node is store.ErrNotFound.
	RemoveNode(ctx context.Context, nodeID string) error
}

const (
	actionJoinTokens  = nsSignetIdentity + "/joinTokens/action"
	actionNodesRead   = nsSignetIdentity + "/nodes/read"
	actionNodesDelete = nsSignetIdentity + "/nodes/delete"

	defaultJoinTokenTTL = time.Hour
	minJoinTokenTTL     = time.Minute
	// maxJoinTokenTTL is shorter than MIRP's own bound: a join token is a
	// bearer secret that buys a node identity, and an operator enrolls a
	// host within the day.
	maxJoinTokenTTL = 24 * time.Hour
)

type joinTokenJSON struct {
	Token      string    `json:"token"`
	ExpiresOn  time.Time `json:"expiresOn"`
	ResourceID string    `json:"resourceId"`
}

type nodeJSON struct {
	ID             string     `json:"id"`
	HostResourceID string     `json:"hostResourceId"`
	CreatedAt      time.Time  `json:"createdAt"`
	RemovedAt      *time.Time `json:"removedAt,omitempty"`
}

func nodeOut(n store.MIRPNode) nodeJSON {
	out := nodeJSON{ID: n.ID, HostResourceID: n.ResourceID, CreatedAt: n.CreatedAt.UTC()}
	if !n.RemovedAt.IsZero() {
		t := n.RemovedAt.UTC()
		out.RemovedAt = &t
	}
	return out
}

func (s *Server) nodesEnabled() error {
	if s.Nodes == nil {
		return newError(http.StatusNotFound, codeNoRegisteredProvider, "Node enrollment is not enabled on this server.")
	}
	return nil
}

// joinTokenTTL reads the ttl query parameter (a Go duration such as 1h or
// 30m), 1 minute to 24 hours, 1 hour when absent.
func joinTokenTTL(req *request) (time.Duration, error) {
	v := req.URL.Query().Get("ttl")
	if v == "" {
		return defaultJoinTokenTTL, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < minJoinTokenTTL || d > maxJoinTokenTTL {
		return 0, newError(http.StatusBadRequest, codeInvalidQueryParameter,
			"The 'ttl' parameter must be a duration from %v to %v, such as 1h or 30m.", minJoinTokenTTL, maxJoinTokenTTL)
	}
	return d, nil
}

// createJoinToken answers POST {hostResourceId}/providers/Signet.Identity/joinTokens.
// The token appears in this response and nowhere else: MIRP stores its
// hash, and neither the request log nor the activity record carries it.
func (s *Server) createJoinToken(w http.ResponseWriter, req *request) error {
	host, err := parseRoute(req.route.scope)
	if err != nil || host.kind != routeResource {
		return badID(req.URL.Path)
	}
	if host.typ != typeVM && host.typ != typeMachine {
		return newError(http.StatusBadRequest, codeInvalidResourceType,
			"Join tokens can be created only for %s and %s resources, not %s.", typeVM, typeMachine, host.typ)
	}
	ttl, err := joinTokenTTL(req)
	if err != nil {
		return err
	}
	if _, err := s.subscription(req, host.sub); err != nil {
		return err
	}
	if err := s.authorize(req, actionJoinTokens, host.resourceID()); err != nil {
		return err
	}
	if err := s.nodesEnabled(); err != nil {
		return err
	}
	var res store.Resource
	if err := s.Store.Read(req.Context(), func(tx store.Tx) error {
		res, err = getResourceTx(tx, host)
		return err
	}); err != nil {
		return err
	}
	token, expires, err := s.Nodes.CreateJoinToken(req.Context(), res.ID, ttl)
	if errors.Is(err, store.ErrNotFound) { // deleted since the read
		return notFound(host)
	}
	if err != nil {
		return internalError(fmt.Errorf("create join token for %s: %w", res.ID, err))
	}
	// A secret: no cache may keep it (as RFC 6749 section 5.1 asks of
	// token responses).
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	return writeJSON(w, http.StatusOK, joinTokenJSON{Token: token, ExpiresOn: expires.UTC(), ResourceID: res.ID})
}

// inSubscription reports whether a node's host resource id is in sub.
func inSubscription(n store.MIRPNode, sub string) bool {
	s, ok := subscriptionOf(n.ResourceID)
	return ok && strings.EqualFold(s, sub)
}

// listNodes answers GET /subscriptions/{s}/providers/Signet.Identity/nodes:
// the nodes whose host resource is in the subscription, removed ones
// included, so an operator can see what was enrolled and when it ended.
func (s *Server) listNodes(w http.ResponseWriter, req *request) error {
	sub, err := s.subscription(req, req.route.sub)
	if err != nil {
		return err
	}
	if err := s.authorize(req, actionNodesRead, req.route.subscriptionScope()); err != nil {
		return err
	}
	if err := s.nodesEnabled(); err != nil {
		return err
	}
	nodes, err := s.Nodes.ListNodes(req.Context())
	if err != nil {
		return internalError(fmt.Errorf("list nodes: %w", err))
	}
	var mine []nodeJSON
	for _, n := range nodes {
		if inSubscription(n, sub.ID) {
			mine = append(mine, nodeOut(n))
		}
	}
	l, err := page(req, s.size(), mine, func(n nodeJSON) string { return n.ID })
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, l)
}

// removeNode answers DELETE /subscriptions/{s}/providers/Signet.Identity/nodes/{id}.
// Unlike a resource DELETE, an unknown node is 404 rather than 204:
// removing a node is how an operator cuts a host off, and a mistyped id
// must not look like success. A node of another subscription is unknown.
func (s *Server) removeNode(w http.ResponseWriter, req *request) error {
	sub, err := s.subscription(req, req.route.sub)
	if err != nil {
		return err
	}
	if err := s.authorize(req, actionNodesDelete, req.route.subscriptionScope()); err != nil {
		return err
	}
	if err := s.nodesEnabled(); err != nil {
		return err
	}
	missing := newError(http.StatusNotFound, codeResourceNotFound, "The node '%s' could not be found.", truncate(req.route.name, 64))
	id, ok := parseGUID(req.route.name)
	if !ok {
		return missing
	}
	var n store.MIRPNode
	err = s.Store.Read(req.Context(), func(tx store.Tx) error {
		n, err = tx.GetMIRPNode(id)
		return err
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return missing
	case err != nil:
		return internalError(fmt.Errorf("get node %s: %w", id, err))
	case !inSubscription(n, sub.ID):
		return missing
	}
	err = s.Nodes.RemoveNode(req.Context(), n.ID)
	if errors.Is(err, store.ErrNotFound) {
		return missing
	}
	if err != nil {
		return internalError(fmt.Errorf("remove node %s: %w", n.ID, err))
	}
	w.WriteHeader(http.StatusOK)
	return nil
}
