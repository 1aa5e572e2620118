package accountspage

import (
	"strings"
	"time"

	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/views/layout"
	"github.com/truecost/truecost/views/viewkit"
)

// BillingView is the billing section of an account's page: the provider's
// infrastructure, the form provisioning it, or for OCI the policy to add.
type BillingView struct {
	AccountID      string
	Provider       ProviderInfo
	Provisionable  bool
	HasCredentials bool
	CanManage      bool
	CSRF           string
	// Infra is the provider's infrastructure; nil when it never existed.
	Infra *InfraView
	// ShowForm: the provider has no active infrastructure, so it can be
	// provisioned (by an admin).
	ShowForm bool
	Form     ProvisionForm
	// Outcome of the last provisioning request.
	Error  string
	Notice string
	// OCI only.
	OCIGroup      string
	OCIStatements []string
}

// InfraView is a provider's billing infrastructure with its ledger.
type InfraView struct {
	State, StateKey string
	Settings        []viewkit.Setting
	Error           string
	ProvisionedBy   string
	// FromThisAccount: the account shown provisioned it, so it may retry.
	FromThisAccount  bool
	FromURL          string
	ProvisionedAt    string
	UpdatedAt        string
	Ledger           []LedgerRow
	Manual           []string
	CanRetry         bool
	CanDeprovision   bool
	RetryDeprovision bool
}

// LedgerRow is one ledger entry.
type LedgerRow struct {
	Step, Kind, ID, Region string
	State, StateKey        string
	Note                   string
	// Groups are the step's items, such as AWS cost allocation tags, by
	// the note they share.
	Groups        []ItemGroup
	At, DeletedAt string
}

// ItemGroup is the items of a step that share a note.
type ItemGroup struct {
	Items []ItemView
	Note  string
}

// ItemView is one sub-result of a step, like an AWS cost allocation tag.
type ItemView struct {
	Name, State, StateKey string
}

func (h *Handler) billingView(a accounts.Account, infras []accounts.Infrastructure, siblings []accounts.Account, canManage bool, csrf string, now time.Time) BillingView {
	b := BillingView{
		AccountID:      a.ID,
		Provider:       providerInfo(a.Provider),
		Provisionable:  a.Provider != connectors.OCI,
		HasCredentials: a.HasCredentials,
		CanManage:      canManage,
		CSRF:           csrf,
	}
	if !b.Provisionable {
		b.OCIStatements = accounts.OCIPolicyStatements("")
		return b
	}
	var inf accounts.Infrastructure
	for _, i := range infras {
		if i.Provider == a.Provider {
			inf = i
		}
	}
	b.ShowForm = !inf.Active()
	b.Form = defaultForm(a, inf.Settings)
	if inf.ID == "" {
		return b
	}
	v := &InfraView{
		Settings:        infraSettings(inf),
		Error:           inf.Error,
		ProvisionedBy:   accountName(siblings, inf.AccountID),
		FromThisAccount: inf.AccountID == a.ID,
		FromURL:         "/accounts/" + inf.AccountID,
		UpdatedAt:       layout.FormatTime(inf.UpdatedAt),
		Manual:          h.Accounts.Manual(inf),
	}
	v.State, v.StateKey = stateLabel(inf)
	if !inf.ProvisionedAt.IsZero() {
		v.ProvisionedAt = layout.FormatTime(inf.ProvisionedAt)
	}
	v.CanRetry = v.FromThisAccount && (inf.State == accounts.StateFailed || inf.State == accounts.StateProvisioning)
	v.CanDeprovision = inf.Active()
	v.RetryDeprovision = inf.State == accounts.StateDeprovisionFailed || inf.State == accounts.StateDeprovisioning
	for _, r := range inf.Ledger {
		v.Ledger = append(v.Ledger, ledgerRow(r))
	}
	b.Infra = v
	return b
}

func ledgerRow(r accounts.Resource) LedgerRow {
	row := LedgerRow{Step: r.Step, Kind: r.Kind, ID: r.ID, Region: r.Region, Note: r.Note, At: layout.FormatTime(r.At),
		DeletedAt: layout.FormatTime(r.DeletedAt)}
	switch r.State {
	case accounts.Created:
		row.State, row.StateKey = "Created", "created"
	case accounts.Kept:
		row.State, row.StateKey = "Kept", "kept"
	case accounts.Deleted:
		row.State, row.StateKey = "Deleted", "deleted"
	default:
		row.State, row.StateKey = string(r.State), "unknown"
	}
	groups := map[string]int{}
	for _, it := range r.Items {
		i, ok := groups[it.Note]
		if !ok {
			i = len(row.Groups)
			groups[it.Note] = i
			row.Groups = append(row.Groups, ItemGroup{Note: it.Note})
		}
		row.Groups[i].Items = append(row.Groups[i].Items, ItemView{Name: it.Name, State: it.State, StateKey: itemKey(it.State)})
	}
	return row
}

// itemKey turns an item state ("NotPermitted") into a CSS class suffix.
func itemKey(state string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(state) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
		}
	}
	return b.String()
}

func infraSettings(inf accounts.Infrastructure) []viewkit.Setting {
	s := inf.Settings
	var out []viewkit.Setting
	add := func(label, value string, mono bool) {
		if value != "" {
			out = append(out, viewkit.Setting{Label: label, Value: value, Mono: mono})
		}
	}
	add("Region", s.Region, true)
	switch inf.Provider {
	case connectors.AWS:
		add("Export", viewkit.OptionLabel(exportTypes, s.ExportType), false)
	case connectors.Azure:
		reg := "Not requested"
		if s.RegisterExportProvider {
			reg = "Requested"
		}
		add("Register Microsoft.CostManagementExports", reg, false)
	case connectors.GCP:
		add("Project", s.ProjectID, true)
		add("Dataset", s.Dataset, true)
	}
	return out
}
