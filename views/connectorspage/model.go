package connectorspage

import (
	"strconv"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/views/jobview"
	"github.com/truecost/truecost/views/layout"
	"github.com/truecost/truecost/views/viewkit"
)

// ListView is the view model of the connectors list.
type ListView struct {
	Scope     string // the ?org= the list is narrowed to, if any
	Picker    viewkit.Picker
	ShowOrg   bool
	CanManage bool
	CSRF      string
	Rows      []Row
	Notice    string
	Highlight string // a connector just added
}

// Row is one connector as the list and its page show it.
type Row struct {
	ID        string
	Name      string
	Location  string
	Format    string
	Provider  ProviderInfo
	Org       string
	Enabled   bool
	Editable  bool // cloud connectors; local ones are managed from the CLI
	Status    string
	StatusKey string
	// LastSync reads relative to now; LastSyncExact is the instant.
	LastSync      string
	LastSyncExact string
	LastSyncISO   string
	LastError     string
	Rows          string
	LastPeriod    string
	Outcome       *Outcome
	// Job is Test connection or Sync now while it runs.
	Job *jobview.View
}

// ProviderInfo names a provider for display.
type ProviderInfo struct {
	ID    connectors.Provider
	Name  string // "Amazon Web Services"
	Short string // "AWS", on the provider mark
	Blurb string // where its data comes from
}

// Class is the CSS class of the provider's mark.
func (p ProviderInfo) Class() string { return "prov-" + string(p.ID) }

func providerInfo(p connectors.Provider) ProviderInfo {
	switch p {
	case connectors.AWS:
		return ProviderInfo{p, "Amazon Web Services", "AWS", "CUR 2.0, legacy CUR or FOCUS export in S3"}
	case connectors.Azure:
		return ProviderInfo{p, "Microsoft Azure", "Azure", "Cost Management export in Blob Storage"}
	case connectors.GCP:
		return ProviderInfo{p, "Google Cloud", "GCP", "Cloud Billing export in BigQuery"}
	case connectors.OCI:
		return ProviderInfo{p, "Oracle Cloud", "OCI", "Cost reports in Object Storage"}
	case connectors.Local:
		return ProviderInfo{p, "Local files", "File", "FOCUS files on the server"}
	}
	return ProviderInfo{p, string(p), strings.ToUpper(string(p)), ""}
}

// Outcome is what Test connection or Sync now found.
type Outcome struct {
	Kind    string // "test" or "sync"
	OK      bool
	Title   string
	Summary string
	Error   string
	Parts   []PartView
	Run     *RunView
}

// PartView is one billing period a test found.
type PartView struct {
	Period string
	Files  []FileView
	More   int // files not listed
	Size   string
}

// FileView is one file of a part.
type FileView struct {
	Name, Size string
}

// RunView is the ingestion run a sync made.
type RunView struct {
	Status    string
	StatusKey string
	Rows      string
	Files     string
	Duration  string
	Periods   []string
	Totals    []Money
}

// Money is an amount shown rounded, with its exact value beside it.
type Money struct {
	Display, Exact string
}

// Detail is the view model of a connector's page.
type Detail struct {
	Row       Row
	ShowOrg   bool
	CanManage bool
	CSRF      string
	Settings  []viewkit.Setting
	Notice    string
	Outcome   *Outcome
	// Job is Test connection or Sync now while it runs.
	Job *jobview.View
	// AWS only.
	ExternalID  string
	TrustPolicy string
	ReadPolicy  string
	Principal   string
}

// filesShown is how many file names a test lists per period.
const filesShown = 4

func newRow(c connectors.Connector, org string, now time.Time) Row {
	r := Row{
		ID:        c.ID,
		Name:      c.Name,
		Location:  c.Location,
		Format:    c.Format,
		Provider:  providerInfo(c.Provider),
		Org:       org,
		Enabled:   c.Enabled,
		Editable:  cloud(c.Provider),
		LastError: c.LastError,
		LastSync:  layout.FormatAgo(c.LastSyncAt, now),
		Rows:      "—",
		StatusKey: string(c.Status),
	}
	switch c.Status {
	case connectors.StatusOK:
		r.Status = "OK"
	case connectors.StatusFailed:
		r.Status = "Failed"
	default:
		r.Status, r.StatusKey = "New", string(connectors.StatusNew)
	}
	if !c.LastSyncAt.IsZero() {
		r.LastSyncExact = layout.FormatTime(c.LastSyncAt)
		r.LastSyncISO = c.LastSyncAt.UTC().Format(time.RFC3339)
		r.Rows = layout.FormatCount(c.LastRows)
	}
	if !c.LastPeriod.IsZero() {
		r.LastPeriod = c.LastPeriod.UTC().Format("Jan 2006")
	}
	return r
}

var fileTypes = []viewkit.Option{
	{Value: "cur2", Label: "CUR 2.0 (Data Exports)"},
	{Value: "cur", Label: "Legacy CUR"},
	{Value: "focus", Label: "FOCUS export"},
}

// settings lists a connector's non-secret settings for its page.
func settings(c connectors.Connector) []viewkit.Setting {
	cfg := c.Config
	var s []viewkit.Setting
	add := func(label, value string, mono bool) {
		if value != "" {
			s = append(s, viewkit.Setting{Label: label, Value: value, Mono: mono})
		}
	}
	add("Location", c.Location, true)
	add("Format", c.Format, true)
	switch c.Provider {
	case connectors.AWS:
		add("AWS account ID", cfg.AWSAccountID, true)
		add("S3 bucket", cfg.Bucket, true)
		add("Path", cfg.Path, true)
		add("File type", viewkit.OptionLabel(fileTypes, cfg.FileType), false)
		add("Region", cfg.Region, true)
	case connectors.Azure:
		add("Cloud", viewkit.OptionLabel(azureClouds, cfg.AzureCloud), false)
		add("Storage account", cfg.StorageAccount, true)
		add("Container", cfg.Container, true)
		add("Path", cfg.Path, true)
	case connectors.GCP:
		add("Billing account ID", cfg.BillingAccountID, true)
		add("BigQuery project", cfg.ProjectID, true)
		add("Region", cfg.Region, true)
		add("Dataset", cfg.Dataset, true)
		add("Table", cfg.Table, true)
		add("Result project", cfg.ResultProject, true)
		add("Result region", cfg.ResultRegion, true)
		add("Result dataset", cfg.ResultDataset, true)
		add("Result bucket", cfg.ResultBucket, true)
	case connectors.OCI:
		add("Tenancy OCID", cfg.TenancyOCID, true)
		add("User OCID", cfg.UserOCID, true)
		add("Key fingerprint", cfg.Fingerprint, true)
		add("Home region", cfg.Region, true)
	}
	add("Endpoint", cfg.Endpoint, true)
	creds := "None stored"
	if c.HasSecret {
		creds = "Stored encrypted (never shown)"
	}
	if cloud(c.Provider) {
		s = append(s, viewkit.Setting{Label: "Credentials", Value: creds})
	}
	sched := "Synced on schedule"
	if !c.Enabled {
		sched = "Paused: synced only on demand"
	}
	s = append(s, viewkit.Setting{Label: "Schedule", Value: sched})
	if !c.CreatedAt.IsZero() {
		s = append(s, viewkit.Setting{Label: "Added", Value: layout.FormatTime(c.CreatedAt)})
	}
	return s
}

func testOutcome(res connectors.TestResult, err error) *Outcome {
	if err != nil {
		return &Outcome{Kind: "test", Title: "Connection failed", Error: domain.ErrorMessage(err)}
	}
	o := &Outcome{Kind: "test", OK: true, Title: "Connection works"}
	var files int
	var size int64
	for _, p := range res.Parts {
		pv := PartView{Period: "Periods found in the data"}
		if !p.Period.IsZero() {
			pv.Period = layout.FormatMonth(p.Period)
		}
		var partSize int64
		for i, f := range p.Files {
			partSize += f.Size
			if i < filesShown {
				pv.Files = append(pv.Files, FileView{Name: f.Name, Size: layout.FormatBytes(f.Size)})
			}
		}
		pv.More = max(0, len(p.Files)-filesShown)
		pv.Size = layout.FormatBytes(partSize)
		files += len(p.Files)
		size += partSize
		o.Parts = append(o.Parts, pv)
	}
	format := res.Format
	if format == "" {
		format = "unknown format"
	}
	if len(res.Parts) == 0 {
		o.Summary = format + " · no billing data found yet; nothing would be loaded"
		return o
	}
	o.Summary = format + " · " + count(len(res.Parts), "billing period", "billing periods") + " · " +
		count(files, "file", "files") + " · " + layout.FormatBytes(size) + " would be read"
	return o
}

func syncOutcome(run billing.IngestionRun, err error) *Outcome {
	o := &Outcome{Kind: "sync"}
	if run.Status != "" && run.Status != billing.RunUnchanged {
		rv := &RunView{
			Status:    runStatusLabel(run.Status),
			StatusKey: string(run.Status),
			Rows:      layout.FormatCount(run.Rows),
			Files:     strconv.Itoa(len(run.Files)),
			Duration:  layout.FormatDuration(run.Duration()),
		}
		for _, p := range run.Periods {
			rv.Periods = append(rv.Periods, p.UTC().Format("Jan 2006"))
		}
		for _, m := range run.Totals {
			rv.Totals = append(rv.Totals, Money{Display: layout.FormatMoney(m.Amount, m.Currency), Exact: m.Amount.String() + " " + m.Currency})
		}
		o.Run = rv
	}
	switch {
	case err != nil:
		o.Title, o.Error = "Sync failed", domain.ErrorMessage(err)
	case run.Status == billing.RunUnchanged:
		o.OK, o.Title = true, "Already up to date"
		o.Summary = "Nothing changed in the source since the last sync."
	default:
		o.OK, o.Title = true, "Sync succeeded"
		o.Summary = layout.FormatCount(run.Rows) + " rows loaded for " + count(len(run.Periods), "billing period", "billing periods") + "."
	}
	return o
}

func runStatusLabel(s billing.RunStatus) string {
	switch s {
	case billing.RunSucceeded:
		return "Succeeded"
	case billing.RunUnchanged:
		return "Unchanged"
	case billing.RunFailed:
		return "Failed"
	case billing.RunRunning:
		return "Running"
	}
	return string(s)
}

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return layout.FormatCount(int64(n)) + " " + many
}
