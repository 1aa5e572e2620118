package azureprovision

import (
	"context"
	"net/http"

	"github.com/google/uuid"

	"github.com/truecost/truecost/domain/accounts"
)

// Role the connector's service principal needs on the storage account to
// read the export with its Entra ID token (control-plane roles such as
// Contributor do not reach blob data).
const (
	readerRoleName = "Storage Blob Data Reader"
	readerRoleID   = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
)

// roleNamespace makes the role assignment's name, a GUID, stable per
// infrastructure.
var roleNamespace = uuid.MustParse("7d0c4d7e-5b1e-4c55-9a51-3f0f4f1b2a6c")

func (c *session) readerRole(ctx context.Context) (accounts.Resource, error) {
	r, err := c.assignReaderRole(ctx)
	return c.record(StepReaderRole, r, err)
}

// roleAssignment is the body of a role assignment.
type roleAssignment struct {
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
	} `json:"properties"`
}

// roleAssignmentPath is the assignment of the reader role on the storage
// account; its name is stable per infrastructure.
func (c *session) roleAssignmentPath() string {
	name := uuid.NewSHA1(roleNamespace, []byte(c.req.Infra.ID+"/"+StepReaderRole)).String()
	return c.n.storageAccountID(c.sub) + "/providers/Microsoft.Authorization/roleAssignments/" + name
}

// assignReaderRole lets the signed-in service principal, which the
// billing connector uses, read the export's blobs. When it may not assign
// roles, the assignment is left to the user (see Manual).
func (c *session) assignReaderRole(ctx context.Context) (accounts.Resource, error) {
	path := c.roleAssignmentPath()
	r := accounts.Resource{Kind: "Azure role assignment", ID: path}
	if err := c.connect(); err != nil {
		return r, err
	}
	manual := func(why string) (accounts.Resource, error) {
		r.ID, r.State = c.n.storageAccountID(c.sub), accounts.Kept
		r.Note = why + "; assign " + readerRoleName + " on the storage account to the service principal by hand so that the billing connector can read the export"
		r.Items = []accounts.Item{{Name: readerRoleName, State: manualState, Note: why}}
		return r, nil
	}
	principal, err := c.principalID(ctx)
	if err != nil {
		return r, cloudError(err, "the service principal's token")
	}
	if principal == "" {
		return manual("the service principal's object ID is not in its token")
	}
	var body roleAssignment
	body.Properties.RoleDefinitionID = "/subscriptions/" + c.sub + "/providers/Microsoft.Authorization/roleDefinitions/" + readerRoleID
	body.Properties.PrincipalID = principal
	body.Properties.PrincipalType = "ServicePrincipal"
	_, err = c.send(ctx, http.MethodPut, path, rolesAPIVersion, body, http.StatusOK, http.StatusCreated)
	switch {
	case err == nil:
		r.State, r.Note = accounts.Created, readerRoleName+" for the service principal "+principal
	case codeOf(err) == "RoleAssignmentExists":
		// Ours when an earlier attempt made it under this name; someone
		// else's otherwise.
		if _, gerr := c.send(ctx, http.MethodGet, path, rolesAPIVersion, nil, http.StatusOK); gerr == nil {
			r.State, r.Note = accounts.Created, "created by an earlier attempt"
			break
		}
		r.ID, r.State = c.n.storageAccountID(c.sub), accounts.Kept
		r.Note = "the service principal has " + readerRoleName + " on the storage account already"
	case statusOf(err) == http.StatusForbidden:
		return manual("the service principal may not assign roles (it needs Owner or User Access Administrator)")
	default:
		return r, cloudError(err, "role assignment "+readerRoleName)
	}
	return r, nil
}

func (c *session) deleteReaderRole(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	_, err := c.send(ctx, http.MethodDelete, c.roleAssignmentPath(), rolesAPIVersion, nil, http.StatusOK, http.StatusNoContent)
	if err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, "role assignment "+readerRoleName)
	}
	return nil
}

// needsManualRole reports whether the reader role step left the
// assignment to the user.
func needsManualRole(r accounts.Resource) bool {
	for _, it := range r.Items {
		if it.State == manualState {
			return true
		}
	}
	return false
}

// exportBody is a cost export as API version 2024-08-01 takes it.
