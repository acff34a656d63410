package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"
)

// More resource types Signet's control plane serves.
const (
	TypeHybridMachine = "Microsoft.HybridCompute/machines"
	TypeWebSite       = "Microsoft.Web/sites"
)

// PropertyHostResourceID is the property of a Microsoft.Web/sites resource
// that places the app on a host: the resource id of the VM or hybrid
// machine whose node agent serves the app's identities.
const PropertyHostResourceID = "signetHostResourceId"

// JoinToken is a one-time token that enrolls one node agent for a host
// resource until ExpiresOn. It is a secret: the server shows it once.
type JoinToken struct {
	Token      string          `json:"token"`
	ExpiresOn  time.Time       `json:"expiresOn"`
	ResourceID string          `json:"resourceId"` // the host resource
	Raw        json.RawMessage `json:"-"`
}

func (t *JoinToken) UnmarshalJSON(b []byte) error {
	type plain JoinToken
	return unmarshalKeepRaw(b, (*plain)(t), &t.Raw)
}

// Node is an enrolled node agent.
type Node struct {
	ID             string          `json:"id"`
	HostResourceID string          `json:"hostResourceId"`
	CreatedAt      time.Time       `json:"createdAt"`
	RemovedAt      *time.Time      `json:"removedAt,omitempty"` // nil while the node is active
	Raw            json.RawMessage `json:"-"`
}

func (n *Node) UnmarshalJSON(b []byte) error {
	type plain Node
	return unmarshalKeepRaw(b, (*plain)(n), &n.Raw)
}

// CreateJoinToken creates a join token for the host resource resourceID (a
// virtual machine or hybrid machine). ttl is its lifetime, 1 minute to 24
// hours; 0 means the server's default (1 hour).
func (c *Client) CreateJoinToken(ctx context.Context, resourceID string, ttl time.Duration) (JoinToken, error) {
	q := url.Values{}
	if ttl != 0 {
		q.Set("ttl", ttl.String())
	}
	var out JoinToken
	err := c.do(ctx, call{
		method: http.MethodPost, path: resourceID + "/providers/Signet.Identity/joinTokens",
		apiVersion: APIVersionSignet, query: q, ok: []int{http.StatusOK},
	}, &out)
	return out, err
}

// ListNodes lists the nodes whose host is in the subscription, removed ones
// included.
func (c *Client) ListNodes(ctx context.Context) ([]Node, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return nil, err
	}
	return list[Node](ctx, c, call{path: sub + "/providers/Signet.Identity/nodes", apiVersion: APIVersionSignet})
}

// RemoveNode removes a node: its certificate and every identity credential
// issued to it are revoked at once. An unknown node is a 404 *Error.
func (c *Client) RemoveNode(ctx context.Context, nodeID string) error {
	sub, err := c.subscriptionPath()
	if err != nil {
		return err
	}
	if err := checkName("node", nodeID); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: sub + "/providers/Signet.Identity/nodes/" + nodeID,
		apiVersion: APIVersionSignet, ok: []int{http.StatusOK}}, nil)
}
