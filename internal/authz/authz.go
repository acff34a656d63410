package authz

// Request asks whether a principal may perform an action at a scope.
type Request struct {
	PrincipalID string // object id of the caller
	Action      string // e.g. Microsoft.Compute/virtualMachines/write or a data action
	// DataAction says Action is a data-plane action, matched against
	// dataActions/notDataActions instead of actions/notActions.
	DataAction bool
	Scope      string // ARM scope: "/", subscription, resource group, resource, or a child scope below one
}

// Decision is the answer to a Request.
type Decision struct {
	Request
	Allowed bool
	// AssignmentID and RoleName say which assignment allowed the request.
	AssignmentID string
	RoleName     string
}
