package awsprovision_test

import (
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/awsbilling"
	"github.com/truecost/truecost/adapters/awsprovision"
	"github.com/truecost/truecost/adapters/awsprovision/awsfake"
	"github.com/truecost/truecost/domain/accounts"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/connectors"
)

const usageAccount = "444455556666"

// cur2Delivery is one October 2026 CUR 2.0 file: two usage lines and tax
// of the member account; BilledCost totals 1.3542 USD.
func cur2Delivery() [][]string {
	start, end := "2026-10-01T00:00:00.000Z", "2026-11-01T00:00:00.000Z"
	d0, d1 := "2026-10-02T00:00:00.000Z", "2026-10-03T00:00:00.000Z"
	return [][]string{
		{"bill_bill_type", "bill_billing_period_start_date", "bill_billing_period_end_date", "bill_payer_account_id",
			"line_item_usage_account_id", "line_item_line_item_type", "line_item_usage_start_date", "line_item_usage_end_date",
			"line_item_product_code", "line_item_usage_type", "line_item_currency_code", "line_item_unblended_cost",
			"line_item_usage_amount", "line_item_resource_id", "product_region_code", "product", "resource_tags", "cost_category"},
		{"Anniversary", start, end, acct, usageAccount, "Usage", d0, d1, "AmazonEC2", "BoxUsage:m5.large", "USD", "1.25", "24", "i-0abc",
			"eu-west-1", `{"product_name":"Amazon Elastic Compute Cloud"}`, `{"user_project":"shop","user_session":"s-1"}`, "{}"},
		{"Anniversary", start, end, acct, usageAccount, "Usage", d0, d1, "AmazonS3", "TimedStorage-ByteHrs", "USD", "0.0042", "0.5", "shop-assets",
			"eu-west-1", `{"product_name":"Amazon Simple Storage Service"}`, "{}", "{}"},
		{"Anniversary", start, end, acct, usageAccount, "Tax", d0, end, "AmazonEC2", "", "USD", "0.10", "", "", "", "{}", "{}", "{}"},
	}
}

// curDelivery is the same month in the legacy CUR's columns.
func curDelivery() [][]string {
	start, end := "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"
	d0, d1 := "2026-10-02T00:00:00Z", "2026-10-03T00:00:00Z"
	return [][]string{
		{"bill/BillType", "bill/BillingPeriodStartDate", "bill/BillingPeriodEndDate", "bill/PayerAccountId",
			"lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate", "lineItem/UsageEndDate",
			"lineItem/ProductCode", "lineItem/UsageType", "lineItem/CurrencyCode", "lineItem/UnblendedCost",
			"lineItem/UsageAmount", "lineItem/ResourceId", "product/region", "product/ProductName", "resourceTags/user:Project"},
		{"Anniversary", start, end, acct, usageAccount, "Usage", d0, d1, "AmazonEC2", "BoxUsage:m5.large", "USD", "1.25", "24", "i-0abc",
			"eu-west-1", "Amazon Elastic Compute Cloud", "shop"},
		{"Anniversary", start, end, acct, usageAccount, "Usage", d0, d1, "AmazonS3", "TimedStorage-ByteHrs", "USD", "0.0042", "0.5", "shop-assets",
			"eu-west-1", "Amazon Simple Storage Service", ""},
		{"Anniversary", start, end, acct, usageAccount, "Tax", d0, end, "AmazonEC2", "", "USD", "0.10", "", "", "", "", ""},
	}
}

// The connector provisioning creates reads what the export delivers where
// it delivers it.
func TestConnectorReadsTheExportWhereAWSDeliversIt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		exportType, format string
		deliver            func(f *awsfake.Fake, n awsprovision.Names) error
	}{
		{"cur2", awsbilling.FormatCUR2, func(f *awsfake.Fake, n awsprovision.Names) error {
			return f.DeliverCUR2(n.Bucket, awsprovision.Prefix, n.Export, "2026-10", cur2Delivery())
		}},
		{"cur", awsbilling.FormatCUR, func(f *awsfake.Fake, n awsprovision.Names) error {
			return f.DeliverCUR(n.Bucket, awsprovision.Prefix, n.Export, "2026-10", curDelivery())
		}},
	} {
		t.Run(tc.exportType, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, accounts.Settings{Region: "eu-west-1", ExportType: tc.exportType}, staticKeys)
			if err := e.provision(); err != nil {
				t.Fatal(err)
			}
			if err := tc.deliver(e.fake, e.names); err != nil {
				t.Fatal(err)
			}

			in := e.prov.Connector(e.req)
			want := connectors.Config{AWSAccountID: acct, Bucket: e.names.Bucket, Path: "truecost", FileType: tc.exportType,
				Region: "eu-west-1", Endpoint: e.fake.URL()}
			if in.Provider != connectors.AWS || in.Name != "AWS billing export" || in.Config != want {
				t.Errorf("connector input %s %q %+v, want aws %q %+v", in.Provider, in.Name, in.Config, "AWS billing export", want)
			}
			if len(in.Secret) != 2 || in.Secret["access_key_id"] != "AKIAPROVISIONING" || in.Secret["secret_access_key"] != "provisioning-secret" {
				t.Errorf("connector secret has keys %v", keys(in.Secret))
			}

			c := connectors.Connector{ID: "conn-1", OrgID: "org-1", Provider: in.Provider, Name: in.Name, Config: in.Config}
			src, err := awsbilling.NewConnectorSource(e.ctx, c, in.Secret, nil)
			if err != nil {
				t.Fatal(err)
			}
			m, err := src.Scan(e.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if m.Format != tc.format || len(m.Parts) != 1 || m.Parts[0].Period.Format("2006-01") != "2026-10" {
				t.Fatalf("scan found %s with %d parts, want %s with October 2026", m.Format, len(m.Parts), tc.format)
			}
			total := decimal.Zero
			rows := 0
			err = src.Read(e.ctx, m.Parts[0], func(l *billing.LineItem) error {
				rows++
				total = total.Add(l.BilledCost.Decimal())
				if l.SubAccountID != usageAccount || l.BillingAccountID != acct {
					t.Errorf("line of account %s billed to %s, want %s billed to %s", l.SubAccountID, l.BillingAccountID, usageAccount, acct)
				}
				return nil
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if rows != 3 || !total.Equal(decimal.RequireFromString("1.3542")) {
				t.Errorf("read %d lines billing %s, want 3 billing 1.3542", rows, total)
			}
		})
	}
}

func TestConnectorOfAnAssumedRoleCarriesTheExternalID(t *testing.T) {
	t.Parallel()
	role := "arn:aws:iam::" + acct + ":role/TruecostBilling"
	e := newEnv(t, accounts.Settings{Region: "eu-west-1"}, connectors.Secret{"role_arn": role, "unrelated": "x"})
	in := e.prov.Connector(e.req)
	if len(in.Secret) != 2 || in.Secret["role_arn"] != role || in.Secret["external_id"] != "tc-external-0001" {
		t.Errorf("connector secret %v, want the role and the account's external ID", keys(in.Secret))
	}
}

func keys(s connectors.Secret) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	return out
}
