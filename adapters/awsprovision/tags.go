package awsprovision

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/costexplorer"
	cetypes "github.com/aws/aws-sdk-go-v2/service/costexplorer/types"

	"github.com/truecost/truecost/domain/accounts"
)

// CostAllocationTags are the user-defined tags Truecost's resources carry
// and activates for cost allocation.
var CostAllocationTags = []string{"Date", "GroupID", "Name", "OrganizationID", "Pool", "Project", "Session", "SessionID", "User"}

// States of one tag's Item in the ledger.
const (
	TagActive       = "Active"
	TagInactive     = "Inactive"
	TagNotFound     = "NotFound"     // AWS has not seen the key on any resource yet
	TagNotPermitted = "NotPermitted" // the account may not activate tags
)

// Notes of tag items.
const (
	noteActivated     = "activated by Truecost"
	noteAlreadyActive = "already active; left as it is"
	noteNotSeen       = "AWS has not seen this tag on a resource yet; it can be activated once a tagged resource is billed"
)

// activateTags activates the cost allocation tags that are not active.
// Refusal is not a failure: a member account of an organization may not
// activate tags, so the step records each tag's state and the console
// steps for the management account, and leaves the ledger entry Kept.
func (s *session) activateTags(ctx context.Context) (accounts.Resource, error) {
	what := "cost allocation tags"
	client, err := s.costExplorer(ctx)
	if err != nil {
		return accounts.Resource{}, s.cloudError(err, what)
	}
	known, err := s.tagStatus(ctx, client)
	if isAccessDenied(err) {
		return s.tagsNotPermitted(nil, err), nil
	}
	if err != nil {
		return accounts.Resource{}, s.cloudError(err, what)
	}
	var pending []cetypes.CostAllocationTagStatusEntry
	for _, k := range CostAllocationTags {
		if known[k] != cetypes.CostAllocationTagStatusActive {
			pending = append(pending, cetypes.CostAllocationTagStatusEntry{TagKey: aws.String(k), Status: cetypes.CostAllocationTagStatusActive})
		}
	}
	failed := map[string]string{}
	if len(pending) > 0 {
		out, err := client.UpdateCostAllocationTagsStatus(ctx, &costexplorer.UpdateCostAllocationTagsStatusInput{CostAllocationTagsStatus: pending})
		if isAccessDenied(err) {
			return s.tagsNotPermitted(known, err), nil
		}
		if err != nil {
			return accounts.Resource{}, s.cloudError(err, what)
		}
		for _, e := range out.Errors {
			failed[aws.ToString(e.TagKey)] = aws.ToString(e.Message)
		}
	}
	r := accounts.Resource{Kind: "cost allocation tags", Region: billingRegion, State: accounts.Kept}
	var activated []string
	for _, k := range CostAllocationTags {
		status, seen := known[k]
		msg, bad := failed[k]
		switch {
		case status == cetypes.CostAllocationTagStatusActive:
			r.Items = append(r.Items, accounts.Item{Name: k, State: TagActive, Note: noteAlreadyActive})
		case bad && !seen:
			r.Items = append(r.Items, accounts.Item{Name: k, State: TagNotFound, Note: noteNotSeen})
		case bad:
			r.Items = append(r.Items, accounts.Item{Name: k, State: TagInactive, Note: msg})
		default:
			r.Items = append(r.Items, accounts.Item{Name: k, State: TagActive, Note: noteActivated})
			activated = append(activated, k)
		}
	}
	if len(activated) > 0 {
		// The ID lists exactly the tags to deactivate on deprovision.
		r.State, r.ID = accounts.Created, strings.Join(activated, ",")
		r.Note = "activated " + strings.Join(activated, ", ") + "; AWS applies them to billing data within 24 hours"
	} else {
		r.ID = strings.Join(CostAllocationTags, ",")
		r.Note = "no tag needed activating"
	}
	return r, nil
}

// tagStatus returns the status of Truecost's tag keys that AWS knows.
func (s *session) tagStatus(ctx context.Context, client *costexplorer.Client) (map[string]cetypes.CostAllocationTagStatus, error) {
	known := map[string]cetypes.CostAllocationTagStatus{}
	pages := costexplorer.NewListCostAllocationTagsPaginator(client, &costexplorer.ListCostAllocationTagsInput{
		TagKeys: CostAllocationTags,
		Type:    cetypes.CostAllocationTagTypeUserDefined,
	})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, t := range page.CostAllocationTags {
			known[aws.ToString(t.TagKey)] = t.Status
		}
	}
	return known, nil
}

// tagsNotPermitted records the tags' states when AWS refused: known holds
// what listing told, nil when listing was refused too.
func (s *session) tagsNotPermitted(known map[string]cetypes.CostAllocationTagStatus, cause error) accounts.Resource {
	r := accounts.Resource{Kind: "cost allocation tags", ID: strings.Join(CostAllocationTags, ","), Region: billingRegion, State: accounts.Kept}
	var denied []string
	for _, k := range CostAllocationTags {
		status, seen := known[k]
		switch {
		case status == cetypes.CostAllocationTagStatusActive:
			r.Items = append(r.Items, accounts.Item{Name: k, State: TagActive, Note: noteAlreadyActive})
			continue
		case known == nil:
			r.Items = append(r.Items, accounts.Item{Name: k, State: TagNotPermitted, Note: "activate it in the console of the management account"})
		case seen:
			r.Items = append(r.Items, accounts.Item{Name: k, State: TagNotPermitted, Note: "inactive; activate it in the console of the management account"})
		default:
			r.Items = append(r.Items, accounts.Item{Name: k, State: TagNotPermitted, Note: "not seen by AWS yet; activate it in the console once a tagged resource is billed"})
		}
		denied = append(denied, k)
	}
	r.Note = "Truecost may not activate cost allocation tags from account " + s.req.Account.ProviderAccountID +
		" (" + message(cause) + "). " + strings.Join(consoleSteps(denied), " ")
	return r
}

// consoleSteps tells how to activate tags by hand.
func consoleSteps(tags []string) []string {
	return []string{
		"Sign in to the AWS console with the organization's management (payer) account.",
		"Open Billing and Cost Management → Cost allocation tags → User-defined cost allocation tags.",
		"Select " + strings.Join(tags, ", ") + ".",
		"Choose Activate. AWS applies activated tags to billing data within 24 hours; a tag is listed only once AWS has seen it on a resource.",
	}
}

// deactivateTags deactivates exactly the tags provisioning activated,
// which the ledger entry's ID lists.
func (s *session) deactivateTags(ctx context.Context, r accounts.Resource) error {
	what := "cost allocation tags " + r.ID
	var entries []cetypes.CostAllocationTagStatusEntry
	for _, k := range strings.Split(r.ID, ",") {
		if k = strings.TrimSpace(k); k != "" {
			entries = append(entries, cetypes.CostAllocationTagStatusEntry{TagKey: aws.String(k), Status: cetypes.CostAllocationTagStatusInactive})
		}
	}
	if len(entries) == 0 {
		return nil
	}
	client, err := s.costExplorer(ctx)
	if err != nil {
		return s.cloudError(err, what)
	}
	// Keys AWS no longer knows come back in Errors: nothing to deactivate.
	_, err = client.UpdateCostAllocationTagsStatus(ctx, &costexplorer.UpdateCostAllocationTagsStatusInput{CostAllocationTagsStatus: entries})
	return s.cloudError(err, what)
}
