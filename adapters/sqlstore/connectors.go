package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

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
	Status        string     `bun:"status"`
	LastSyncAt    *time.Time `bun:"last_sync_at"`
	LastError     string     `bun:"last_error"`
	CreatedAt     time.Time  `bun:"created_at"`
}

func (r connectorRow) domain() connectors.Connector {
	c := connectors.Connector{ID: r.ID, OrgID: r.OrgID, Provider: connectors.Provider(r.Provider), Name: r.Name,
		Location: r.Location, Format: r.Format, Status: connectors.Status(r.Status), LastError: r.LastError, CreatedAt: r.CreatedAt.UTC()}
	if r.LastSyncAt != nil {
		c.LastSyncAt = r.LastSyncAt.UTC()
	}
	return c
}

// CreateConnector stores a new connector.
func (s *Store) CreateConnector(ctx context.Context, c connectors.Connector) error {
	row := connectorRow{OrgID: c.OrgID, ID: c.ID, Provider: string(c.Provider), Name: c.Name, Location: c.Location,
		Format: c.Format, Status: string(c.Status), LastError: c.LastError, CreatedAt: c.CreatedAt}
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	return mapErr(err, "connector "+c.Name)
}

// ConnectorByLocation finds an organization's connector for a location.
func (s *Store) ConnectorByLocation(ctx context.Context, orgID string, provider connectors.Provider, location string) (connectors.Connector, error) {
	var row connectorRow
	err := s.db.NewSelect().Model(&row).
		Where("org_id = ? AND provider = ? AND location = ?", orgID, string(provider), location).Scan(ctx)
	return row.domain(), mapErr(err, "connector")
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
	out := make([]connectors.Connector, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// RecordSync stores the outcome of a connector's sync.
func (s *Store) RecordSync(ctx context.Context, orgID, id string, status connectors.Status, at time.Time, lastError string) error {
	_, err := s.db.NewUpdate().Model((*connectorRow)(nil)).
		Set("status = ?", string(status)).Set("last_sync_at = ?", at.UTC()).Set("last_error = ?", lastError).
		Where("org_id = ? AND id = ?", orgID, id).Exec(ctx)
	return mapErr(err, "connector")
}
