package client

import (
	"context"
	"fmt"
	"net/http"
	"strings"
)

// Resource types Signet's control plane serves.
const (
	TypeResourceGroup        = "Microsoft.Resources/resourceGroups"
	TypeVirtualMachine       = "Microsoft.Compute/virtualMachines"
	TypeUserAssignedIdentity = "Microsoft.ManagedIdentity/userAssignedIdentities"
)

// PutResourceGroup creates or updates a resource group.
func (c *Client) PutResourceGroup(ctx context.Context, name string, group ResourceGroup) (ResourceGroup, error) {
	path, err := c.groupPath(name)
	if err != nil {
		return ResourceGroup{}, err
	}
	var out ResourceGroup
	err = c.do(ctx, call{method: http.MethodPut, path: path, apiVersion: APIVersionResources, body: group}, &out)
	return out, err
}

// GetResourceGroup reads a resource group.
func (c *Client) GetResourceGroup(ctx context.Context, name string) (ResourceGroup, error) {
	path, err := c.groupPath(name)
	if err != nil {
		return ResourceGroup{}, err
	}
	var out ResourceGroup
	err = c.do(ctx, call{method: http.MethodGet, path: path, apiVersion: APIVersionResources}, &out)
	return out, err
}

// ListResourceGroups lists the subscription's resource groups.
func (c *Client) ListResourceGroups(ctx context.Context) ([]ResourceGroup, error) {
	sub, err := c.subscriptionPath()
	if err != nil {
		return nil, err
	}
	return list[ResourceGroup](ctx, c, call{path: sub + "/resourceGroups", apiVersion: APIVersionResources})
}

// DeleteResourceGroup deletes a resource group and everything in it.
func (c *Client) DeleteResourceGroup(ctx context.Context, name string) error {
	path, err := c.groupPath(name)
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: path, apiVersion: APIVersionResources}, nil)
}

// ResourceID is the id of a resource of type (Namespace/type) named name in a
// group of the client's subscription.
func (c *Client) ResourceID(group, resourceType, name string) (string, error) {
	path, err := c.groupPath(group)
	if err != nil {
		return "", err
	}
	if err := checkName("resource", name); err != nil {
		return "", err
	}
	if err := checkType(resourceType); err != nil {
		return "", err
	}
	return path + "/providers/" + resourceType + "/" + name, nil
}

func checkType(resourceType string) error {
	ns, typ, ok := strings.Cut(resourceType, "/")
	if !ok || ns == "" || typ == "" || strings.ContainsAny(resourceType, "?#") || checkPath("/"+resourceType) != nil {
		return fmt.Errorf("client: invalid resource type %q (want Namespace/type)", resourceType)
	}
	return nil
}

// PutResource creates or replaces the resource at id, a full ARM resource id.
func (c *Client) PutResource(ctx context.Context, id string, body Resource) (Resource, error) {
	var out Resource
	err := c.do(ctx, call{method: http.MethodPut, path: id, apiVersion: apiVersionFor(id), body: body}, &out)
	return out, err
}

// PatchResource updates the fields set in body (JSON merge patch), e.g. only
// the identity block.
func (c *Client) PatchResource(ctx context.Context, id string, body Resource) (Resource, error) {
	var out Resource
	err := c.do(ctx, call{method: http.MethodPatch, path: id, apiVersion: apiVersionFor(id), body: body}, &out)
	return out, err
}

// GetResource reads the resource at id.
func (c *Client) GetResource(ctx context.Context, id string) (Resource, error) {
	var out Resource
	err := c.do(ctx, call{method: http.MethodGet, path: id, apiVersion: apiVersionFor(id)}, &out)
	return out, err
}

// ListResources lists resources of resourceType (Namespace/type) in group, or
// in the whole subscription when group is "".
func (c *Client) ListResources(ctx context.Context, group, resourceType string) ([]Resource, error) {
	if err := checkType(resourceType); err != nil {
		return nil, err
	}
	scope, err := c.subscriptionPath()
	if group != "" {
		scope, err = c.groupPath(group)
	}
	if err != nil {
		return nil, err
	}
	path := scope + "/providers/" + resourceType
	return list[Resource](ctx, c, call{path: path, apiVersion: apiVersionFor(resourceType)})
}

// DeleteResource deletes the resource at id.
func (c *Client) DeleteResource(ctx context.Context, id string) error {
	return c.do(ctx, call{method: http.MethodDelete, path: id, apiVersion: apiVersionFor(id)}, nil)
}

// UserAssignedIdentityID is the resource id of a user-assigned identity.
func (c *Client) UserAssignedIdentityID(group, name string) (string, error) {
	return c.ResourceID(group, TypeUserAssignedIdentity, name)
}

// PutUserAssignedIdentity creates or updates a user-assigned identity; the
// server fills in its tenant, principal and client ids.
func (c *Client) PutUserAssignedIdentity(ctx context.Context, group, name string, body ManagedIdentity) (ManagedIdentity, error) {
	id, err := c.UserAssignedIdentityID(group, name)
	if err != nil {
		return ManagedIdentity{}, err
	}
	var out ManagedIdentity
	err = c.do(ctx, call{method: http.MethodPut, path: id, apiVersion: APIVersionMSI, body: body}, &out)
	return out, err
}

// GetUserAssignedIdentity reads a user-assigned identity.
func (c *Client) GetUserAssignedIdentity(ctx context.Context, group, name string) (ManagedIdentity, error) {
	id, err := c.UserAssignedIdentityID(group, name)
	if err != nil {
		return ManagedIdentity{}, err
	}
	var out ManagedIdentity
	err = c.do(ctx, call{method: http.MethodGet, path: id, apiVersion: APIVersionMSI}, &out)
	return out, err
}

// ListUserAssignedIdentities lists user-assigned identities in group, or in
// the whole subscription when group is "".
func (c *Client) ListUserAssignedIdentities(ctx context.Context, group string) ([]ManagedIdentity, error) {
	scope, err := c.subscriptionPath()
	if group != "" {
		scope, err = c.groupPath(group)
	}
	if err != nil {
		return nil, err
	}
	return list[ManagedIdentity](ctx, c, call{path: scope + "/providers/" + TypeUserAssignedIdentity, apiVersion: APIVersionMSI})
}

// DeleteUserAssignedIdentity deletes a user-assigned identity.
func (c *Client) DeleteUserAssignedIdentity(ctx context.Context, group, name string) error {
	id, err := c.UserAssignedIdentityID(group, name)
	if err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: id, apiVersion: APIVersionMSI}, nil)
}
