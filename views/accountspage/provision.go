package accountspage

import (
	"context"
	"net/http"
	"strings"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/background"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/jobview"
	"github.com/truecost/truecost/views/layout"
	"github.com/truecost/truecost/views/viewkit"
)

// ProvisionForm is the Provision Billing form of an account's page. Each
// provider shows its own fields.
type ProvisionForm struct {
	Region     string
	Regions    []viewkit.Option
	ExportType string
	// Register asks to register Microsoft.CostManagementExports (Azure).
	Register  bool
	ProjectID string
	Dataset   string
	Errors    map[string]string
}

// Provision form field names.
const (
	fRegion, fExportType, fRegister, fProjectID, fDataset = "region", "export_type", "register_export_provider", "project_id", "dataset"
)

// exportTypes are the AWS exports provisioning can create.
var exportTypes = []viewkit.Option{
	{Value: "cur2", Label: "CUR 2.0 (Data Exports)"},
	{Value: "cur", Label: "Legacy CUR (Cost and Usage Report)"},
}

// awsRegions are offered for the export bucket.
var awsRegions = []string{
	"us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1",
	"eu-west-1", "eu-west-2", "eu-west-3", "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2",
	"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-south-1", "ap-east-1", "me-south-1", "me-central-1", "il-central-1", "af-south-1",
}

// azureLocations are offered for the resource group and storage account.
var azureLocations = []string{
	"eastus", "eastus2", "centralus", "northcentralus", "southcentralus", "westus", "westus2", "westus3",
	"canadacentral", "brazilsouth", "northeurope", "westeurope", "uksouth", "francecentral", "germanywestcentral",
	"switzerlandnorth", "swedencentral", "norwayeast", "italynorth", "polandcentral", "uaenorth", "southafricanorth",
	"centralindia", "japaneast", "koreacentral", "southeastasia", "eastasia", "australiaeast",
}

// bigQueryLocations are offered for the billing export dataset.
var bigQueryLocations = []string{
	"US", "EU", "us-central1", "us-east1", "us-east4", "us-west1", "us-west2", "northamerica-northeast1",
	"southamerica-east1", "europe-west1", "europe-west2", "europe-west3", "europe-west4", "europe-north1",
	"asia-east1", "asia-northeast1", "asia-south1", "asia-southeast1", "australia-southeast1",
}

// provisionLabels maps the subject of a settings validation message to
// its field.
var provisionLabels = map[string]string{
	"region":      fRegion,
	"location":    fRegion,
	"export type": fExportType,
	"project ID":  fProjectID,
	"project":     fProjectID,
	"dataset":     fDataset,
}

// defaultForm is the Provision Billing form for a, starting from the
// settings of an earlier, deprovisioned infrastructure when there was one.
func defaultForm(a accounts.Account, prev accounts.Settings) ProvisionForm {
	f := ProvisionForm{Region: prev.Region, ExportType: or(prev.ExportType, "cur2"), Register: prev.Region == "" || prev.RegisterExportProvider,
		ProjectID: prev.ProjectID, Dataset: prev.Dataset, Errors: map[string]string{}}
	switch a.Provider {
	case connectors.AWS:
		f.Region = or(f.Region, "us-east-1")
		f.Regions = viewkit.RegionOptions(awsRegions, f.Region)
	case connectors.Azure:
		f.Region = or(f.Region, "eastus")
		f.Regions = viewkit.RegionOptions(azureLocations, f.Region)
	case connectors.GCP:
		f.Region = or(f.Region, "US")
		f.Regions = viewkit.RegionOptions(bigQueryLocations, f.Region)
		f.ProjectID = or(f.ProjectID, a.ProviderAccountID)
	}
	return f
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// readSettings reads the Provision Billing form posted for provider.
func readSettings(r *http.Request, provider connectors.Provider) accounts.Settings {
	v := func(name string) string { return strings.TrimSpace(r.PostFormValue(name)) }
	s := accounts.Settings{Region: v(fRegion)}
	switch provider {
	case connectors.AWS:
		s.ExportType = v(fExportType)
	case connectors.Azure:
		s.RegisterExportProvider = r.PostFormValue(fRegister) != ""
	case connectors.GCP:
		s.ProjectID, s.Dataset = v(fProjectID), v(fDataset)
	}
	return s
}

// Provision starts setting up the billing export of the account's
// provider from the account, or continuing a provisioning that stopped, as
// a background job. The account's live region (or page) shows the job
// while it runs, then the ledger, or where it stopped and a Retry
// provisioning button.
func (h *Handler) Provision(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	if h.Jobs == nil {
		return errNoJobs
	}
	a, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	set := readSettings(r, a.Provider)
	j, err := h.Jobs.ProvisionBilling(ctx, p, a.OrgID, a.ID, set)
	if err != nil && !outcomeError(err) {
		return err
	}
	if err != nil {
		// Refused before anything started: the settings, the credentials
		// or the infrastructure's state.
		d, derr := h.detailView(ctx, p, a.ID)
		if derr != nil {
			return derr
		}
		d.Billing.Error = domain.ErrorMessage(err)
		if d.Billing.ShowForm {
			form := defaultForm(a, set)
			viewkit.PlaceField(form.Errors, d.Billing.Error, viewkit.Labels(provisionLabels))
			d.Billing.Form = form
			w.WriteHeader(http.StatusUnprocessableEntity)
		}
		return h.renderDetail(w, r, d)
	}
	return h.answerProvision(w, r, p, a, j, set)
}

// answerProvision shows a provisioning job on the account's page: the job
// while it runs, then the billing section with its outcome. Settings the
// job refused go back on the form (set, or the defaults when polled).
func (h *Handler) answerProvision(w http.ResponseWriter, r *http.Request, p tenancy.Principal, a accounts.Account, j background.Job, set accounts.Settings) error {
	ctx := r.Context()
	d, err := h.detailView(ctx, p, a.ID)
	if err != nil {
		return err
	}
	switch j.State {
	case background.Succeeded:
		d.Billing.Notice = j.Result.Summary
	case background.Failed:
		d.Billing.Error = j.Error
		if d.Billing.ShowForm {
			// Nothing was started: the settings were refused.
			form := defaultForm(a, set)
			viewkit.PlaceField(form.Errors, d.Billing.Error, viewkit.Labels(provisionLabels))
			d.Billing.Form = form
		}
	default:
		v := jobview.New(j, "/accounts/"+a.ID+"/jobs/"+j.ID, "#account-live", "outerHTML")
		d.Job = &v
		// The job runs: nothing to press again.
		d.Billing.ShowForm = false
	}
	return h.renderDetail(w, r, d)
}

// ConfirmView is the view model of the Deprovision Billing confirmation.
type ConfirmView struct {
	AccountID   string
	AccountName string
	Provider    ProviderInfo
	Warning     string
	Removes     []LedgerRow // what deprovisioning deletes
	CSRF        string
	Error       string
}

// ConfirmDeprovision asks before deprovisioning the billing of the
// account's provider, saying which accounts lose their billing data.
func (h *Handler) ConfirmDeprovision(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	a, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := h.confirmView(ctx, p, a)
	if err != nil {
		return err
	}
	return viewkit.Render(w, r, 0, ConfirmPage(layout.ChromeFrom(ctx), v))
}

// infraOf returns the infrastructure of a's provider; the zero one when
// there is none.
func (h *Handler) infraOf(ctx context.Context, p tenancy.Principal, a accounts.Account) (accounts.Infrastructure, error) {
	infras, err := h.Accounts.Infrastructure(ctx, p, a.OrgID)
	if err != nil {
		return accounts.Infrastructure{}, err
	}
	for _, i := range infras {
		if i.Provider == a.Provider {
			return i, nil
		}
	}
	return accounts.Infrastructure{}, nil
}

func (h *Handler) confirmView(ctx context.Context, p tenancy.Principal, a accounts.Account) (ConfirmView, error) {
	inf, err := h.infraOf(ctx, p, a)
	if err != nil {
		return ConfirmView{}, err
	}
	if !inf.Active() {
		return ConfirmView{}, domain.Errorf(domain.NotFound, "%s billing is not provisioned for this organization", accounts.ProviderLabel(a.Provider))
	}
	warning, err := h.Accounts.DeprovisionWarning(ctx, p, a.OrgID, a.Provider)
	if err != nil {
		return ConfirmView{}, err
	}
	v := ConfirmView{AccountID: a.ID, AccountName: a.Name, Provider: providerInfo(a.Provider), Warning: warning,
		CSRF: layout.ChromeFrom(ctx).CSRFToken}
	for i := len(inf.Ledger) - 1; i >= 0; i-- {
		if inf.Ledger[i].State == accounts.Created {
			v.Removes = append(v.Removes, ledgerRow(inf.Ledger[i]))
		}
	}
	return v, nil
}

// Deprovision removes the billing infrastructure of the account's provider
// once confirmed (confirm=1); without it the confirmation is shown again.
// Done or stopped, it leads to the account's page, which shows the
// outcome; an error before anything started stays on the confirmation.
func (h *Handler) Deprovision(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	p, err := admin(ctx)
	if err != nil {
		return err
	}
	a, err := h.find(ctx, p, r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := h.confirmView(ctx, p, a)
	if err != nil {
		return err
	}
	if r.PostFormValue("confirm") != "1" {
		return viewkit.Answer(w, r, 0, ConfirmPanel(v), ConfirmPage(layout.ChromeFrom(ctx), v))
	}
	_, depErr := h.Accounts.Deprovision(ctx, p, a.OrgID, a.Provider, true)
	if depErr != nil && !outcomeError(depErr) {
		return depErr
	}
	inf, err := h.infraOf(ctx, p, a)
	if err != nil {
		return err
	}
	to := "/accounts/" + a.ID
	switch {
	case depErr == nil:
		to += "?deprovisioned=1"
	case inf.State != accounts.StateDeprovisionFailed:
		// Refused before it started: say why on the confirmation.
		v.Error = domain.ErrorMessage(depErr)
		return viewkit.Answer(w, r, http.StatusConflict, ConfirmPanel(v), ConfirmPage(layout.ChromeFrom(ctx), v))
	}
	viewkit.Redirect(w, r, to+"#billing")
	return nil
}

// ociRegions are suggested for an OCI API key's home region.
var ociRegions = []string{"us-ashburn-1", "us-phoenix-1", "us-chicago-1", "ca-toronto-1", "eu-frankfurt-1", "eu-amsterdam-1", "uk-london-1", "ap-tokyo-1", "ap-sydney-1", "ap-mumbai-1", "sa-saopaulo-1"}
