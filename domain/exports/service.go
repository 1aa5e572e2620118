package exports

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/tenancy"
)

// Service runs the export use cases, each checking the caller's rights:
// an organization's users (and its reseller's) read its configurations
// and runs; its admins (and its reseller's) change them; the system
// queues and writes exports.
type Service struct {
	store   Store
	orgs    Organizations
	rights  *tenancy.Rights
	accts   Accounts
	conns   Connectors
	sealer  connectors.Sealer
	sinks   Sinks
	formats Formats
	closed  func(ctx context.Context, customerID string, month time.Time) (bool, error)
	newID   func() string
	now     func() time.Time
	log     *slog.Logger
}

// Deps are what a Service needs.
type Deps struct {
	Store      Store
	Orgs       Organizations
	Rights     *tenancy.Rights
	Accounts   Accounts
	Connectors Connectors
	// Sealer seals GCS keys and opens cloud account credentials; nil
	// means none can be used.
	Sealer  connectors.Sealer
	Sinks   Sinks
	Formats Formats
	// Closed reports whether a customer's month is closed (billing
	// cycles); nil means no month is. A resale export of a closed month is
	// written only when queued for "close".
	Closed func(ctx context.Context, customerID string, month time.Time) (bool, error)
	NewID  func() string
	Now    func() time.Time
	Logger *slog.Logger
}

// NewService returns a Service.
func NewService(d Deps) *Service {
	s := &Service{store: d.Store, orgs: d.Orgs, rights: d.Rights, accts: d.Accounts, conns: d.Connectors,
		sealer: d.Sealer, sinks: d.Sinks, formats: d.Formats, closed: d.Closed, newID: d.NewID, now: d.Now, log: d.Logger}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

const what = "billing exports"

// Configs lists the export configurations of orgID (the caller's own
// organization when empty).
func (s *Service) Configs(ctx context.Context, p tenancy.Principal, orgID string) ([]Config, error) {
	if orgID == "" {
		orgID = p.Org.ID
	}
	ids, err := s.rights.Read(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	return s.store.ExportConfigs(ctx, ids)
}

var (
	s3BucketRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	gcsBucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$`)
	regionRE    = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
)

// normalize checks an input for the organization it belongs to and fills
// defaults.
func (s *Service) normalize(org tenancy.Organization, in *Input) error {
	bad := func(field, format string, args ...any) error {
		return domain.Errorf(domain.Invalid, "%s: %s", field, fmt.Sprintf(format, args...))
	}
	if len(in.Providers) == 0 {
		return bad("providers", "mark at least one cloud provider to export")
	}
	seen := map[connectors.Provider]bool{}
	var ps []connectors.Provider
	for _, p := range in.Providers {
		p = connectors.Provider(strings.ToLower(strings.TrimSpace(string(p))))
		if !slices.Contains(connectors.CloudProviders, p) {
			return bad("providers", "%q is not one of aws, azure, gcp, oci", p)
		}
		if !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	in.Providers = ps
	switch {
	case in.Basis == "" && org.ResellerID != "":
		in.Basis = AtResale
	case in.Basis == "":
		in.Basis = AtCost
	case in.Basis != AtCost && in.Basis != AtResale:
		return bad("price basis", "cost or resale")
	}
	// A resold customer's export is at the price it is billed: its cost is
	// the reseller's business.
	if org.ResellerID != "" && in.Basis != AtResale {
		return bad("price basis", "a reseller's customer exports at resale price")
	}
	if in.Format == "" {
		in.Format = Native
	}
	if in.Format != Native && in.Format != FOCUS {
		return bad("format", "native or focus")
	}
	d := &in.Destination
	d.Bucket = strings.TrimSpace(d.Bucket)
	d.Prefix = strings.Trim(strings.TrimSpace(d.Prefix), "/")
	d.Region = strings.TrimSpace(d.Region)
	if len(d.Prefix) > 512 || strings.Contains(d.Prefix, "..") || strings.Contains(d.Prefix, "//") ||
		strings.ContainsFunc(d.Prefix, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return bad("prefix", "at most 512 characters of a plain folder path (no \"..\", \"//\" or control characters)")
	}
	switch d.Kind {
	case S3:
		if !s3BucketRE.MatchString(d.Bucket) {
			return bad("bucket", "%q is not an S3 bucket name (3-63 lowercase letters, digits, dots, dashes)", d.Bucket)
		}
		if d.Region != "" && !regionRE.MatchString(d.Region) {
			return bad("region", "%q is not an AWS region such as eu-west-1", d.Region)
		}
		if d.AccountID == "" {
			return bad("AWS account", "choose the cloud account whose role reaches the bucket")
		}
		in.ServiceAccountKey = ""
	case GCS:
		if !gcsBucketRE.MatchString(d.Bucket) {
			return bad("bucket", "%q is not a Cloud Storage bucket name", d.Bucket)
		}
		d.AccountID, d.Region = "", ""
		if k := strings.TrimSpace(in.ServiceAccountKey); k != "" && !strings.HasPrefix(k, "{") {
			return bad("service account key", "paste the JSON key file")
		}
	default:
		return bad("destination", "s3 or gcs")
	}
	return nil
}

// access resolves what reaches a destination: the S3 account's opened
// credentials or the GCS key (the input's, or the stored one).
func (s *Service) access(ctx context.Context, orgID string, d Destination, keyJSON string, sealedKey []byte) (Access, error) {
	var a Access
	switch d.Kind {
	case S3:
		acct, sealed, err := s.accts.Account(ctx, orgID, d.AccountID)
		if err != nil {
			if domain.IsNotFound(err) {
				return a, domain.Errorf(domain.Invalid, "AWS account: the organization has no cloud account %q", d.AccountID)
			}
			return a, err
		}
		if acct.Provider != connectors.AWS {
			return a, domain.Errorf(domain.Invalid, "AWS account: %s is not an AWS account", acct.Name)
		}
		a.Account = acct
		if len(sealed) > 0 {
			if s.sealer == nil {
				return a, domain.Errorf(domain.Unavailable, "credentials cannot be read: the server has no secret key")
			}
			if a.Credentials, err = connectors.OpenSecret(s.sealer, sealed); err != nil {
				return a, err
			}
		}
		if a.Credentials["role_arn"] == "" && a.Credentials["access_key_id"] == "" {
			return a, domain.Errorf(domain.Invalid,
				"AWS account %s has no role or keys: give it the role Truecost assumes (with its external ID) first", acct.Name)
		}
	case GCS:
		if keyJSON != "" {
			a.KeyJSON = []byte(keyJSON)
			break
		}
		if len(sealedKey) == 0 {
			return a, domain.Errorf(domain.Invalid, "service account key: paste the JSON key of the service account that writes to the bucket")
		}
		if s.sealer == nil {
			return a, domain.Errorf(domain.Unavailable, "credentials cannot be read: the server has no secret key")
		}
		sec, err := connectors.OpenSecret(s.sealer, sealedKey)
		if err != nil {
			return a, err
		}
		a.KeyJSON = []byte(sec["service_account_json"])
	}
	return a, nil
}

// Verify writes a small object to the destination in the input and says
// what happened, with the policy to grant and any overlap with a cloud
// billing export's bucket.
func (s *Service) Verify(ctx context.Context, p tenancy.Principal, orgID string, in Input) (Verification, error) {
	if err := s.rights.Write(ctx, p, orgID, what); err != nil {
		return Verification{}, err
	}
	org, err := s.orgs.OrganizationByID(ctx, orgID)
	if err != nil {
		return Verification{}, err
	}
	if err := s.normalize(org, &in); err != nil {
		return Verification{}, err
	}
	var sealed []byte
	if in.ID != "" {
		if _, sealed, err = s.store.ExportConfig(ctx, orgID, in.ID); err != nil {
			return Verification{}, err
		}
	}
	return s.verify(ctx, org, in, sealed)
}

func (s *Service) verify(ctx context.Context, org tenancy.Organization, in Input, sealed []byte) (Verification, error) {
	a, err := s.access(ctx, org.ID, in.Destination, strings.TrimSpace(in.ServiceAccountKey), sealed)
	if err != nil {
		return Verification{}, err
	}
	v := Verification{Policy: Policy(in.Destination, a)}
	overlap, err := s.overlap(ctx, org, in.Destination)
	if err != nil {
		return Verification{}, err
	}
	v.Overlap = overlap
	sink, err := s.sinks.Open(ctx, in.Destination, a)
	if err != nil {
		v.Problem, v.Message = BadCredentials, domain.ErrorMessage(err)
		return v, nil
	}
	key := joinKey(in.Destination.Prefix, "truecost-verify.txt")
	got := sink.Verify(ctx, key)
	v.OK, v.Problem, v.Message, v.Key = got.OK, got.Problem, got.Message, key
	if v.OK {
		v.Message = fmt.Sprintf("Truecost wrote %s to %s://%s: the destination is ready.", key, in.Destination.Kind, in.Destination.Bucket)
	}
	return v, nil
}

// Policy is the grant the export needs on d, filled in: for S3 an IAM
// policy allowing s3:PutObject on the bucket's objects (the only
// permission exports use), for GCS the objectCreator role binding.
func Policy(d Destination, a Access) string {
	switch d.Kind {
	case S3:
		resource := "arn:aws:s3:::" + d.Bucket + "/*"
		if d.Prefix != "" {
			resource = "arn:aws:s3:::" + d.Bucket + "/" + d.Prefix + "/*"
		}
		type statement struct {
			Sid, Effect, Action, Resource string
		}
		doc := struct {
			Version   string
			Statement []statement
		}{"2012-10-17", []statement{{"TruecostBillingExport", "Allow", "s3:PutObject", resource}}}
		b, _ := json.MarshalIndent(doc, "", "  ")
		return string(b)
	case GCS:
		member := "serviceAccount:SERVICE_ACCOUNT_EMAIL"
		var key struct {
			ClientEmail string `json:"client_email"`
		}
		if json.Unmarshal(a.KeyJSON, &key) == nil && key.ClientEmail != "" {
			member = "serviceAccount:" + key.ClientEmail
		}
		return fmt.Sprintf("gcloud storage buckets add-iam-policy-binding gs://%s --member=%s --role=roles/storage.objectCreator",
			d.Bucket, member)
	}
	return ""
}

// overlap finds a cloud billing export writing into the destination's
// bucket under an overlapping prefix: a connector's source, or a bucket
// provisioning created.
func (s *Service) overlap(ctx context.Context, org tenancy.Organization, d Destination) (*Overlap, error) {
	ids := []string{org.ID}
	if org.Kind == tenancy.Reseller {
		cs, err := s.orgs.CustomersOf(ctx, org.ID)
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
	}
	conns, err := s.conns.ListConnectors(ctx, ids)
	if err != nil {
		return nil, err
	}
	found := func(what, bucket, prefix string) *Overlap {
		return &Overlap{What: what, Message: fmt.Sprintf(
			"%s writes its billing files to %s://%s/%s: an export there would overwrite them, and they ours. Use a new bucket, or confirm to save anyway.",
			what, d.Kind, bucket, prefix)}
	}
	for _, c := range conns {
		var bucket, prefix string
		switch {
		case d.Kind == S3 && c.Provider == connectors.AWS:
			bucket, prefix = c.Config.Bucket, c.Config.Path
		case d.Kind == GCS && c.Provider == connectors.GCP:
			bucket = c.Config.ResultBucket
		default:
			continue
		}
		if bucket == d.Bucket && prefixesOverlap(prefix, d.Prefix) {
			return found(fmt.Sprintf("Billing connector %q", c.Name), bucket, strings.Trim(prefix, "/")), nil
		}
	}
	infras, err := s.accts.ListInfrastructure(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, inf := range infras {
		if !inf.Active() || (d.Kind == S3) != (inf.Provider == connectors.AWS) {
			continue
		}
		for _, r := range inf.Ledger {
			if strings.Contains(strings.ToLower(r.Kind), "bucket") && r.ID == d.Bucket {
				return found(fmt.Sprintf("The provisioned %s billing export", strings.ToUpper(string(inf.Provider))), r.ID, ""), nil
			}
		}
	}
	return nil, nil
}

// prefixesOverlap reports whether one folder contains the other.
func prefixesOverlap(a, b string) bool {
	a, b = strings.Trim(a, "/"), strings.Trim(b, "/")
	if a == "" || b == "" || a == b {
		return true
	}
	return strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// Save creates or changes a configuration. An enabled configuration is
// verified first and not saved unless the write succeeds; an overlap with
// a cloud billing export is a domain.Conflict unless the input confirms it.
func (s *Service) Save(ctx context.Context, p tenancy.Principal, orgID string, in Input) (Config, Verification, error) {
	if err := s.rights.Write(ctx, p, orgID, what); err != nil {
		return Config{}, Verification{}, err
	}
	org, err := s.orgs.OrganizationByID(ctx, orgID)
	if err != nil {
		return Config{}, Verification{}, err
	}
	if err := s.normalize(org, &in); err != nil {
		return Config{}, Verification{}, err
	}
	now := s.now().UTC()
	c := Config{ID: in.ID, OrgID: orgID, CreatedAt: now}
	var sealed []byte
	if in.ID != "" {
		if c, sealed, err = s.store.ExportConfig(ctx, orgID, in.ID); err != nil {
			return Config{}, Verification{}, err
		}
	} else {
		c.ID = s.newID()
	}
	v, err := s.verify(ctx, org, in, sealed)
	if err != nil {
		return Config{}, Verification{}, err
	}
	if in.Enabled && !v.OK {
		return Config{}, v, domain.Errorf(domain.Invalid, "verify the destination before enabling the export: %s", v.Message)
	}
	if v.Overlap != nil && !in.ConfirmOverwrite {
		return Config{}, v, domain.Errorf(domain.Conflict, "%s", v.Overlap.Message)
	}
	var newKey []byte
	if k := strings.TrimSpace(in.ServiceAccountKey); k != "" {
		if s.sealer == nil {
			return Config{}, v, domain.Errorf(domain.Unavailable, "credentials cannot be stored: the server has no secret key")
		}
		if newKey, err = connectors.SealSecret(s.sealer, connectors.Secret{"service_account_json": k}); err != nil {
			return Config{}, v, err
		}
	}
	if in.Destination.Kind != GCS {
		c.HasKey = false
	}
	c.Enabled, c.Providers, c.Basis, c.Format, c.Destination = in.Enabled, in.Providers, in.Basis, in.Format, in.Destination
	c.HasKey = c.HasKey || newKey != nil
	c.OverwriteConfirmed = v.Overlap != nil
	if v.OK {
		c.VerifiedAt = now
	}
	c.UpdatedAt = now
	if err := s.store.SaveConfig(ctx, c, newKey); err != nil {
		return Config{}, v, err
	}
	return c, v, nil
}

// Delete removes a configuration; its runs stay listed.
func (s *Service) Delete(ctx context.Context, p tenancy.Principal, orgID, id string) error {
	if err := s.rights.Write(ctx, p, orgID, what); err != nil {
		return err
	}
	return s.store.DeleteExportConfig(ctx, orgID, id)
}

// Runs lists the export runs of orgID, or with orgID empty of every
// organization the caller reads, newest first.
func (s *Service) Runs(ctx context.Context, p tenancy.Principal, orgID string, limit int) ([]Run, error) {
	ids, err := s.rights.Read(ctx, p, orgID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	return s.store.ExportRuns(ctx, ids, limit)
}

// Retry queues a failed run again, now.
func (s *Service) Retry(ctx context.Context, p tenancy.Principal, orgID, id string) (Run, error) {
	if err := s.rights.Write(ctx, p, orgID, what); err != nil {
		return Run{}, err
	}
	r, err := s.store.ExportRun(ctx, orgID, id)
	if err != nil {
		return Run{}, err
	}
	if r.Status != RunFailed {
		return Run{}, domain.Errorf(domain.Conflict, "only a failed export run can be retried (this one is %s)", r.Status)
	}
	now := s.now().UTC()
	r.Status, r.Attempts, r.NextAttemptAt, r.Reason, r.QueuedAt = RunQueued, 0, now, "retry", now
	r.StartedAt, r.FinishedAt = time.Time{}, time.Time{}
	if err := s.store.SaveExportRun(ctx, r); err != nil {
		return Run{}, err
	}
	return r, nil
}

// Queue queues the export of a customer's month of provider's data for
// every enabled configuration covering it (the customer's own and its
// reseller's), for reason ("ingest", "reprice", "close"). Only the system
// queues. It returns how many runs it added.
func (s *Service) Queue(ctx context.Context, p tenancy.Principal, customerID string, provider connectors.Provider, month time.Time, reason string) (int, error) {
	if err := s.rights.System(p, "queue billing exports"); err != nil {
		return 0, err
	}
	return s.queue(ctx, customerID, []connectors.Provider{provider}, []time.Time{month}, reason, nil)
}

// queue adds runs for each (provider, month) of a customer; only
// configurations whose basis passes keep (nil: all) count.
func (s *Service) queue(ctx context.Context, customerID string, providers []connectors.Provider, months []time.Time, reason string, keep func(Config) bool) (int, error) {
	org, err := s.orgs.OrganizationByID(ctx, customerID)
	if err != nil {
		return 0, err
	}
	owners := []string{org.ID}
	if org.ResellerID != "" {
		owners = append(owners, org.ResellerID)
	}
	cfgs, err := s.store.ExportConfigs(ctx, owners)
	if err != nil {
		return 0, err
	}
	now := s.now().UTC()
	added := 0
	for _, c := range cfgs {
		if !c.Enabled || (keep != nil && !keep(c)) {
			continue
		}
		for _, pr := range providers {
			if !c.Exports(pr) {
				continue
			}
			for _, m := range months {
				r := Run{ID: s.newID(), OrgID: c.OrgID, ConfigID: c.ID, CustomerID: org.ID, Provider: pr,
					Month: billing.MonthStart(m), Reason: reason, Status: RunQueued, NextAttemptAt: now,
					Basis: c.Basis, QueuedAt: now}
				ok, err := s.store.QueueExport(ctx, r)
				if err != nil {
					return added, err
				}
				if ok {
					added++
				}
			}
		}
	}
	return added, nil
}

// hookTimeout bounds the queueing that follows an ingestion.
const hookTimeout = 30 * time.Second

// IngestFinished queues the exports of the months a successful ingestion
// replaced or retired. It implements billing.IngestObserver; failures are
// logged (the catch-up sweep of the export job is not needed for them:
// the next ingestion queues again).
func (s *Service) IngestFinished(run billing.IngestionRun) {
	if run.Status != billing.RunSucceeded {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), hookTimeout)
	defer cancel()
	months := append(append([]time.Time(nil), run.Periods...), run.Retired...)
	if len(months) == 0 {
		return
	}
	providers := connectors.CloudProviders
	if c, _, err := s.conns.Connector(ctx, run.OrgID, run.ConnectorID); err == nil {
		if slices.Contains(connectors.CloudProviders, c.Provider) {
			providers = []connectors.Provider{c.Provider}
		} else if p := providerOfFormat(run.Format); p != "" {
			providers = []connectors.Provider{p}
		}
	}
	// The bill's charges (a support fee is a share of the spend) may
	// change with the data.
	providers = append(slices.Clip(providers), Charges)
	if _, err := s.queue(ctx, run.OrgID, providers, months, "ingest", nil); err != nil {
		s.log.ErrorContext(ctx, "queueing billing exports after an ingestion failed", "org", run.OrgID, "run", run.ID, "err", err)
	}
	next, err := s.carriedInto(ctx, run.OrgID, months)
	if err == nil && len(next) > 0 {
		_, err = s.queue(ctx, run.OrgID, providers, next, "restatement", func(c Config) bool { return c.Basis == AtResale })
	}
	if err != nil {
		s.log.ErrorContext(ctx, "queueing the resale exports a restatement changed failed", "org", run.OrgID, "run", run.ID, "err", err)
	}
}

// carriedInto returns the open months that restatements of the closed
// ones among months were carried into: for each, the first open month after
// it that has data. Their resale exports change with the adjustment lines.
func (s *Service) carriedInto(ctx context.Context, orgID string, months []time.Time) ([]time.Time, error) {
	if s.closed == nil {
		return nil, nil
	}
	var restated []time.Time
	for _, m := range months {
		closed, err := s.closed(ctx, orgID, m)
		if err != nil {
			return nil, err
		}
		if closed {
			restated = append(restated, m)
		}
	}
	if len(restated) == 0 {
		return nil, nil
	}
	have, err := s.store.ExportMonths(ctx, orgID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(have, func(a, b time.Time) int { return a.Compare(b) })
	var next []time.Time
	for _, m := range restated {
		for _, h := range have {
			if !h.After(m) {
				continue
			}
			closed, err := s.closed(ctx, orgID, h)
			if err != nil {
				return nil, err
			}
			if !closed {
				if !slices.ContainsFunc(next, h.Equal) {
					next = append(next, h)
				}
				break
			}
		}
	}
	return next, nil
}

// Repriced queues the resale exports of every month of a customer with
// data: pricing changed their amounts.
func (s *Service) Repriced(ctx context.Context, orgID string) {
	months, err := s.store.ExportMonths(ctx, orgID)
	if err == nil && len(months) > 0 {
		_, err = s.queue(ctx, orgID, withCharges(), months, "reprice", func(c Config) bool { return c.Basis == AtResale })
	}
	if err != nil {
		s.log.ErrorContext(ctx, "queueing billing exports after repricing failed", "org", orgID, "err", err)
	}
}

// MonthClosed queues the resale exports of a customer's month that has
// just closed: they are written once more, as the month closed, and then
// left alone (a later restatement shows in the next open month). It
// implements pricing's close observer; failures are logged.
func (s *Service) MonthClosed(ctx context.Context, orgID string, month time.Time) {
	_, err := s.queue(ctx, orgID, withCharges(), []time.Time{month}, "close", func(c Config) bool { return c.Basis == AtResale })
	if err != nil {
		s.log.ErrorContext(ctx, "queueing billing exports after a month closed failed", "org", orgID, "month", month.Format("2006-01"), "err", err)
	}
}

// withCharges lists every cloud and the bill's own charges.
func withCharges() []connectors.Provider {
	return append(slices.Clip(connectors.CloudProviders), Charges)
}

func providerOfFormat(format string) connectors.Provider {
	switch {
	case strings.HasPrefix(format, "aws"):
		return connectors.AWS
	case format == "azure":
		return connectors.Azure
	case format == "gcp":
		return connectors.GCP
	case format == "oci":
		return connectors.OCI
	}
	return ""
}

// ProviderNames are the FOCUS ProviderName values of a provider's data,
// lower-cased: the names billing.CloudNames gives the provider's cloud, so
// that an export and the CLOUD dimension of reports agree on whose rows
// are whose. Stores compare them case-insensitively.
func ProviderNames(p connectors.Provider) []string {
	if p == Charges {
		return []string{string(Charges)}
	}
	cloud, ok := providerClouds[p]
	if !ok {
		return nil
	}
	var names []string
	for name, c := range billing.CloudNames {
		if c == cloud {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// providerClouds maps a connector's provider to its CLOUD value.
var providerClouds = map[connectors.Provider]string{
	connectors.AWS: billing.CloudAWS, connectors.Azure: billing.CloudAzure,
	connectors.GCP: billing.CloudGCP, connectors.OCI: billing.CloudOCI,
}

func joinKey(parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p = strings.Trim(p, "/"); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "/")
}
