package mirp

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/uuid"

	"github.com/signet-platform/signet/internal/store"
)

// Identity is one managed identity a node may serve, as the agent lists
// them.
type Identity struct {
	ClientID string `json:"clientId"`
	ObjectID string `json:"objectId"` // the principal id
	TenantID string `json:"tenantId"`
	// ResourceID is what tokens carry as xms_mirid: the host or app for a
	// system-assigned identity, the identity's own resource otherwise.
	ResourceID     string `json:"resourceId"`
	SystemAssigned bool   `json:"systemAssigned"`
	// App is the Microsoft.Web/sites resource the identity belongs to, or ""
	// for the host's own identities.
	App string `json:"app"`
}

// PlacementProperty is the property of a Microsoft.Web/sites resource that
// places it on a host: the host's resource id.
const PlacementProperty = "signetHostResourceId"

// entitlementReader is what computing a node's identities reads.
type entitlementReader interface {
	GetResource(id string) (store.Resource, error)
	ListResources(subscriptionID, rg, typ string) ([]store.Resource, error)
	ListResourceIdentities(resourceID string) ([]string, error)
	GetPrincipal(objectID string) (store.Principal, error)
	GetPrincipalByResourceID(kind store.PrincipalKind, id string) (store.Principal, error)
}

// entitledIdentities lists what node may serve: the identities assigned to
// its host resource, then those of every site placed on it. A removed node,
// or one whose host no longer exists, is entitled to nothing. Dangling
// references (an identity deleted under an assignment) are skipped.
func entitledIdentities(tx entitlementReader, node store.MIRPNode) ([]Identity, error) {
	out := []Identity{}
	if !node.RemovedAt.IsZero() {
		return out, nil
	}
	host, err := tx.GetResource(node.ResourceID)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if out, err = appendAssigned(tx, out, host, ""); err != nil {
		return nil, err
	}
	sites, err := tx.ListResources(host.SubscriptionID, "", typeSite)
	if err != nil {
		return nil, err
	}
	for _, site := range sites {
		if !strings.EqualFold(placement(site), host.ID) {
			continue
		}
		if out, err = appendAssigned(tx, out, site, site.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// placement reads the host a site is placed on; "" if none or unreadable.
func placement(site store.Resource) string {
	var p struct {
		Host string `json:"signetHostResourceId"`
	}
	if len(site.Properties) == 0 || json.Unmarshal(site.Properties, &p) != nil {
		return ""
	}
	return p.Host
}

// appendAssigned appends res's system-assigned identity, then its
// user-assigned ones.
func appendAssigned(tx entitlementReader, out []Identity, res store.Resource, app string) ([]Identity, error) {
	if res.SystemAssignedPrincipalID != "" {
		p, err := tx.GetPrincipal(res.SystemAssignedPrincipalID)
		switch {
		case err == nil:
			rid := p.ResourceID
			if rid == "" {
				rid = res.ID
			}
			out = append(out, Identity{ClientID: p.ClientID, ObjectID: p.ObjectID, TenantID: p.TenantID,
				ResourceID: rid, SystemAssigned: true, App: app})
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
	}
	uamis, err := tx.ListResourceIdentities(res.ID)
	if err != nil {
		return nil, err
	}
	for _, id := range uamis {
		p, err := tx.GetPrincipalByResourceID(store.KindUserAssigned, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Identity{ClientID: p.ClientID, ObjectID: p.ObjectID, TenantID: p.TenantID,
			ResourceID: p.ResourceID, App: app})
	}
	return out, nil
}

type identitiesResponse struct {
	Value []Identity `json:"value"`
}

func (s *Server) listIdentities(w http.ResponseWriter, r *http.Request, node store.MIRPNode) error {
	var ids []Identity
	err := s.Store.Read(r.Context(), func(tx store.Tx) (err error) {
		ids, err = entitledIdentities(tx, node)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, identitiesResponse{Value: ids})
	return nil
}

// issueIdentity signs an identity certificate for an authenticated node,
// if the identity is assigned to something the node hosts. The credential
// row the STS authenticates with, the issuance record and the revocation of
// the certificate it supersedes are one transaction.
func (s *Server) issueIdentity(w http.ResponseWriter, r *http.Request, node store.MIRPNode) error {
	clientID := r.PathValue("clientId")
	var req csrRequest
	if err := readJSON(w, r, &req); err != nil {
		return err
	}
	pub, err := parseCSR(req.CSR, identityKeys)
	if err != nil {
		return newError(http.StatusBadRequest, codeBadRequest, "Invalid csr: "+err.Error())
	}
	a, err := s.authority(r.Context())
	if err != nil {
		return internalError(err)
	}
	now := s.now()
	var iss issued
	var id Identity
	err = s.Store.Write(r.Context(), func(tx store.Tx) error {
		n, err := tx.GetMIRPNode(node.ID)
		if err != nil {
			return err
		}
		ids, err := entitledIdentities(tx, n)
		if err != nil {
			return err
		}
		found := false
		for _, cand := range ids {
			if strings.EqualFold(cand.ClientID, clientID) {
				id, found = cand, true
				break
			}
		}
		if !found {
			// Unknown and not assigned get the same answer: a node learns
			// nothing about identities beyond its own.
			return newError(http.StatusForbidden, codeForbidden,
				"This node is not entitled to a credential for that identity.").
				with(fmt.Errorf("node %s asked for client id %q", n.ID, clientID))
		}
		iss, err = a.sign(leaf{
			cn:   id.ClientID,
			uris: []*url.URL{clientURI(id.TenantID, id.ClientID), principalURI(id.ObjectID)},
			pub:  pub, lifetime: s.identityLifetime(),
		}, now)
		if err != nil {
			return err
		}
		// One live credential per (node, identity): the renewal replaces it.
		prev, err := tx.ListIssuedCertificates(store.IssuedCertificateFilter{
			Kind: store.IssuedIdentity, NodeID: n.ID, PrincipalID: id.ObjectID, Active: true})
		if err != nil {
			return err
		}
		for _, c := range prev {
			if err := revokeTx(tx, c, now); err != nil {
				return err
			}
		}
		credID := uuid.NewString()
		if err := tx.CreateCredential(store.Credential{
			ID: credID, PrincipalID: id.ObjectID, Kind: store.CredentialCertificate,
			CertificateDER: iss.cert.Raw, ThumbprintSHA256: iss.thumbprint,
			NotBefore: iss.cert.NotBefore, NotAfter: iss.cert.NotAfter, CreatedAt: now,
		}); err != nil {
			return err
		}
		return tx.CreateIssuedCertificate(store.IssuedCertificate{Serial: iss.serial, Kind: store.IssuedIdentity,
			NodeID: n.ID, PrincipalID: id.ObjectID, CredentialID: credID, ThumbprintSHA256: iss.thumbprint,
			NotAfter: iss.cert.NotAfter, CreatedAt: now})
	})
	if err != nil {
		return err
	}
	s.logger().Info("mirp: identity certificate issued", "node_id", node.ID, "principal_id", id.ObjectID,
		"client_id", id.ClientID, "serial", iss.serial)
	writeJSON(w, http.StatusOK, certificateResponse{Certificate: certPEM(iss.cert.Raw), CACertificates: string(a.rootPEM)})
	return nil
}
