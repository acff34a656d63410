package cli

import (
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"

	"github.com/signet-platform/signet/client"
)

func init() {
	register(
		&command{path: "role assignment create", args: "--assignee <object id> | --assignee-object-id <id>  --role <name or GUID> --scope S", summary: "assign a role to a principal at a scope", run: runRoleAssignmentCreate},
		&command{path: "role assignment list", args: "[--scope S] [--assignee <object id>]", summary: "list role assignments that apply at a scope (default: the subscription)", run: runRoleAssignmentList},
		&command{path: "role assignment delete", args: "--ids <id>... | --assignee <object id> --role R --scope S", summary: "delete role assignments", run: runRoleAssignmentDelete},
		&command{path: "role definition list", args: "[--name N]", summary: "list role definitions", run: runRoleDefinitionList},
	)
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// defaultScope is the subscription, or the root without one.
func defaultScope(c *client.Client) string {
	if s := c.SubscriptionID(); s != "" {
		return "/subscriptions/" + s
	}
	return "/"
}

// resolveRole turns --role (a full role definition id, a GUID or a role
// name) into the role definition id an assignment names. Names are looked up
// among the definitions at scope and must match exactly one, ignoring case.
func (a *app) resolveRole(c *client.Client, role, scope string) (string, error) {
	switch {
	case strings.Contains(role, "/providers/Microsoft.Authorization/roleDefinitions/"):
		return role, nil
	case guidRE.MatchString(role):
		return c.RoleDefinitionID(strings.ToLower(role)), nil
	}
	defs, err := c.ListRoleDefinitions(a.ctx, scope, role)
	if err != nil {
		return "", err
	}
	var matches []client.RoleDefinition
	for _, d := range defs {
		// Filter again: a server may ignore $filter.
		if strings.EqualFold(d.Properties.RoleName, role) {
			matches = append(matches, d)
		}
	}
	switch len(matches) {
	case 0:
		return "", fmt.Errorf("role %q not found", role)
	case 1:
		return matches[0].ID, nil
	}
	return "", fmt.Errorf("role name %q is ambiguous; pass its GUID", role)
}

func runRoleAssignmentCreate(a *app, args []string) error {
	fs := newFlagSet("role assignment create")
	assignee := fs.String("assignee", "", "object (principal) id of the assignee")
	objectID := fs.String("assignee-object-id", "", "object (principal) id of the assignee")
	role := fs.String("role", "", "role name or GUID")
	scope := fs.String("scope", "", "scope")
	principalType := fs.String("assignee-principal-type", client.PrincipalTypeServicePrincipal, "principal type")
	if err := parse(fs, args); err != nil {
		return err
	}
	principal, err := assigneeOf(*assignee, *objectID)
	if err != nil {
		return err
	}
	if err := required([2]string{"role", *role}, [2]string{"scope", *scope}); err != nil {
		return err
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	roleID, err := a.resolveRole(c, *role, *scope)
	if err != nil {
		return err
	}
	ra, err := c.CreateRoleAssignment(a.ctx, *scope, client.RoleAssignmentProperties{
		RoleDefinitionID: roleID,
		PrincipalID:      principal,
		PrincipalType:    *principalType,
	})
	if err != nil {
		return err
	}
	return a.printAssignments(c, false, ra)
}

// assigneeOf reads --assignee / --assignee-object-id. Signet has no
// directory API to turn a client id into an object id, so both take the
// object id; they may not disagree.
func assigneeOf(assignee, objectID string) (string, error) {
	switch {
	case assignee == "" && objectID == "":
		return "", usagef("--assignee or --assignee-object-id is required")
	case assignee != "" && objectID != "" && !strings.EqualFold(assignee, objectID):
		return "", usagef("--assignee and --assignee-object-id disagree")
	case objectID != "":
		return objectID, nil
	}
	return assignee, nil
}

func runRoleAssignmentList(a *app, args []string) error {
	fs := newFlagSet("role assignment list")
	scope := fs.String("scope", "", "scope (default: the subscription)")
	assignee := fs.String("assignee", "", "object (principal) id")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	if *scope == "" {
		*scope = defaultScope(c)
	}
	ras, err := c.ListRoleAssignments(a.ctx, *scope, *assignee)
	if err != nil {
		return err
	}
	return a.printAssignments(c, true, ras...)
}

func runRoleAssignmentDelete(a *app, args []string) error {
	ids, _, args := takeMulti(args, "ids")
	fs := newFlagSet("role assignment delete")
	assignee := fs.String("assignee", "", "object (principal) id")
	role := fs.String("role", "", "role name or GUID")
	scope := fs.String("scope", "", "scope")
	if err := parse(fs, args); err != nil {
		return err
	}
	byIDs := len(ids) > 0
	byMatch := *assignee != "" || *role != "" || *scope != ""
	switch {
	case byIDs && byMatch:
		return usagef("--ids cannot be combined with --assignee, --role or --scope")
	case !byIDs && !byMatch:
		return usagef("--ids or --assignee, --role and --scope are required")
	case byMatch:
		if err := required([2]string{"assignee", *assignee}, [2]string{"role", *role}, [2]string{"scope", *scope}); err != nil {
			return err
		}
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	if byMatch {
		if ids, err = a.matchAssignments(c, *assignee, *role, *scope); err != nil {
			return err
		}
	}
	var errs []error
	for _, id := range ids {
		if err := c.DeleteRoleAssignment(a.ctx, id); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// matchAssignments finds the ids of the assignments of role to principal at
// exactly scope (not those inherited from above or below).
func (a *app) matchAssignments(c *client.Client, principal, role, scope string) ([]string, error) {
	roleID, err := a.resolveRole(c, role, scope)
	if err != nil {
		return nil, err
	}
	ras, err := c.ListRoleAssignments(a.ctx, scope, principal)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, ra := range ras {
		p := ra.Properties
		if strings.EqualFold(p.PrincipalID, principal) &&
			strings.EqualFold(lastSegment(p.RoleDefinitionID), lastSegment(roleID)) &&
			strings.EqualFold(strings.TrimRight(p.Scope, "/"), strings.TrimRight(scope, "/")) {
			ids = append(ids, ra.ID)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("no assignment of role %q to %s at %s", role, principal, scope)
	}
	return ids, nil
}

func (a *app) printAssignments(c *client.Client, asList bool, ras ...client.RoleAssignment) error {
	raws := make([]any, 0, len(ras))
	for _, ra := range ras {
		raws = append(raws, rawOr(ra.Raw, ra))
	}
	var v any = raws
	if !asList && len(raws) == 1 {
		v = raws[0]
	}
	return a.emit(v, func(w io.Writer) error {
		names := a.roleNames(c)
		t := newTable(w, "PRINCIPAL ID", "ROLE", "SCOPE", "NAME")
		for _, ra := range ras {
			guid := strings.ToLower(lastSegment(ra.Properties.RoleDefinitionID))
			role := names[guid]
			if role == "" {
				role = guid
			}
			t.row(ra.Properties.PrincipalID, role, ra.Properties.Scope, ra.Name)
		}
		return t.flush()
	})
}

// roleNames maps role GUIDs to names for table output. Failing to read the
// definitions only costs the names: the table then shows GUIDs.
func (a *app) roleNames(c *client.Client) map[string]string {
	names := map[string]string{}
	defs, err := c.ListRoleDefinitions(a.ctx, defaultScope(c), "")
	if err != nil {
		return names
	}
	for _, d := range defs {
		names[strings.ToLower(d.Name)] = d.Properties.RoleName
	}
	return names
}

func runRoleDefinitionList(a *app, args []string) error {
	fs := newFlagSet("role definition list")
	name := fs.String("name", "", "role name")
	scope := fs.String("scope", "", "scope (default: the subscription)")
	if err := parse(fs, args); err != nil {
		return err
	}
	c, err := a.api()
	if err != nil {
		return err
	}
	if *scope == "" {
		*scope = defaultScope(c)
	}
	defs, err := c.ListRoleDefinitions(a.ctx, *scope, *name)
	if err != nil {
		return err
	}
	if *name != "" {
		// Filter again: a server may ignore $filter.
		defs = slices.DeleteFunc(defs, func(d client.RoleDefinition) bool { return !strings.EqualFold(d.Properties.RoleName, *name) })
	}
	raws := make([]any, 0, len(defs))
	for _, d := range defs {
		raws = append(raws, rawOr(d.Raw, d))
	}
	return a.emit(raws, func(w io.Writer) error {
		t := newTable(w, "NAME", "GUID", "TYPE", "DESCRIPTION")
		for _, d := range defs {
			t.row(d.Properties.RoleName, d.Name, d.Properties.RoleType, d.Properties.Description)
		}
		return t.flush()
	})
}
