package accountspage

import (
	"strconv"
	"strings"
	"time"

	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/views/jobview"
	"github.com/truecost/truecost/views/layout"
	"github.com/truecost/truecost/views/viewkit"
)

// ListView is the view model of the accounts list of one organization.
type ListView struct {
	OrgID     string
	OrgName   string
	Picker    viewkit.Picker
	CanManage bool
	CSRF      string
	Rows      []Row
	Cards     []InfraCard
	Notice    string
	Error     string
	Highlight string // an account just added
	// Job is Check now while it runs.
	Job *jobview.View
}

// ProviderInfo names a provider for display.
type ProviderInfo struct {
	ID      connectors.Provider
	Name    string // "Amazon Web Services"
	Short   string // "AWS", on the provider mark
	IDLabel string // what its provider account ID is called
	Blurb   string
}

// Class is the CSS class of the provider's mark.
func (p ProviderInfo) Class() string { return "prov-" + string(p.ID) }

func providerInfo(p connectors.Provider) ProviderInfo {
	switch p {
	case connectors.AWS:
		return ProviderInfo{p, "Amazon Web Services", "AWS", "AWS account ID", "An AWS account, with an IAM role or access keys"}
	case connectors.Azure:
		return ProviderInfo{p, "Microsoft Azure", "Azure", "Subscription ID", "A subscription, with a service principal"}
	case connectors.GCP:
		return ProviderInfo{p, "Google Cloud", "GCP", "Project ID", "A project and its billing account, with a service account"}
	case connectors.OCI:
		return ProviderInfo{p, "Oracle Cloud", "OCI", "Tenancy OCID", "A tenancy, optionally with an API signing key"}
	}
	return ProviderInfo{p, string(p), strings.ToUpper(string(p)), "Account ID", ""}
}

// StatusView is a billing status as a badge and its detail line.
type StatusView struct {
	Label, Key, Detail string
}

func statusView(s accounts.Status, detail string) StatusView {
	switch s {
	case accounts.Checking:
		return StatusView{"Checking", string(s), detail}
	case accounts.Provisioned:
		return StatusView{"Provisioned", string(s), detail}
	case accounts.Unprovisioned:
		return StatusView{"Unprovisioned", string(s), detail}
	}
	return StatusView{string(s), "unknown", detail}
}

// Row is one account as the list and its page show it.
type Row struct {
	ID                string
	Name              string
	Provider          ProviderInfo
	ProviderAccountID string
	BillingAccountID  string
	HasCredentials    bool
	Status            StatusView
	// LastChecked reads relative to now; LastCheckedExact is the instant.
	LastChecked      string
	LastCheckedExact string
	LastCheckedISO   string
}

func newRow(a accounts.Account, now time.Time) Row {
	r := Row{
		ID:                a.ID,
		Name:              a.Name,
		Provider:          providerInfo(a.Provider),
		ProviderAccountID: a.ProviderAccountID,
		BillingAccountID:  a.BillingAccountID,
		HasCredentials:    a.HasCredentials,
		Status:            statusView(a.Status, a.StatusDetail),
		LastChecked:       layout.FormatAgo(a.LastCheckedAt, now),
	}
	if !a.LastCheckedAt.IsZero() {
		r.LastCheckedExact = layout.FormatTime(a.LastCheckedAt)
		r.LastCheckedISO = a.LastCheckedAt.UTC().Format(time.RFC3339)
	}
	return r
}

// InfraCard summarizes one provider's billing infrastructure on the list.
type InfraCard struct {
	Provider      ProviderInfo
	Provisionable bool
	State         string
	StateKey      string
	Region        string
	ProvisionedBy string
	// ProvisionedByURL is the page of the account that provisioned it.
	ProvisionedByURL string
	Since            string
	Error            string
	Accounts         int
	// Receiving counts the accounts whose billing data arrives (status
	// Provisioned), whatever the infrastructure's state.
	Receiving int
	// Note explains a state that the data overrides: accounts receive
	// data through connectors the infrastructure did not create.
	Note string
	// Action is the card's button: "provision", "retry", "deprovision" or
	// "" for none; ActionURL is where it leads.
	Action    string
	ActionURL string
}

func infraCards(list []accounts.Account, infras []accounts.Infrastructure, now time.Time) []InfraCard {
	var cards []InfraCard
	for _, p := range accounts.Providers {
		var mine []accounts.Account
		for _, a := range list {
			if a.Provider == p {
				mine = append(mine, a)
			}
		}
		var inf accounts.Infrastructure
		for _, i := range infras {
			if i.Provider == p {
				inf = i
			}
		}
		if len(mine) == 0 && inf.ID == "" {
			continue
		}
		c := InfraCard{Provider: providerInfo(p), Provisionable: p != connectors.OCI, Accounts: len(mine)}
		for _, a := range mine {
			if a.Status == accounts.Provisioned {
				c.Receiving++
			}
		}
		c.State, c.StateKey = stateLabel(inf)
		c.Note = dataNote(inf, c.Receiving)
		if c.Note != "" {
			// The card tells the story of the rows below it.
			c.State, c.StateKey = "Receiving data", "provisioned"
		}
		if !c.Provisionable {
			cards = append(cards, c)
			continue
		}
		if inf.ID != "" {
			c.Region, c.Error = inf.Settings.Region, inf.Error
			c.ProvisionedBy, c.ProvisionedByURL = accountName(list, inf.AccountID), "/accounts/"+inf.AccountID
			if !inf.ProvisionedAt.IsZero() && inf.State == accounts.StateProvisioned {
				c.Since = layout.FormatAgo(inf.ProvisionedAt, now)
			}
		}
		switch {
		case !inf.Active():
			if from := provisionFrom(mine); from != "" {
				c.Action, c.ActionURL = "provision", "/accounts/"+from+"#billing"
			}
		case inf.State == accounts.StateFailed:
			c.Action, c.ActionURL = "retry", "/accounts/"+inf.AccountID+"#billing"
		default:
			c.Action, c.ActionURL = "deprovision", "/accounts/"+inf.AccountID+"/deprovision"
		}
		cards = append(cards, c)
	}
	return cards
}

// provisionFrom picks the account a card's Provision Billing leads to: the
// first with credentials, else the first.
func provisionFrom(list []accounts.Account) string {
	for _, a := range list {
		if a.HasCredentials {
			return a.ID
		}
	}
	if len(list) > 0 {
		return list[0].ID
	}
	return ""
}

func accountName(list []accounts.Account, id string) string {
	for _, a := range list {
		if a.ID == id {
			return a.Name
		}
	}
	return "a removed account"
}

// dataNote explains, when some of a provider's accounts receive billing
// data although its infrastructure is not in place, where the data comes
// from; "" otherwise.
func dataNote(inf accounts.Infrastructure, receiving int) string {
	if receiving == 0 {
		return ""
	}
	switch {
	case inf.ID == "":
		return "Billing data arrives through connectors added by hand; Truecost provisioned no export."
	case inf.State == accounts.StateDeprovisioned:
		return "Truecost's export was deprovisioned; billing data still arrives through other connectors."
	case inf.State == accounts.StateFailed:
		return "Provisioning did not finish; billing data arrives through other connectors."
	case inf.State == accounts.StateDeprovisionFailed:
		return "Deprovisioning did not finish; billing data arrives through other connectors."
	}
	return ""
}

// stateLabel names an infrastructure's state; the zero Infrastructure is
// "Not provisioned".
func stateLabel(inf accounts.Infrastructure) (string, string) {
	if inf.ID == "" {
		return "Not provisioned", "none"
	}
	switch inf.State {
	case accounts.StateProvisioning:
		return "Provisioning", "provisioning"
	case accounts.StateProvisioned:
		return "Provisioned", "provisioned"
	case accounts.StateFailed:
		return "Provisioning failed", "failed"
	case accounts.StateDeprovisioning:
		return "Deprovisioning", "provisioning"
	case accounts.StateDeprovisionFailed:
		return "Deprovisioning failed", "failed"
	case accounts.StateDeprovisioned:
		return "Deprovisioned", "none"
	}
	return string(inf.State), "none"
}

// Detail is the view model of an account's page.
type Detail struct {
	Row              Row
	OrgID            string
	OrgName          string
	ShowOrg          bool
	CanManage        bool
	CSRF             string
	Settings         []viewkit.Setting
	StatusSince      string
	StatusSinceExact string
	History          []HistoryRow
	Billing          BillingView
	Notice           string
	Error            string
	// Job is Check now or Provision billing while it runs.
	Job *jobview.View
	// AWS only.
	ExternalID  string
	TrustPolicy string
	Principal   string
}

func accountSettings(a accounts.Account) []viewkit.Setting {
	info := providerInfo(a.Provider)
	s := []viewkit.Setting{{Label: "Provider", Value: info.Name}, {Label: info.IDLabel, Value: a.ProviderAccountID, Mono: true}}
	if a.BillingAccountID != "" {
		s = append(s, viewkit.Setting{Label: "Billing account ID", Value: a.BillingAccountID, Mono: true})
	}
	creds := "None stored"
	if a.HasCredentials {
		creds = "Stored encrypted (never shown)"
	}
	s = append(s, viewkit.Setting{Label: "Credentials", Value: creds})
	if !a.CreatedAt.IsZero() {
		s = append(s, viewkit.Setting{Label: "Added", Value: layout.FormatTime(a.CreatedAt)})
	}
	return s
}

// HistoryRow is one status change.
type HistoryRow struct {
	From, To      StatusView
	Detail        string
	At, AtExact   string
	AtISO         string
	FromUnchecked bool // the first check: there was no status before
}

func historyRow(c accounts.StatusChange, now time.Time) HistoryRow {
	return HistoryRow{
		From: statusView(c.From, ""), To: statusView(c.To, ""), Detail: c.Detail,
		At: layout.FormatAgo(c.At, now), AtExact: layout.FormatTime(c.At), AtISO: c.At.UTC().Format(time.RFC3339),
		FromUnchecked: c.From == "",
	}
}

// awsTrustPolicy is the trust relationship the account's IAM role needs
// for Truecost to assume it with the account's external ID.
func awsTrustPolicy(externalID, principal string) string {
	return connectors.AWSTrustPolicy(externalID, principal)
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
