package azureprovision

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/resourcemanager/resources/armresources"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
)

// manualState marks a ledger item left for the user to do.
const manualState = "manual"

func (c *session) exportProvider(ctx context.Context) (accounts.Resource, error) {
	r, err := c.registerProvider(ctx)
	return c.record(StepExportProvider, r, err)
}

// registerProvider reads the export provider's registration first: a
// registered provider is left alone; an unregistered one is registered
// only when the user asked for it.
func (c *session) registerProvider(ctx context.Context) (accounts.Resource, error) {
	r := accounts.Resource{Kind: "Azure resource provider", ID: ExportProvider}
	if err := c.connect(); err != nil {
		return r, err
	}
	state, err := c.providerState(ctx)
	if err != nil {
		return r, err
	}
	switch {
	case strings.EqualFold(state, "Registered"):
		r.State, r.Note = accounts.Kept, "already registered; nothing to do"
		return r, nil
	case strings.EqualFold(state, "Registering"):
		done, err := c.waitRegistered(ctx)
		if err != nil {
			return r, err
		}
		r.State, r.Note = accounts.Kept, "its registration was already under way; nothing to do"
		if !done {
			r.Note = "its registration was already under way and has not finished; the cost export needs it"
		}
		return r, nil
	case !c.req.Infra.Settings.RegisterExportProvider:
		return r, domain.Errorf(domain.Invalid,
			"the cost export needs the %s resource provider, which is not registered in subscription %s. Turn on Cost Management Export to have Truecost register it, "+
				"or register it yourself, then provision again: in the Azure portal, Subscriptions → %s → Resource providers → %s → Register, "+
				"or run az provider register --namespace %s --subscription %s",
			ExportProvider, c.sub, c.sub, ExportProvider, ExportProvider, c.sub)
	}
	if _, err := c.providers.Register(ctx, ExportProvider, nil); err != nil {
		return r, cloudError(err, "resource provider "+ExportProvider)
	}
	done, err := c.waitRegistered(ctx)
	if err != nil {
		return r, err
	}
	r.State, r.Note = accounts.Created, "registered by Truecost"
	if !done {
		r.Note = fmt.Sprintf("registration requested; Azure had not finished it after %s (the cost export step fails until it has: try again then)",
			c.p.cfg.RegistrationTimeout)
	}
	return r, nil
}

func (c *session) providerState(ctx context.Context) (string, error) {
	resp, err := c.providers.Get(ctx, ExportProvider, nil)
	if err != nil {
		return "", cloudError(err, "resource provider "+ExportProvider)
	}
	return deref(resp.RegistrationState), nil
}

// waitRegistered reads the registration state until it is Registered
// (true) or the registration timeout passes (false).
func (c *session) waitRegistered(ctx context.Context) (bool, error) {
	deadline := time.NewTimer(c.p.cfg.RegistrationTimeout)
	defer deadline.Stop()
	for {
		state, err := c.providerState(ctx)
		if err != nil {
			return false, err
		}
		if strings.EqualFold(state, "Registered") {
			return true, nil
		}
		wait := time.NewTimer(c.p.cfg.PollInterval)
		select {
		case <-ctx.Done():
			wait.Stop()
			return false, ctx.Err()
		case <-deadline.C:
			wait.Stop()
			return false, nil
		case <-wait.C:
		}
	}
}

func (c *session) unregisterProvider(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	if _, err := c.providers.Unregister(ctx, ExportProvider, nil); err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, "resource provider "+ExportProvider)
	}
	return nil
}

// tags are the tags of what Truecost creates.
func (c *session) tags() map[string]*string {
	return map[string]*string{ManagedByTag: to.Ptr(ManagedByValue), InfraTag: to.Ptr(c.req.Infra.ID)}
}

// ours reports whether tags say this infrastructure's provisioning created
// the resource.
func (c *session) ours(tags map[string]*string) bool {
	return deref(tags[InfraTag]) == c.req.Infra.ID
}

func (c *session) resourceGroup(ctx context.Context) (accounts.Resource, error) {
	r, err := c.createResourceGroup(ctx)
	return c.record(StepResourceGroup, r, err)
}

// createResourceGroup creates the resource group, or takes the one an
// earlier attempt created (tagged with this infrastructure); one found
// without the tag is used but kept.
func (c *session) createResourceGroup(ctx context.Context) (accounts.Resource, error) {
	region := c.req.Infra.Settings.Region
	r := accounts.Resource{Kind: "Azure resource group", ID: c.n.resourceGroupID(c.sub), Region: region}
	what := "resource group " + c.n.resourceGroup
	if err := c.connect(); err != nil {
		return r, err
	}
	got, err := c.groups.Get(ctx, c.n.resourceGroup, nil)
	switch {
	case err == nil:
		r.ID, r.Region = firstOf(deref(got.ID), r.ID), firstOf(deref(got.Location), region)
		if c.ours(got.Tags) {
			r.State, r.Note = accounts.Created, "created by an earlier attempt"
		} else {
			r.State, r.Note = accounts.Kept, "already there; Truecost uses it and leaves it in place"
		}
		return r, nil
	case statusOf(err) != http.StatusNotFound:
		return r, cloudError(err, what)
	}
	made, err := c.groups.CreateOrUpdate(ctx, c.n.resourceGroup, armresources.ResourceGroup{Location: to.Ptr(region), Tags: c.tags()}, nil)
	if err != nil {
		return r, cloudError(err, what)
	}
	r.ID, r.State = firstOf(deref(made.ID), r.ID), accounts.Created
	return r, nil
}

func (c *session) deleteResourceGroup(ctx context.Context) error {
	if err := c.connect(); err != nil {
		return err
	}
	what := "resource group " + c.n.resourceGroup
	poller, err := c.groups.BeginDelete(ctx, c.n.resourceGroup, nil)
	if err == nil {
		_, err = poller.PollUntilDone(ctx, &runtime.PollUntilDoneOptions{Frequency: c.p.cfg.PollInterval})
	}
	if err != nil && statusOf(err) != http.StatusNotFound {
		return cloudError(err, what)
	}
	return nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
