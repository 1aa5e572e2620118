package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
	"github.com/truecost/truecost/domain/exports"
)

var _ exports.Store = (*Store)(nil)

type exportConfigRow struct {
	bun.BaseModel      `bun:"table:export_configs"`
	OrgID              string     `bun:"org_id,pk"`
	ID                 string     `bun:"id,pk"`
	Enabled            bool       `bun:"enabled"`
	Providers          string     `bun:"providers"`
	Basis              string     `bun:"basis"`
	Format             string     `bun:"format"`
	Kind               string     `bun:"kind"`
	Bucket             string     `bun:"bucket"`
	Prefix             string     `bun:"prefix"`
	Region             string     `bun:"region"`
	AccountID          string     `bun:"account_id"`
	SealedKey          []byte     `bun:"sealed_key"`
	OverwriteConfirmed bool       `bun:"overwrite_confirmed"`
	VerifiedAt         *time.Time `bun:"verified_at"`
	CreatedAt          time.Time  `bun:"created_at"`
	UpdatedAt          time.Time  `bun:"updated_at"`
}

func (r exportConfigRow) domain() exports.Config {
	c := exports.Config{ID: r.ID, OrgID: r.OrgID, Enabled: r.Enabled, Basis: exports.Basis(r.Basis),
		Format: exports.Format(r.Format), HasKey: len(r.SealedKey) > 0, OverwriteConfirmed: r.OverwriteConfirmed,
		Destination: exports.Destination{Kind: exports.DestinationKind(r.Kind), Bucket: r.Bucket, Prefix: r.Prefix,
			Region: r.Region, AccountID: r.AccountID},
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	for _, p := range strings.Split(r.Providers, ",") {
		if p != "" {
			c.Providers = append(c.Providers, connectors.Provider(p))
		}
	}
	if r.VerifiedAt != nil {
		c.VerifiedAt = r.VerifiedAt.UTC()
	}
	return c
}

// SaveConfig inserts or replaces an export configuration; a nil sealedKey
// keeps the stored one.
func (s *Store) SaveConfig(ctx context.Context, c exports.Config, sealedKey []byte) error {
	ps := make([]string, len(c.Providers))
	for i, p := range c.Providers {
		ps[i] = string(p)
	}
	row := exportConfigRow{OrgID: c.OrgID, ID: c.ID, Enabled: c.Enabled, Providers: strings.Join(ps, ","),
		Basis: string(c.Basis), Format: string(c.Format), Kind: string(c.Destination.Kind), Bucket: c.Destination.Bucket,
		Prefix: c.Destination.Prefix, Region: c.Destination.Region, AccountID: c.Destination.AccountID,
		SealedKey: sealedKey, OverwriteConfirmed: c.OverwriteConfirmed, CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC()}
	if !c.VerifiedAt.IsZero() {
		v := c.VerifiedAt.UTC()
		row.VerifiedAt = &v
	}
	q := s.db.NewInsert().Model(&row).On("CONFLICT (org_id, id) DO UPDATE").
		Set("enabled = EXCLUDED.enabled").Set("providers = EXCLUDED.providers").Set("basis = EXCLUDED.basis").
		Set("format = EXCLUDED.format").Set("kind = EXCLUDED.kind").Set("bucket = EXCLUDED.bucket").
		Set("prefix = EXCLUDED.prefix").Set("region = EXCLUDED.region").Set("account_id = EXCLUDED.account_id").
		Set("overwrite_confirmed = EXCLUDED.overwrite_confirmed").Set("verified_at = EXCLUDED.verified_at").
		Set("updated_at = EXCLUDED.updated_at")
	switch {
	case sealedKey != nil:
		q = q.Set("sealed_key = EXCLUDED.sealed_key")
	case c.Destination.Kind != exports.GCS:
		q = q.Set("sealed_key = NULL")
	}
	_, err := q.Exec(ctx)
	return mapErr(err, "export configuration")
}

// ExportConfig returns one configuration and its sealed key.
func (s *Store) ExportConfig(ctx context.Context, orgID, id string) (exports.Config, []byte, error) {
	var row exportConfigRow
	if err := s.db.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id).Scan(ctx); err != nil {
		return exports.Config{}, nil, mapErr(err, fmt.Sprintf("export configuration %q", id))
	}
	return row.domain(), row.SealedKey, nil
}

// ExportConfigs lists the configurations of the organizations.
func (s *Store) ExportConfigs(ctx context.Context, orgIDs []string) ([]exports.Config, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	var rows []exportConfigRow
	if err := s.db.NewSelect().Model(&rows).Where("org_id IN (?)", bun.In(orgIDs)).Order("org_id", "created_at", "id").
		Scan(ctx); err != nil {
		return nil, mapErr(err, "export configurations")
	}
	out := make([]exports.Config, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// DeleteExportConfig removes a configuration.
func (s *Store) DeleteExportConfig(ctx context.Context, orgID, id string) error {
	res, err := s.db.NewDelete().Model((*exportConfigRow)(nil)).Where("org_id = ? AND id = ?", orgID, id).Exec(ctx)
	if err != nil {
		return mapErr(err, "delete export configuration")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.NotFound, "export configuration %q not found", id)
	}
	return nil
}

type exportRunRow struct {
	bun.BaseModel `bun:"table:export_runs"`
	OrgID         string     `bun:"org_id,pk"`
	ID            string     `bun:"id,pk"`
	ConfigID      string     `bun:"config_id"`
	CustomerID    string     `bun:"customer_id"`
	Provider      string     `bun:"provider"`
	Month         time.Time  `bun:"month"`
	Reason        string     `bun:"reason"`
	Status        string     `bun:"status"`
	Attempts      int        `bun:"attempts"`
	NextAttemptAt time.Time  `bun:"next_attempt_at"`
	Basis         string     `bun:"basis"`
	Layout        string     `bun:"layout"`
	Assembly      string     `bun:"assembly"`
	Files         string     `bun:"files"`
	Rows          int64      `bun:"row_count"`
	Totals        string     `bun:"totals"`
	Sources       string     `bun:"sources"`
	Error         string     `bun:"error"`
	QueuedAt      time.Time  `bun:"queued_at"`
	StartedAt     *time.Time `bun:"started_at"`
	FinishedAt    *time.Time `bun:"finished_at"`
}

func newExportRunRow(r exports.Run) exportRunRow {
	files, _ := json.Marshal(r.Files)
	if r.Files == nil {
		files = []byte("[]")
	}
	totals := make([]moneyJSON, len(r.Totals))
	for i, m := range r.Totals {
		totals[i] = moneyJSON{Amount: m.Amount, Currency: m.Currency}
	}
	ts, _ := json.Marshal(totals)
	srcs, _ := json.Marshal(r.Sources)
	if r.Sources == nil {
		srcs = []byte("[]")
	}
	return exportRunRow{OrgID: r.OrgID, ID: r.ID, ConfigID: r.ConfigID, CustomerID: r.CustomerID, Provider: string(r.Provider),
		Month: r.Month.UTC(), Reason: r.Reason, Status: string(r.Status), Attempts: r.Attempts,
		NextAttemptAt: r.NextAttemptAt.UTC(), Basis: string(r.Basis), Layout: r.Layout, Assembly: r.Assembly,
		Files: string(files), Rows: r.Rows, Totals: string(ts), Sources: string(srcs), Error: r.Error,
		QueuedAt: r.QueuedAt.UTC(), StartedAt: optTime(r.StartedAt), FinishedAt: optTime(r.FinishedAt)}
}

func (r exportRunRow) domain() (exports.Run, error) {
	run := exports.Run{ID: r.ID, OrgID: r.OrgID, ConfigID: r.ConfigID, CustomerID: r.CustomerID,
		Provider: connectors.Provider(r.Provider), Month: r.Month.UTC(), Reason: r.Reason, Status: exports.RunStatus(r.Status),
		Attempts: r.Attempts, NextAttemptAt: r.NextAttemptAt.UTC(), Basis: exports.Basis(r.Basis), Layout: r.Layout,
		Assembly: r.Assembly, Rows: r.Rows, Error: r.Error, QueuedAt: r.QueuedAt.UTC()}
	if r.StartedAt != nil {
		run.StartedAt = r.StartedAt.UTC()
	}
	if r.FinishedAt != nil {
		run.FinishedAt = r.FinishedAt.UTC()
	}
	if err := json.Unmarshal([]byte(r.Files), &run.Files); err != nil {
		return run, fmt.Errorf("export run %s files: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Sources), &run.Sources); err != nil {
		return run, fmt.Errorf("export run %s sources: %w", r.ID, err)
	}
	var totals []moneyJSON
	if err := json.Unmarshal([]byte(r.Totals), &totals); err != nil {
		return run, fmt.Errorf("export run %s totals: %w", r.ID, err)
	}
	for _, m := range totals {
		run.Totals = append(run.Totals, billing.Money{Amount: m.Amount, Currency: m.Currency})
	}
	return run, nil
}

// QueueExport adds a queued run unless the same export already waits.
func (s *Store) QueueExport(ctx context.Context, r exports.Run) (bool, error) {
	added := false
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		n, err := tx.NewSelect().Model((*exportRunRow)(nil)).
			Where("org_id = ? AND config_id = ? AND customer_id = ? AND provider = ? AND month = ? AND status = ?",
				r.OrgID, r.ConfigID, r.CustomerID, string(r.Provider), r.Month.UTC(), string(exports.RunQueued)).Count(ctx)
		if err != nil || n > 0 {
			return err
		}
		row := newExportRunRow(r)
		if _, err := tx.NewInsert().Model(&row).Exec(ctx); err != nil {
			return err
		}
		added = true
		return nil
	})
	return added, mapErr(err, "queue export")
}

// ClaimExports marks due queued runs as running and returns them.
func (s *Store) ClaimExports(ctx context.Context, now time.Time, limit int) ([]exports.Run, error) {
	var rows []exportRunRow
	if err := s.db.NewSelect().Model(&rows).Where("status = ? AND next_attempt_at <= ?", string(exports.RunQueued), now.UTC()).
		Order("next_attempt_at", "org_id", "id").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, mapErr(err, "due exports")
	}
	var out []exports.Run
	for _, row := range rows {
		res, err := s.db.NewUpdate().Model((*exportRunRow)(nil)).Set("status = ?", string(exports.RunRunning)).
			Set("started_at = ?", now.UTC()).
			Where("org_id = ? AND id = ? AND status = ?", row.OrgID, row.ID, string(exports.RunQueued)).Exec(ctx)
		if err != nil {
			return out, mapErr(err, "claim export")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			continue // another replica took it
		}
		r, err := row.domain()
		if err != nil {
			return out, err
		}
		r.Status = exports.RunRunning
		out = append(out, r)
	}
	return out, nil
}

// RequeueStaleExports queues again the runs left running since before
// startedBefore.
func (s *Store) RequeueStaleExports(ctx context.Context, startedBefore, now time.Time) (int, error) {
	res, err := s.db.NewUpdate().Model((*exportRunRow)(nil)).Set("status = ?", string(exports.RunQueued)).
		Set("next_attempt_at = ?", now.UTC()).
		Where("status = ? AND started_at < ?", string(exports.RunRunning), startedBefore.UTC()).Exec(ctx)
	if err != nil {
		return 0, mapErr(err, "requeue stale exports")
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// SaveExportRun writes a run whole.
func (s *Store) SaveExportRun(ctx context.Context, r exports.Run) error {
	row := newExportRunRow(r)
	res, err := s.db.NewUpdate().Model(&row).WherePK().Exec(ctx)
	if err != nil {
		return mapErr(err, "save export run")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.NotFound, "export run %q not found", r.ID)
	}
	return nil
}

// ExportRun returns one run.
func (s *Store) ExportRun(ctx context.Context, orgID, id string) (exports.Run, error) {
	var row exportRunRow
	if err := s.db.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id).Scan(ctx); err != nil {
		return exports.Run{}, mapErr(err, fmt.Sprintf("export run %q", id))
	}
	return row.domain()
}

// ExportRuns lists the organizations' runs, newest first.
func (s *Store) ExportRuns(ctx context.Context, orgIDs []string, limit int) ([]exports.Run, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	var rows []exportRunRow
	if err := s.db.NewSelect().Model(&rows).Where("org_id IN (?)", bun.In(orgIDs)).
		OrderExpr("queued_at DESC, id DESC").Limit(int64(limit)).Scan(ctx); err != nil {
		return nil, mapErr(err, "export runs")
	}
	out := make([]exports.Run, 0, len(rows))
	for _, row := range rows {
		r, err := row.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
