package gcpbilling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"cloud.google.com/go/auth"
	"cloud.google.com/go/auth/credentials"
	"cloud.google.com/go/auth/httptransport"
	"cloud.google.com/go/bigquery"
	"google.golang.org/api/googleapi"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"

	"github.com/truecost/truecost/adapters/cloudhttp"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

// DefaultWindow is how far back Scan looks for newly exported rows: Google
// writes rows of a month for several days after it ends.
const DefaultWindow = 10 * 24 * time.Hour

// Export table name prefixes, detailed (resource-level) first.
const (
	DetailedTablePrefix = "gcp_billing_export_resource_v1_"
	StandardTablePrefix = "gcp_billing_export_v1_"
)

// Config says where a billing export lives in BigQuery and how to reach it.
// It holds the service-account key: print it with %v or slog (which redact
// the key), never field by field.
type Config struct {
	BillingAccountID string // 012345-6789AB-CDEF01; picks the export table
	ProjectID        string // project of the dataset; queries run (and bill) here
	Location         string // dataset location: US, EU, or a region such as europe-west1
	Dataset          string
	// Table is the export table; empty finds it in Dataset: the detailed
	// table of BillingAccountID, else its standard table.
	Table string
	// CredentialsJSON is a service-account key (JSON). Empty uses the
	// environment's Application Default Credentials.
	CredentialsJSON []byte
	// Endpoint overrides the BigQuery API address (private endpoints).
	Endpoint string
	// Transport, when set, carries every request to Google, the exchange
	// of the key for a token included (an outbound policy's transport:
	// the endpoint and the key's token URI are a tenant's choice).
	Transport http.RoundTripper
	// Timeouts bound each request, the token requests of CredentialsJSON
	// included, and each pause of a streaming read.
	Timeouts cloudhttp.Timeouts

	// Window is how far back to look for newly exported rows (default
	// DefaultWindow). AllMonths scans every invoice month instead: for the
	// first sync and for backfills.
	Window    time.Duration
	AllMonths bool
	// Now is the clock (default time.Now).
	Now func() time.Time

	// Result* name where large extracts are to be staged (a dataset and a
	// Cloud Storage bucket) once the source exports through Cloud Storage.
	// They are kept with the connector's settings; this version reads
	// query results directly and does not use them.
	ResultProject string
	ResultRegion  string
	ResultDataset string
	ResultBucket  string
}

// String describes the configuration without its credentials.
func (c Config) String() string {
	creds := "application default credentials"
	if len(c.CredentialsJSON) > 0 {
		creds = "service account key (redacted)"
	}
	return fmt.Sprintf("bigquery project=%s location=%s dataset=%s table=%s billing_account=%s credentials=%s",
		c.ProjectID, c.Location, c.Dataset, c.Table, c.BillingAccountID, creds)
}

// GoString is String, so %#v does not print the key either.
func (c Config) GoString() string { return c.String() }

// LogValue keeps the key out of structured logs.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

var (
	projectRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.:-]{0,127}$`)
	nameRE    = regexp.MustCompile(`^[A-Za-z0-9_]+$`) // and at most 1,024 characters
)

func (c Config) validate() error {
	switch {
	case !projectRE.MatchString(c.ProjectID):
		return domain.Errorf(domain.Invalid, "BigQuery project ID %q is not valid", c.ProjectID)
	case !nameRE.MatchString(c.Dataset) || len(c.Dataset) > 1024:
		return domain.Errorf(domain.Invalid, "BigQuery dataset %q is not valid (letters, digits and underscores)", c.Dataset)
	case c.Table != "" && (!nameRE.MatchString(c.Table) || len(c.Table) > 1024):
		return domain.Errorf(domain.Invalid, "BigQuery table %q is not valid (letters, digits and underscores)", c.Table)
	case c.Window < 0:
		return domain.Errorf(domain.Invalid, "the rescan window must not be negative")
	}
	return nil
}

// BigQuerySource reads the billing export table in BigQuery, one Part per
// invoice month. It never enables the BigQuery Storage Read API.
type BigQuerySource struct {
	cfg    Config
	client *bigquery.Client

	mu     sync.Mutex
	table  string // resolved table ID
	schema bigquery.Schema
}

var _ billing.Source = (*BigQuerySource)(nil)

// NewBigQuerySource connects to BigQuery as cfg says; opts are added last
// (tests pass option.WithEndpoint and option.WithoutAuthentication). Close
// it when done.
func NewBigQuerySource(ctx context.Context, cfg Config, opts ...option.ClientOption) (*BigQuerySource, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var all []option.ClientOption
	if cfg.Transport != nil {
		hc, err := AuthorizedClient(cfg.CredentialsJSON, cfg.Timeouts.Transport(cfg.Transport))
		if err != nil {
			return nil, domain.WrapError(domain.Invalid, err, "cannot set up the BigQuery client for project %s (check the service account key)", cfg.ProjectID)
		}
		all = append(all, option.WithHTTPClient(hc))
	} else if len(cfg.CredentialsJSON) > 0 {
		// Only a service-account key is accepted: a credential of another
		// type from outside could make the client fetch arbitrary URLs.
		hc, err := cfg.Timeouts.Google(cfg.CredentialsJSON)
		if err != nil {
			return nil, domain.WrapError(domain.Invalid, err, "cannot set up the BigQuery client for project %s (check the service account key)", cfg.ProjectID)
		}
		all = append(all, option.WithHTTPClient(hc))
	}
	if cfg.Endpoint != "" {
		all = append(all, option.WithEndpoint(cfg.Endpoint))
	}
	all = append(all, opts...)
	client, err := bigquery.NewClient(ctx, cfg.ProjectID, all...)
	if err != nil {
		return nil, domain.WrapError(domain.Invalid, err, "cannot set up the BigQuery client for project %s (check the service account key)", cfg.ProjectID)
	}
	client.Location = cfg.Location
	return &BigQuerySource{cfg: cfg, client: client, table: cfg.Table}, nil
}

// Close releases the client.
func (s *BigQuerySource) Close() error { return s.client.Close() }

// AuthorizedClient returns a client signing requests with the
// service-account key (or, without one, the environment's default
// credentials) over transport, so the key's exchange for a token and the
// API calls both go through it. Only a service-account key is accepted: a
// credential of another type from outside could make the client fetch
// arbitrary URLs.
func AuthorizedClient(key []byte, transport http.RoundTripper) (*http.Client, error) {
	scopes := []string{"https://www.googleapis.com/auth/cloud-platform"}
	var creds *auth.Credentials
	var err error
	if len(key) > 0 {
		creds, err = credentials.NewCredentialsFromJSON(credentials.ServiceAccount, key,
			&credentials.DetectOptions{Scopes: scopes, Client: &http.Client{Transport: transport}})
	} else {
		creds, err = credentials.DetectDefault(&credentials.DetectOptions{Scopes: scopes})
	}
	if err != nil {
		return nil, err
	}
	return httptransport.NewClient(&httptransport.Options{BaseRoundTripper: transport, Credentials: creds})
}

// tableName is the quoted table for SQL.
func (s *BigQuerySource) tableName() string {
	return "`" + s.cfg.ProjectID + "." + s.cfg.Dataset + "." + s.table + "`"
}

// resolve finds the export table (when not configured) and its schema,
// once per source.
func (s *BigQuerySource) resolve(ctx context.Context) (string, bigquery.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schema != nil {
		return s.table, s.schema, nil
	}
	ds := s.client.DatasetInProject(s.cfg.ProjectID, s.cfg.Dataset)
	if s.table == "" {
		t, err := s.findTable(ctx, ds)
		if err != nil {
			return "", nil, err
		}
		s.table = t
	}
	md, err := ds.Table(s.table).Metadata(ctx)
	if err != nil {
		return "", nil, apiError(err, "read the schema of table %s.%s", s.cfg.Dataset, s.table)
	}
	for _, col := range []string{"invoice", "cost", "currency", "usage_start_time", "usage_end_time", "export_time"} {
		if fieldOf(md.Schema, col) == nil {
			return "", nil, domain.Errorf(domain.Invalid, "table %s.%s is not a Cloud Billing export: it has no %s column", s.cfg.Dataset, s.table, col)
		}
	}
	s.schema = md.Schema
	return s.table, s.schema, nil
}

// findTable picks the billing account's detailed export table, else its
// standard one; without a billing account, the only export table there is.
func (s *BigQuerySource) findTable(ctx context.Context, ds *bigquery.Dataset) (string, error) {
	suffix := strings.ReplaceAll(strings.ToUpper(s.cfg.BillingAccountID), "-", "_")
	var found []string
	it := ds.Tables(ctx)
	for {
		t, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return "", apiError(err, "list the tables of dataset %s", s.cfg.Dataset)
		}
		found = append(found, t.TableID)
	}
	sort.Strings(found)
	var candidates []string
	for _, prefix := range []string{DetailedTablePrefix, StandardTablePrefix} {
		for _, id := range found {
			if !strings.HasPrefix(id, prefix) {
				continue
			}
			if suffix == "" || strings.EqualFold(strings.TrimPrefix(id, prefix), suffix) {
				candidates = append(candidates, id)
			}
		}
		if len(candidates) > 0 {
			break
		}
	}
	switch {
	case len(candidates) == 1:
		return candidates[0], nil
	case len(candidates) == 0 && suffix != "":
		return "", domain.Errorf(domain.NotFound, "dataset %s has no billing export table for billing account %s (%s%s or %s%s)",
			s.cfg.Dataset, s.cfg.BillingAccountID, DetailedTablePrefix, suffix, StandardTablePrefix, suffix)
	case len(candidates) == 0:
		return "", domain.Errorf(domain.NotFound, "dataset %s has no billing export table (%s… or %s…)", s.cfg.Dataset, DetailedTablePrefix, StandardTablePrefix)
	}
	return "", domain.Errorf(domain.Invalid, "dataset %s has several billing export tables (%s): set the billing account or the table",
		s.cfg.Dataset, strings.Join(candidates, ", "))
}

// Scan lists the invoice months to (re)load with their versions. A month
// is listed when rows of it were exported within the window (or always,
// with AllMonths); the newest invoice month is always listed, so a quiet
// export still yields an (unchanged) manifest. A Part's Version is the
// month's newest export_time and row count over the whole month, so late
// rows change it, and its one SourceFile counts rows (the only size known
// before reading) — Read reports progress in rows too.
func (s *BigQuerySource) Scan(ctx context.Context) (billing.Manifest, error) {
	table, _, err := s.resolve(ctx)
	if err != nil {
		return billing.Manifest{}, err
	}
	q := s.client.Query(scanSQL(s.tableName(), !s.cfg.AllMonths))
	if !s.cfg.AllMonths {
		window := s.cfg.Window
		if window == 0 {
			window = DefaultWindow
		}
		now := time.Now
		if s.cfg.Now != nil {
			now = s.cfg.Now
		}
		q.Parameters = []bigquery.QueryParameter{{Name: "since", Value: now().UTC().Add(-window)}}
	}
	it, err := q.Read(ctx)
	if err != nil {
		return billing.Manifest{}, apiError(err, "list the invoice months of %s", table)
	}
	man := billing.Manifest{Format: FormatBigQuery}
	for {
		var m struct {
			InvoiceMonth  bigquery.NullString    `bigquery:"invoice_month"`
			MaxExportTime bigquery.NullTimestamp `bigquery:"max_export_time"`
			RowCount      int64                  `bigquery:"row_count"`
		}
		err := it.Next(&m)
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return billing.Manifest{}, apiError(err, "list the invoice months of %s", table)
		}
		if !m.InvoiceMonth.Valid {
			return billing.Manifest{}, domain.Errorf(domain.Invalid, "%s has %d rows without invoice.month", table, m.RowCount)
		}
		period, err := InvoicePeriod(m.InvoiceMonth.StringVal)
		if err != nil {
			return billing.Manifest{}, domain.Errorf(domain.Invalid, "%s: invoice.month: %v", table, err)
		}
		man.Parts = append(man.Parts, billing.Part{
			Period: period,
			Version: fmt.Sprintf("gcp-bigquery;table=%s.%s.%s;invoice_month=%s;max_export_time=%s;rows=%d",
				s.cfg.ProjectID, s.cfg.Dataset, table, m.InvoiceMonth.StringVal,
				m.MaxExportTime.Timestamp.UTC().Format(time.RFC3339Nano), m.RowCount),
			Files: []billing.SourceFile{{Name: s.partName(table, m.InvoiceMonth.StringVal), Size: m.RowCount}},
		})
	}
	return man, nil
}

func (s *BigQuerySource) partName(table, month string) string {
	return fmt.Sprintf("bigquery://%s/%s/%s?invoice_month=%s", s.cfg.ProjectID, s.cfg.Dataset, table, month)
}

// Read queries every row of the part's invoice month, with decimal
// columns as BigQuery's own text (see readSQL), and passes their line
// items to fn. Errors name the month's query as the file, the result row
// as the line and the export column.
func (s *BigQuerySource) Read(ctx context.Context, p billing.Part, fn func(*billing.LineItem) error, progress func(int64)) error {
	table, schema, err := s.resolve(ctx)
	if err != nil {
		return err
	}
	month := p.Period.UTC().Format("200601")
	name := s.partName(table, month)
	q := s.client.Query(readSQL(s.tableName(), schema))
	q.Parameters = []bigquery.QueryParameter{{Name: "month", Value: month}}
	it, err := q.Read(ctx)
	if err != nil {
		return apiError(err, "query invoice month %s of %s", month, table)
	}
	var line int64
	for {
		var r bqRow
		err := it.Next(&r)
		if errors.Is(err, iterator.Done) {
			break
		}
		line++
		if err != nil {
			if errors.As(err, new(*billing.RowError)) {
				return billing.LocateRowError(name, int(line), err)
			}
			return apiError(err, "read invoice month %s of %s", month, table)
		}
		if r.InvoiceMonth != month {
			return billing.InputError(name, int(line), "invoice.month", "is %q in the result for invoice month %s", r.InvoiceMonth, month)
		}
		if err := r.LineItems(fn); err != nil {
			return billing.LocateRowError(name, int(line), err)
		}
		if progress != nil && line%1024 == 0 {
			progress(line)
		}
	}
	if progress != nil {
		progress(line)
	}
	return nil
}

// apiError turns a BigQuery API failure into a domain error with a message
// safe to show; the cause is kept for logs.
func apiError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var gerr *googleapi.Error
	if errors.As(err, &gerr) {
		switch gerr.Code {
		case http.StatusNotFound:
			return domain.WrapError(domain.NotFound, err, "cannot %s: not found", what)
		case http.StatusUnauthorized, http.StatusForbidden:
			return domain.WrapError(domain.Forbidden, err,
				"cannot %s: access denied (the service account needs BigQuery Data Viewer on the dataset and BigQuery Job User on the project)", what)
		case http.StatusBadRequest:
			return domain.WrapError(domain.Invalid, err, "cannot %s: BigQuery rejected the query: %s", what, gerr.Message)
		}
	}
	if msg, ok := cloudhttp.TimedOut(err); ok {
		return domain.WrapError(domain.Unavailable, err, "cannot %s: BigQuery is unavailable (%s)", what, msg)
	}
	return domain.WrapError(domain.Unavailable, err, "cannot %s: BigQuery is unavailable", what)
}
