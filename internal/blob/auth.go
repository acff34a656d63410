package blob

import (
	"net/http"
	"strings"

	"github.com/signet-platform/signet/internal/authz"
)

// RBAC actions (reference section 10.5). Blob reads and writes are data
// actions; container management is a control-plane action, checked the
// same way, as Azure does for data-plane container calls.
const (
	actionPrefix        = "Microsoft.Storage/storageAccounts/blobServices/containers/"
	ActionBlobRead      = actionPrefix + "blobs/read"
	ActionBlobWrite     = actionPrefix + "blobs/write"
	ActionBlobAdd       = actionPrefix + "blobs/add/action"
	ActionBlobDelete    = actionPrefix + "blobs/delete"
	ActionContainerRead = actionPrefix + "read"
	ActionContainerPut  = actionPrefix + "write"
	ActionContainerDel  = actionPrefix + "delete"
)

// isDataAction tells the blob data actions from the container actions.
func isDataAction(action string) bool { return strings.HasPrefix(action, actionPrefix+"blobs/") }

// authenticate checks the bearer token: signature, issuer, audience,
// lifetime (the verifier), and that it was issued in the account's tenant.
func (s *Server) authenticate(req *request) error {
	authHeader := req.r.Header.Get("Authorization")
	scheme, token, _ := strings.Cut(authHeader, " ")
	switch {
	case authHeader == "":
		return s.challenge(req, errf(http.StatusUnauthorized, "NoAuthenticationInformation",
			"Server failed to authenticate the request. Please refer to the information in the www-authenticate header."))
	case strings.EqualFold(scheme, "SharedKey"), strings.EqualFold(scheme, "SharedKeyLite"):
		return errf(http.StatusForbidden, "KeyBasedAuthenticationNotPermitted",
			"Key based authentication is not permitted on this storage account.")
	case !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "":
		return s.challenge(req, errf(http.StatusUnauthorized, "InvalidAuthenticationInfo",
			"Authentication information is not given in the correct format. Check the value of Authorization header."))
	}
	claims, err := s.Verifier.Verify(strings.TrimSpace(token))
	if err != nil {
		return s.challenge(req, errf(http.StatusUnauthorized, "InvalidAuthenticationInfo",
			"Server failed to authenticate the request. Please refer to the information in the www-authenticate header.").with(err))
	}
	if !strings.EqualFold(claims.TenantID, req.account.TenantID) {
		return s.challenge(req, errf(http.StatusUnauthorized, "InvalidAuthenticationInfo",
			"Issuer validation failed. Issuer did not match."))
	}
	req.claims = claims
	return nil
}

// challenge adds the Bearer challenge azblob's policy parses: an
// authorization_uri with the tenant as its fourth '/'-part and the
// resource_id to ask a token for (unquoted, as Azure Storage sends them).
func (s *Server) challenge(req *request, e *apiError) *apiError {
	return e.withHeader("WWW-Authenticate", "Bearer authorization_uri="+strings.TrimSuffix(s.LoginURL, "/")+"/"+
		req.account.TenantID+"/oauth2/authorize resource_id="+Audience)
}

// scope is the RBAC scope of the request: the container when it names one,
// else the storage account.
func (req *request) scope() string {
	if req.container == "" {
		return req.account.ResourceID
	}
	return req.account.ResourceID + "/blobServices/default/containers/" + req.container
}

// authorize asks RBAC whether the caller may perform action here; a
// denial names the action and the least-privileged built-in role that has
// it (the latter beyond what Azure says).
func (s *Server) authorize(req *request, action string) error {
	req.action = action
	allowed, err := s.allowed(req, action)
	if err != nil {
		return err
	}
	if !allowed {
		return denied(action)
	}
	return nil
}

func (s *Server) allowed(req *request, action string) (bool, error) {
	d, err := s.Authorizer.Decide(req.r.Context(), authz.Request{
		PrincipalID: req.claims.ObjectID,
		Action:      action,
		DataAction:  isDataAction(action),
		Scope:       req.scope(),
	})
	if err != nil {
		return false, internal(err)
	}
	return d.Allowed, nil
}

// authorizeUpload checks a write that may create a blob: blobs/write
// always suffices; blobs/add/action suffices while the blob does not exist,
// as in Azure.
func (s *Server) authorizeUpload(req *request, exists func() (bool, error)) error {
	req.action = ActionBlobWrite
	ok, err := s.allowed(req, ActionBlobWrite)
	if err != nil || ok {
		return err
	}
	if ok, err := s.allowed(req, ActionBlobAdd); err != nil {
		return err
	} else if ok {
		found, err := exists()
		if err != nil {
			return err
		}
		if !found {
			req.action = ActionBlobAdd
			return nil
		}
	}
	return denied(ActionBlobWrite)
}

func denied(action string) *apiError {
	msg := "This request is not authorized to perform this operation using this permission. Missing permission: " + action + "."
	if role, ok := authz.SuggestRole(action, isDataAction(action)); ok {
		msg += " The least-privileged built-in role that grants it is " + role.RoleName + " (" + role.ID + ")."
	}
	return errf(http.StatusForbidden, "AuthorizationPermissionMismatch", "%s", msg)
}
