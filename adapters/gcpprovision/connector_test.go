package gcpprovision_test

import (
	"context"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/gcpbilling"
	"github.com/truecost/truecost/adapters/gcpbilling/bqfake"
	"github.com/truecost/truecost/adapters/gcpprovision"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

// exportRow is one row of a detailed usage cost export.
const exportRow = `{"billing_account_id": "01A2B3-C4D5E6-F7A8B9", "service": {"description": "BigQuery", "id": "24E6-581D-38E5"}, "sku": {"id": "3362-E469-6BEF", "description": "Analysis"}, "usage_start_time": "2026-09-12T10:00:00", "usage_end_time": "2026-09-12T11:00:00", "project": {"name": "billing-proj", "id": "billing-proj", "labels": []}, "labels": [], "system_labels": [], "location": {"location": "US", "country": "US", "region": "", "zone": ""}, "export_time": "2026-09-12T14:00:00", "cost": 2.5, "currency": "USD", "currency_conversion_rate": 1, "usage": {"unit": "bytes", "pricing_unit": "tebibyte", "amount": 549755813888, "amount_in_pricing_units": 0.5}, "credits": [], "invoice": {"month": "202609"}, "cost_type": "regular"}`

func TestConnectorReadsTheExportTable(t *testing.T) {
	table := gcpbilling.DetailedTablePrefix + "01A2B3_C4D5E6_F7A8B9"
	bq := bqfake.New(t, []string{exportRow}, table)
	key := string(bq.ServiceAccountKey(t))
	p := gcpprovision.New(gcpprovision.Config{BigQueryEndpoint: bq.URL})
	req := accounts.Request{
		Infra:       accounts.Infrastructure{ID: infraID, Provider: connectors.GCP, Settings: accounts.Settings{Region: "US", ProjectID: bqfake.Project, Dataset: bqfake.Dataset}},
		Account:     accounts.Account{Provider: connectors.GCP, ProviderAccountID: "app-proj-1", BillingAccountID: billingAccount},
		Credentials: connectors.Secret{"service_account_json": key, "unrelated": "not for the connector"},
	}
	in := p.Connector(req)
	want := connectors.Config{BillingAccountID: billingAccount, ProjectID: bqfake.Project, Dataset: bqfake.Dataset, Region: "US", Endpoint: bq.URL}
	if in.Provider != connectors.GCP || in.Name != "Google Cloud billing export" || in.Config != want {
		t.Errorf("connector = %s %q %+v, want gcp %q %+v", in.Provider, in.Name, in.Config, "Google Cloud billing export", want)
	}
	if len(in.Secret) != 1 || in.Secret["service_account_json"] != key {
		t.Errorf("connector secret has %d entries, want only the service account key", len(in.Secret))
	}

	// The connector's settings find the billing account's table and read it.
	cfg := in.Config
	src, err := gcpbilling.NewBigQuerySource(context.Background(), gcpbilling.Config{BillingAccountID: cfg.BillingAccountID,
		ProjectID: cfg.ProjectID, Location: cfg.Region, Dataset: cfg.Dataset, Table: cfg.Table,
		CredentialsJSON: []byte(in.Secret["service_account_json"]), Endpoint: cfg.Endpoint, AllMonths: true})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	man, err := src.Scan(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(man.Parts) != 1 {
		t.Fatalf("scan found %d months, want 1", len(man.Parts))
	}
	total := decimal.Zero
	err = src.Read(context.Background(), man.Parts[0], func(li *billing.LineItem) error {
		d, err := decimal.NewFromString(li.BilledCost.String())
		if err != nil {
			return err
		}
		total = total.Add(d)
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !total.Equal(decimal.RequireFromString("2.5")) {
		t.Errorf("billed cost read = %s, want 2.5", total)
	}
}
