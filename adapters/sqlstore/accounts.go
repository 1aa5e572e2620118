package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/uptrace/bun"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/connectors"
)

var _ accounts.Store = (*Store)(nil)

type accountRow struct {
	bun.BaseModel     `bun:"table:cloud_accounts"`
	OrgID             string     `bun:"org_id,pk"`
	ID                string     `bun:"id,pk"`
	Provider          string     `bun:"provider"`
	Name              string     `bun:"name"`
	ProviderAccountID string     `bun:"provider_account_id"`
	BillingAccountID  string     `bun:"billing_account_id"`
	ExternalID        string     `bun:"external_id"`
	Credentials       []byte     `bun:"credentials"`
	Status            string     `bun:"status"`
	StatusDetail      string     `bun:"status_detail"`
	StatusSince       time.Time  `bun:"status_since"`
	LastCheckedAt     *time.Time `bun:"last_checked_at"`
	CreatedAt         time.Time  `bun:"created_at"`
	UpdatedAt         time.Time  `bun:"updated_at"`
	// HasCredentials is read instead of the credentials when listing.
	HasCredentials bool `bun:"has_credentials,scanonly"`
}

func (r accountRow) domain() accounts.Account {
	a := accounts.Account{ID: r.ID, OrgID: r.OrgID, Provider: connectors.Provider(r.Provider), Name: r.Name,
		ProviderAccountID: r.ProviderAccountID, BillingAccountID: r.BillingAccountID, ExternalID: r.ExternalID,
		HasCredentials: r.HasCredentials || len(r.Credentials) > 0, Status: accounts.Status(r.Status),
		StatusDetail: r.StatusDetail, StatusSince: r.StatusSince.UTC(), CreatedAt: r.CreatedAt.UTC()}
	if r.LastCheckedAt != nil {
		a.LastCheckedAt = r.LastCheckedAt.UTC()
	}
	return a
}

type statusChangeRow struct {
	bun.BaseModel `bun:"table:cloud_account_status_changes"`
	OrgID         string    `bun:"org_id,pk"`
	AccountID     string    `bun:"account_id,pk"`
	Seq           int64     `bun:"seq,pk"`
	FromStatus    string    `bun:"from_status"`
	ToStatus      string    `bun:"to_status"`
	Detail        string    `bun:"detail"`
	ChangedAt     time.Time `bun:"changed_at"`
}

type infraRow struct {
	bun.BaseModel `bun:"table:billing_infrastructure"`
	OrgID         string     `bun:"org_id,pk"`
	Provider      string     `bun:"provider,pk"`
	ID            string     `bun:"id"`
	AccountID     string     `bun:"account_id"`
	Settings      string     `bun:"settings"`
	State         string     `bun:"state"`
	Error         string     `bun:"error"`
	Ledger        string     `bun:"ledger"`
	ConnectorID   string     `bun:"connector_id"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
	ProvisionedAt *time.Time `bun:"provisioned_at"`
}

func newInfraRow(inf accounts.Infrastructure) (infraRow, error) {
	settings, err := json.Marshal(inf.Settings)
	if err != nil {
		return infraRow{}, fmt.Errorf("encode infrastructure settings: %w", err)
	}
	ledger := inf.Ledger
	if ledger == nil {
		ledger = []accounts.Resource{}
	}
	led, err := json.Marshal(ledger)
	if err != nil {
		return infraRow{}, fmt.Errorf("encode infrastructure ledger: %w", err)
	}
	row := infraRow{OrgID: inf.OrgID, Provider: string(inf.Provider), ID: inf.ID, AccountID: inf.AccountID,
		Settings: string(settings), State: string(inf.State), Error: inf.Error, Ledger: string(led),
		ConnectorID: inf.ConnectorID, CreatedAt: inf.CreatedAt.UTC(), UpdatedAt: inf.UpdatedAt.UTC()}
	if !inf.ProvisionedAt.IsZero() {
		t := inf.ProvisionedAt.UTC()
		row.ProvisionedAt = &t
	}
	return row, nil
}

func (r infraRow) domain() (accounts.Infrastructure, error) {
	inf := accounts.Infrastructure{ID: r.ID, OrgID: r.OrgID, Provider: connectors.Provider(r.Provider), AccountID: r.AccountID,
		State: accounts.State(r.State), Error: r.Error, ConnectorID: r.ConnectorID, CreatedAt: r.CreatedAt.UTC(),
		UpdatedAt: r.UpdatedAt.UTC()}
	if r.ProvisionedAt != nil {
		inf.ProvisionedAt = r.ProvisionedAt.UTC()
	}
	if err := json.Unmarshal([]byte(r.Settings), &inf.Settings); err != nil {
		return inf, fmt.Errorf("infrastructure %s settings: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(r.Ledger), &inf.Ledger); err != nil {
		return inf, fmt.Errorf("infrastructure %s ledger: %w", r.ID, err)
	}
	if len(inf.Ledger) == 0 {
		inf.Ledger = nil
	}
	return inf, nil
}

// accountNoun names what a provider account ID identifies, for messages.
func accountNoun(p connectors.Provider) string {
	switch p {
	case connectors.AWS:
		return "an AWS account"
	case connectors.Azure:
		return "an Azure subscription"
	case connectors.GCP:
		return "a Google Cloud project"
	case connectors.OCI:
		return "an OCI tenancy"
	}
	return "an account"
}

// duplicateAccount turns a unique violation into the Conflict users see.
func duplicateAccount(err error, a accounts.Account) error {
	if domain.ErrorCode(mapErr(err, "")) == domain.Conflict {
		return domain.Errorf(domain.Conflict, "%s %s already exists in this organization", accountNoun(a.Provider), a.ProviderAccountID)
	}
	return mapErr(err, "cloud account "+a.Name)
}

// CreateAccount stores a new account with its sealed credentials (nil
// when there are none). A second account with the same provider account ID
// in the organization is a domain.Conflict.
func (s *Store) CreateAccount(ctx context.Context, a accounts.Account, sealed []byte) error {
	row := accountRow{OrgID: a.OrgID, ID: a.ID, Provider: string(a.Provider), Name: a.Name,
		ProviderAccountID: a.ProviderAccountID, BillingAccountID: a.BillingAccountID, ExternalID: a.ExternalID,
		Credentials: sealed, Status: string(a.Status), StatusDetail: a.StatusDetail, StatusSince: a.StatusSince.UTC(),
		CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.CreatedAt.UTC()}
	if !a.LastCheckedAt.IsZero() {
		t := a.LastCheckedAt.UTC()
		row.LastCheckedAt = &t
	}
	_, err := s.db.NewInsert().Model(&row).Exec(ctx)
	if err != nil {
		return duplicateAccount(err, a)
	}
	return nil
}

// UpdateAccount changes one account inside a transaction that holds its
// row: fn edits the name and IDs and returns the sealed credentials to
// keep. Status fields are left alone.
func (s *Store) UpdateAccount(ctx context.Context, orgID, id string, fn func(a *accounts.Account, sealed []byte) ([]byte, error)) (accounts.Account, error) {
	var out accounts.Account
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var row accountRow
		q := tx.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id)
		if s.dialect == Postgres {
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx); err != nil {
			return mapErr(err, "cloud account")
		}
		a := row.domain()
		sealed, err := fn(&a, row.Credentials)
		if err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model((*accountRow)(nil)).
			Set("name = ?", a.Name).Set("provider_account_id = ?", a.ProviderAccountID).
			Set("billing_account_id = ?", a.BillingAccountID).Set("credentials = ?", sealed).
			Set("updated_at = ?", time.Now().UTC()).
			Where("org_id = ? AND id = ?", orgID, id).Exec(ctx)
		if err != nil {
			return duplicateAccount(err, a)
		}
		a.HasCredentials = len(sealed) > 0
		out = a
		return nil
	})
	return out, err
}

// DeleteAccount removes an account of an organization and its status
// history.
func (s *Store) DeleteAccount(ctx context.Context, orgID, id string) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The foreign key cascades too; deleting explicitly keeps the
		// history gone where foreign keys are not enforced.
		if _, err := tx.NewDelete().Model((*statusChangeRow)(nil)).
			Where("org_id = ? AND account_id = ?", orgID, id).Exec(ctx); err != nil {
			return mapErr(err, "cloud account status history")
		}
		res, err := tx.NewDelete().Model((*accountRow)(nil)).Where("org_id = ? AND id = ?", orgID, id).Exec(ctx)
		if err != nil {
			return mapErr(err, "cloud account")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return domain.Errorf(domain.NotFound, "cloud account not found")
		}
		return nil
	})
}

// Account returns one account of an organization and its sealed
// credentials, or NotFound.
func (s *Store) Account(ctx context.Context, orgID, id string) (accounts.Account, []byte, error) {
	var row accountRow
	if err := s.db.NewSelect().Model(&row).Where("org_id = ? AND id = ?", orgID, id).Scan(ctx); err != nil {
		return accounts.Account{}, nil, mapErr(err, "cloud account")
	}
	return row.domain(), row.Credentials, nil
}

// ListAccounts lists the accounts of the organizations by name, without
// reading their credentials.
func (s *Store) ListAccounts(ctx context.Context, orgIDs []string) ([]accounts.Account, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	var rows []accountRow
	err := s.db.NewSelect().Model(&rows).ExcludeColumn("credentials").
		ColumnExpr("(credentials IS NOT NULL) AS has_credentials").
		Where("org_id IN (?)", bun.In(orgIDs)).Order("name", "id").Scan(ctx)
	if err != nil {
		return nil, mapErr(err, "cloud accounts")
	}
	out := make([]accounts.Account, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// AccountOrgs lists every organization that has at least one account.
func (s *Store) AccountOrgs(ctx context.Context) ([]string, error) {
	var ids []string
	err := s.db.NewSelect().Model((*accountRow)(nil)).Distinct().Column("org_id").Order("org_id").Scan(ctx, &ids)
	if err != nil {
		return nil, mapErr(err, "cloud account organizations")
	}
	return ids, nil
}

// RecordStatus stores a check's outcome. When the status differs from the
// stored one it appends a status change and moves status_since, in the same
// transaction; the account row is locked first so concurrent checks number
// the changes one after the other.
func (s *Store) RecordStatus(ctx context.Context, orgID, id string, u accounts.StatusUpdate) error {
	at := u.At.UTC()
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var current string
		q := tx.NewSelect().Model((*accountRow)(nil)).Column("status").Where("org_id = ? AND id = ?", orgID, id)
		if s.dialect == Postgres {
			// SQLite transactions here begin immediate and so already hold
			// the write lock.
			q = q.For("UPDATE")
		}
		if err := q.Scan(ctx, &current); err != nil {
			return mapErr(err, "cloud account")
		}
		upd := tx.NewUpdate().Model((*accountRow)(nil)).
			Set("status_detail = ?", u.Detail).Set("last_checked_at = ?", at)
		if current != string(u.Status) {
			var last int64
			if err := tx.NewSelect().Model((*statusChangeRow)(nil)).ColumnExpr("COALESCE(MAX(seq), 0)").
				Where("org_id = ? AND account_id = ?", orgID, id).Scan(ctx, &last); err != nil {
				return mapErr(err, "cloud account status history")
			}
			change := statusChangeRow{OrgID: orgID, AccountID: id, Seq: last + 1, FromStatus: current,
				ToStatus: string(u.Status), Detail: u.Detail, ChangedAt: at}
			if _, err := tx.NewInsert().Model(&change).Exec(ctx); err != nil {
				return mapErr(err, "cloud account status change")
			}
			upd = upd.Set("status = ?", string(u.Status)).Set("status_since = ?", at)
		}
		_, err := upd.Where("org_id = ? AND id = ?", orgID, id).Exec(ctx)
		return mapErr(err, "cloud account")
	})
}

// StatusHistory returns the status changes of the accounts of accountIDs
// within orgIDs, newest first and at most limit per account, keyed by
// account ID, in one query.
func (s *Store) StatusHistory(ctx context.Context, orgIDs, accountIDs []string, limit int) (map[string][]accounts.StatusChange, error) {
	out := make(map[string][]accounts.StatusChange, len(accountIDs))
	if len(orgIDs) == 0 || len(accountIDs) == 0 {
		return out, nil
	}
	if limit <= 0 {
		limit = 50
	}
	ranked := s.db.NewSelect().Model((*statusChangeRow)(nil)).Column("*").
		ColumnExpr("ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY seq DESC) AS rn").
		Where("org_id IN (?) AND account_id IN (?)", bun.In(orgIDs), bun.In(accountIDs))
	var rows []statusChangeRow
	if err := s.db.NewSelect().TableExpr("(?) AS h", ranked).ColumnExpr("h.org_id, h.account_id, h.seq, h.from_status, h.to_status, h.detail, h.changed_at").
		Where("h.rn <= ?", limit).OrderExpr("h.account_id, h.seq DESC").Scan(ctx, &rows); err != nil {
		return nil, mapErr(err, "cloud account status history")
	}
	for _, r := range rows {
		out[r.AccountID] = append(out[r.AccountID], accounts.StatusChange{AccountID: r.AccountID,
			From: accounts.Status(r.FromStatus), To: accounts.Status(r.ToStatus), Detail: r.Detail, At: r.ChangedAt.UTC()})
	}
	return out, nil
}

// Infrastructure returns the organization's infrastructure for a provider,
// or NotFound.
func (s *Store) Infrastructure(ctx context.Context, orgID string, p connectors.Provider) (accounts.Infrastructure, error) {
	var row infraRow
	if err := s.db.NewSelect().Model(&row).Where("org_id = ? AND provider = ?", orgID, string(p)).Scan(ctx); err != nil {
		if domain.IsNotFound(mapErr(err, "")) {
			return accounts.Infrastructure{}, domain.Errorf(domain.NotFound, "no %s billing infrastructure", accounts.ProviderLabel(p))
		}
		return accounts.Infrastructure{}, mapErr(err, "billing infrastructure")
	}
	return row.domain()
}

// ListInfrastructure returns the infrastructure of the organizations, by
// organization and provider.
func (s *Store) ListInfrastructure(ctx context.Context, orgIDs []string) ([]accounts.Infrastructure, error) {
	if len(orgIDs) == 0 {
		return nil, nil
	}
	var rows []infraRow
	if err := s.db.NewSelect().Model(&rows).Where("org_id IN (?)", bun.In(orgIDs)).
		Order("org_id", "provider").Scan(ctx); err != nil {
		return nil, mapErr(err, "billing infrastructure")
	}
	out := make([]accounts.Infrastructure, 0, len(rows))
	for _, r := range rows {
		inf, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, inf)
	}
	return out, nil
}

// SaveInfrastructure inserts or replaces the organization's record for the
// provider, ledger included, in one statement.
func (s *Store) SaveInfrastructure(ctx context.Context, inf accounts.Infrastructure) error {
	row, err := newInfraRow(inf)
	if err != nil {
		return err
	}
	_, err = s.db.NewInsert().Model(&row).
		On("CONFLICT (org_id, provider) DO UPDATE").
		Set("id = EXCLUDED.id").Set("account_id = EXCLUDED.account_id").Set("settings = EXCLUDED.settings").
		Set("state = EXCLUDED.state").Set("error = EXCLUDED.error").Set("ledger = EXCLUDED.ledger").
		Set("connector_id = EXCLUDED.connector_id").Set("created_at = EXCLUDED.created_at").
		Set("updated_at = EXCLUDED.updated_at").Set("provisioned_at = EXCLUDED.provisioned_at").
		Exec(ctx)
	return mapErr(err, "billing infrastructure")
}

// SeenAccounts lists the (billing account, sub-account, connector) triples
// of the organization's visible daily rollups, with the last charge day of
// each.
// Like the cost report it reads only the runs the partitions point at, so
// superseded or unpublished rows are not counted.
func (s *Store) SeenAccounts(ctx context.Context, orgID string) ([]accounts.SeenAccount, error) {
	var rows []struct {
		BillingAccountID string    `bun:"billing_account_id"`
		SubAccountID     string    `bun:"sub_account_id"`
		ConnectorID      string    `bun:"connector_id"`
		LastDay          time.Time `bun:"last_day"`
	}
	err := s.db.NewSelect().TableExpr("cost_dim_rollups AS r").Where("r.org_id = ?", orgID).
		ColumnExpr("r.billing_account_id, r.sub_account_id, r.connector_id, MAX(r.day) AS last_day").
		Where("r.billing_account_id <> '' OR r.sub_account_id <> ''").
		GroupExpr("r.billing_account_id, r.sub_account_id, r.connector_id").
		OrderExpr("r.billing_account_id, r.sub_account_id, r.connector_id").
		Scan(ctx, &rows)
	if err != nil {
		return nil, mapErr(err, "accounts in billing data")
	}
	out := make([]accounts.SeenAccount, len(rows))
	for i, r := range rows {
		out[i] = accounts.SeenAccount{BillingAccountID: r.BillingAccountID, SubAccountID: r.SubAccountID,
			ConnectorID: r.ConnectorID, LastDay: r.LastDay.UTC()}
	}
	return out, nil
}
