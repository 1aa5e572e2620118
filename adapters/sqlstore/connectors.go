package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/connectors"
)

var _ connectors.Store = (*Store)(nil)

type connectorRow struct {
	bun.BaseModel `bun:"table:billing_connectors"`
	OrgID         string     `bun:"org_id,pk"`
	ID            string     `bun:"id,pk"`
	Provider      string     `bun:"provider"`
	Name          string     `bun:"name"`
	Location      string     `bun:"location"`
	Format        string     `bun:"format"`
	Config        string     `bun:"config"`
	Secret        []byte     `bun:"secret"`
	ExternalID    string     `bun:"external_id"`
	Enabled       bool       `bun:"enabled"`
	Status        string     `bun:"status"`
	LastSyncAt    *time.Time `bun:"last_sync_at"`
	LastError     string     `bun:"last_error"`
	LastRows      int64      `bun:"last_rows"`
	LastPeriod    *time.Time `bun:"last_period"`
	CreatedAt     time.Time  `bun:"created_at"`
}

func newConnectorRow(c connectors.Connector, sealed []byte) (connectorRow, error) {
	cfg, err := json.Marshal(c.Config)
	if err != nil {
		return connectorRow{}, fmt.Errorf("encode connector config: %w", err)
	}
	return connectorRow{OrgID: c.OrgID, ID: c.ID, Provider: string(c.Provider), Name: c.Name, Location: c.Location,
		Format: c.Format, Config: string(cfg), Secret: sealed, ExternalID: c.ExternalID, Enabled: c.Enabled,
		Status: string(c.Status), LastError: c.LastError, CreatedAt: c.CreatedAt}, nil
}

func (r connectorRow) domain() (connectors.Connector, error) {
	c := connectors.Connector{ID: r.ID, OrgID: r.OrgID, Provider: connectors.Provider(r.Provider), Name: r.Name,
		Location: r.Location, Format: r.Format, ExternalID: r.ExternalID, HasSecret: len(r.Secret) > 0, Enabled: r.Enabled,
		Status: connectors.Status(r.Status), LastError: r.LastError, LastRows: r.LastRows, CreatedAt: r.CreatedAt.UTC()}
	if r.LastSyncAt != nil {
		c.LastSyncAt = r.LastSyncAt.UTC()
	}
	if r.LastPeriod != nil {
		c.LastPeriod = r.LastPeriod.UTC()
	}
	if err := json.Unmarshal([]byte(r.Config), &c.Config); err != nil {
		return c, fmt.Errorf("connector %s config: %w", r.ID, err)
	}
	return c, nil
}

func connectorList(rows []connectorRow) ([]connectors.Connector, error) {
	out := make([]connectors.Connector, 0, len(rows))
	for _, r := range rows {
		c, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// CreateConnector stores a new connector.
func (s *Store) CreateConnector(ctx context.Context, c connectors.Connector, sealed []byte) error {
	row, err := newConnectorRow(c, sealed)
	if err != nil {
		return err
	}
	_, err = s.db.NewInsert().Model(&row).Exec(ctx)
	if domain.ErrorCode(mapErr(err, "")) == domain.Conflict {
		return domain.Errorf(domain.Conflict, "a connector for %s already exists in this organization", c.Location)
	}
	return mapErr(err, "connector "+c.Name)
}

// UpdateConnector changes one connector inside a transaction that holds
// its row: fn edits the stored connector and returns the sealed secret to
// keep. Status fields are not written.
func (s *Store) UpdateConnector(ctx context.Context, orgID, id string, fn func(c *connectors.Connector, sealed []byte) ([]byte, error)) (connectors.Connector, error) {
	var out connectors.Connector
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row connectorRow
		q := tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id)
		if s.dialect == Postgres {
			// SQLite transactions here begin immediate and so already
			// hold the write lock.
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			return mapErr(err, "connector")
		}
		c, err := row.domain()
		if err != nil {
			return err
		}
		sealed, err := fn(&c, row.Secret)
		if err != nil {
			return err
		}
		c.OrgID, c.ID = orgID, id
		upd, err := newConnectorRow(c, sealed)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(&upd).Column("name", "location", "format", "config", "enabled", "secret").
			WherePK().Exec(ctx); err != nil {
			return mapErr(err, "connector "+c.Name)
		}
		c.HasSecret = len(sealed) > 0
		out = c
		return nil
	})
	return out, err
}

// DeleteConnector removes a connector of an organization.
func (s *Store) DeleteConnector(ctx context.Context, orgID, id string) error {
	res, err := s.db.NewDelete().Model((*connectorRow)(nil)).Where("org_id = ? AND id = ?", orgID, id).Exec(ctx)
	if err != nil {
		return mapErr(err, "connector")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return domain.Errorf(domain.NotFound, "connector not found")
	}
	return nil
}

// Connector returns one connector of an organization and its sealed secret.
func (s *Store) Connector(ctx context.Context, orgID, id string) (connectors.Connector, []byte, error) {
	var row connectorRow
	if err := s.db.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id).Scan(ctx); err != nil {
		return connectors.Connector{}, nil, mapErr(err, "connector")
	}
	c, err := row.domain()
	return c, row.Secret, err
}

// ConnectorByLocation finds an organization's connector for a location.
func (s *Store) ConnectorByLocation(ctx context.Context, orgID string, provider connectors.Provider, location string) (connectors.Connector, error) {
	var row connectorRow
	err := s.db.NewSelect().Model(&row).
		Where("org_id = ? AND provider = ? AND location = ?", orgID, string(provider), location).Scan(ctx)
	if err != nil {
		return connectors.Connector{}, mapErr(err, "connector")
	}
	return row.domain()
}

// ListConnectors returns the connectors of the organizations by name.
func (s *Store) ListConnectors(ctx context.Context, orgIDs []string) ([]connectors.Connector, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	var rows []connectorRow
	if err := s.db.NewSelect().Model(&rows).Where("org_id IN (?)", bun.In(orgIDs)).Order("name", "id").Scan(ctx); err != nil {
		return nil, mapErr(err, "connectors")
	}
	return connectorList(rows)
}

// EnabledConnectors lists the enabled connectors of all organizations.
func (s *Store) EnabledConnectors(ctx context.Context) ([]connectors.Connector, error) {
	var rows []connectorRow
	if err := s.db.NewSelect().Model(&rows).Where("enabled").Order("org_id", "id").Scan(ctx); err != nil {
		return nil, mapErr(err, "connectors")
	}
	return connectorList(rows)
}

// RecordSync stores the outcome of a connector's sync.
func (s *Store) RecordSync(ctx context.Context, orgID, id string, r connectors.SyncResult) error {
	q := s.db.NewUpdate().Model((*connectorRow)(nil)).
		Set("status = ?", string(r.Status)).Set("last_sync_at = ?", r.At.UTC()).Set("last_error = ?", r.Error).
		Set("last_rows = ?", r.Rows)
	if !r.LastPeriod.IsZero() {
		q = q.Set("last_period = ?", r.LastPeriod.UTC())
	}
	_, err := q.Where("org_id = ? AND id = ?", orgID, id).Exec(ctx)
	return mapErr(err, "connector")
}
