package exportspage

import (
	"strconv"
	"strings"

	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
	"github.com/truecost/truecost/domain/tenancy"
)

// Option is one choice of a select.
type Option struct {
	Value, Label string
}

// View is the page.
type View struct {
	OrgName string
	// Base is the page's path: /exports or /customers/{org}/exports.
	Base      string
	CanEdit   bool
	Reseller  bool // the page is a reseller's own: all its customers
	FixedBase string
	// Customers link to each customer's exports page (reseller's page).
	Customers []Option
	Accounts  []Option
	Providers []Option
	Configs   []ConfigRow
	Runs      []RunRow
	Form      formInput
	Error     string
	Notice    string
}

// ConfigRow is one configuration in the list.
type ConfigRow struct {
	ID, Destination, Providers, Basis, Format, Verified string
	Enabled, Overwrite                                  bool
}

// RunRow is one export run.
type RunRow struct {
	ID, Month, Customer, Provider, Basis, Layout, Status, Rows, Totals, Error, When string
	Files                                                                           []string
	Failed                                                                          bool
}

var providerLabels = map[connectors.Provider]string{
	connectors.AWS: "AWS", connectors.Azure: "Microsoft Azure", connectors.GCP: "Google Cloud", connectors.OCI: "Oracle Cloud",
}

func basisLabel(b exports.Basis) string {
	if b == exports.AtCost {
		return "At cost"
	}
	return "At resale price"
}

func pageView(p tenancy.Principal, org tenancy.Organization, base string, orgs []tenancy.Organization,
	cfgs []exports.Config, runs []exports.Run, accts []accounts.Account) View {
	v := View{OrgName: org.Name, Base: base, CanEdit: p.IsAdmin(), Reseller: org.Kind == tenancy.Reseller,
		Form: formInput{Enabled: true, Kind: "s3", Format: "native", Providers: map[string]bool{"aws": true}}}
	if org.ResellerID != "" {
		v.FixedBase = string(exports.AtResale)
		v.Form.Basis = v.FixedBase
	} else if org.Kind != tenancy.Reseller {
		v.FixedBase = string(exports.AtCost)
		v.Form.Basis = v.FixedBase
	}
	names := map[string]string{}
	for _, o := range orgs {
		names[o.ID] = o.Name
		if org.Kind == tenancy.Reseller && o.ResellerID == org.ID {
			v.Customers = append(v.Customers, Option{Value: o.ID, Label: o.Name})
		}
	}
	for _, pr := range connectors.CloudProviders {
		v.Providers = append(v.Providers, Option{Value: string(pr), Label: providerLabels[pr]})
	}
	for _, a := range accts {
		if a.Provider == connectors.AWS {
			v.Accounts = append(v.Accounts, Option{Value: a.ID, Label: a.Name + " (" + a.ProviderAccountID + ")"})
		}
	}
	for _, c := range cfgs {
		ps := make([]string, len(c.Providers))
		for i, pr := range c.Providers {
			ps[i] = providerLabels[pr]
		}
		dest := string(c.Destination.Kind) + "://" + c.Destination.Bucket
		if c.Destination.Prefix != "" {
			dest += "/" + c.Destination.Prefix
		}
		row := ConfigRow{ID: c.ID, Destination: dest, Providers: strings.Join(ps, ", "), Basis: basisLabel(c.Basis),
			Format: strings.ToUpper(string(c.Format)), Enabled: c.Enabled, Overwrite: c.OverwriteConfirmed, Verified: "never"}
		if c.Format == exports.Native {
			row.Format = "Native"
		}
		if !c.VerifiedAt.IsZero() {
			row.Verified = c.VerifiedAt.UTC().Format("2006-01-02 15:04")
		}
		v.Configs = append(v.Configs, row)
	}
	for _, r := range runs {
		row := RunRow{ID: r.ID, Month: r.Month.Format("2006-01"), Customer: names[r.CustomerID], Provider: providerLabels[r.Provider],
			Basis: basisLabel(r.Basis), Layout: r.Layout, Status: string(r.Status), Rows: strconv.FormatInt(r.Rows, 10),
			Error: r.Error, Failed: r.Status == exports.RunFailed, When: r.QueuedAt.UTC().Format("2006-01-02 15:04")}
		if row.Customer == "" {
			row.Customer = r.CustomerID
		}
		var ts []string
		for _, m := range r.Totals {
			ts = append(ts, m.Currency+" "+m.Amount.String())
		}
		row.Totals = strings.Join(ts, ", ")
		for _, f := range r.Files {
			row.Files = append(row.Files, f.Key)
		}
		v.Runs = append(v.Runs, row)
	}
	return v
}

func formFromConfig(c exports.Config) formInput {
	f := formInput{ID: c.ID, Basis: string(c.Basis), Format: string(c.Format), Kind: string(c.Destination.Kind),
		AccountID: c.Destination.AccountID, Bucket: c.Destination.Bucket, Prefix: c.Destination.Prefix,
		Region: c.Destination.Region, Enabled: c.Enabled, Confirm: c.OverwriteConfirmed, Providers: map[string]bool{}}
	for _, p := range c.Providers {
		f.Providers[string(p)] = true
	}
	return f
}

// VerifyView is the outcome of Verify.
type VerifyView struct {
	OK      bool
	Problem string
	Message string
	Policy  string
	Overlap string
}

func verifyView(v exports.Verification) VerifyView {
	out := VerifyView{OK: v.OK, Problem: string(v.Problem), Message: v.Message, Policy: v.Policy}
	if v.Overlap != nil {
		out.Overlap = v.Overlap.Message
	}
	return out
}
