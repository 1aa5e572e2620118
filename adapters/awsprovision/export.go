package awsprovision

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/bcmdataexports"
	detypes "github.com/aws/aws-sdk-go-v2/service/bcmdataexports/types"
	"github.com/aws/aws-sdk-go-v2/service/costandusagereportservice"
	curtypes "github.com/aws/aws-sdk-go-v2/service/costandusagereportservice/types"

	"github.com/truecost/truecost/domain/accounts"
)

// curTable is the Data Exports table of CUR 2.0.
const curTable = "COST_AND_USAGE_REPORT"

// cur2Columns are the CUR 2.0 columns exported: the table's fixed schema
// with resource IDs (INCLUDE_RESOURCES), without split cost allocation
// data. Data Exports takes no "SELECT *", so each is named.
var cur2Columns = []string{
	// bill
	"bill_bill_type", "bill_billing_entity", "bill_billing_period_end_date", "bill_billing_period_start_date",
	"bill_invoice_id", "bill_invoicing_entity", "bill_payer_account_id", "bill_payer_account_name",
	// maps of cost categories, discounts, products and tags
	"cost_category", "discount", "discount_bundled_discount", "discount_total_discount",
	// identity
	"identity_line_item_id", "identity_time_interval",
	// line item
	"line_item_availability_zone", "line_item_blended_cost", "line_item_blended_rate", "line_item_currency_code",
	"line_item_legal_entity", "line_item_line_item_description", "line_item_line_item_type",
	"line_item_net_unblended_cost", "line_item_net_unblended_rate", "line_item_normalization_factor",
	"line_item_normalized_usage_amount", "line_item_operation", "line_item_product_code", "line_item_resource_id",
	"line_item_tax_type", "line_item_unblended_cost", "line_item_unblended_rate", "line_item_usage_account_id",
	"line_item_usage_account_name", "line_item_usage_amount", "line_item_usage_end_date",
	"line_item_usage_start_date", "line_item_usage_type",
	// pricing
	"pricing_currency", "pricing_lease_contract_length", "pricing_offering_class", "pricing_public_on_demand_cost",
	"pricing_public_on_demand_rate", "pricing_purchase_option", "pricing_rate_code", "pricing_rate_id",
	"pricing_term", "pricing_unit",
	// product
	"product", "product_comment", "product_fee_code", "product_fee_description", "product_from_location",
	"product_from_location_type", "product_from_region_code", "product_instance_family", "product_instance_type",
	"product_location", "product_location_type", "product_operation", "product_pricing_unit",
	"product_product_family", "product_region_code", "product_servicecode", "product_sku", "product_to_location",
	"product_to_location_type", "product_to_region_code", "product_usagetype",
	// reservation
	"reservation_amortized_upfront_cost_for_usage", "reservation_amortized_upfront_fee_for_billing_period",
	"reservation_availability_zone", "reservation_effective_cost", "reservation_end_time",
	"reservation_modification_status", "reservation_net_amortized_upfront_cost_for_usage",
	"reservation_net_amortized_upfront_fee_for_billing_period", "reservation_net_effective_cost",
	"reservation_net_recurring_fee_for_usage", "reservation_net_unused_amortized_upfront_fee_for_billing_period",
	"reservation_net_unused_recurring_fee", "reservation_net_upfront_value",
	"reservation_normalized_units_per_reservation", "reservation_number_of_reservations",
	"reservation_recurring_fee_for_usage", "reservation_reservation_a_r_n", "reservation_start_time",
	"reservation_subscription_id", "reservation_total_reserved_normalized_units",
	"reservation_total_reserved_units", "reservation_units_per_reservation",
	"reservation_unused_amortized_upfront_fee_for_billing_period", "reservation_unused_normalized_unit_quantity",
	"reservation_unused_quantity", "reservation_unused_recurring_fee", "reservation_upfront_value",
	// tags
	"resource_tags",
	// savings plans
	"savings_plan_amortized_upfront_commitment_for_billing_period", "savings_plan_end_time",
	"savings_plan_instance_type_family", "savings_plan_net_amortized_upfront_commitment_for_billing_period",
	"savings_plan_net_recurring_commitment_for_billing_period", "savings_plan_net_savings_plan_effective_cost",
	"savings_plan_offering_type", "savings_plan_payment_option", "savings_plan_purchase_term",
	"savings_plan_recurring_commitment_for_billing_period", "savings_plan_region",
	"savings_plan_savings_plan_a_r_n", "savings_plan_savings_plan_effective_cost", "savings_plan_savings_plan_rate",
	"savings_plan_start_time", "savings_plan_total_commitment_to_date", "savings_plan_used_commitment",
}

// CUR2Query is the Data Exports query of the CUR 2.0 export.
func CUR2Query() string {
	return "SELECT " + strings.Join(cur2Columns, ", ") + " FROM " + curTable
}

// cur2Table configures the CUR 2.0 table: daily lines with resource IDs.
var cur2Table = map[string]string{
	"TIME_GRANULARITY":                      "DAILY",
	"INCLUDE_RESOURCES":                     "TRUE",
	"INCLUDE_SPLIT_COST_ALLOCATION_DATA":    "FALSE",
	"INCLUDE_MANUAL_DISCOUNT_COMPATIBILITY": "FALSE",
}

// TagInfrastructure is the resource tag naming the infrastructure an
// export belongs to.
const TagInfrastructure = "truecost:infrastructure"

// createExport creates the daily export into the bucket. CSV in gzip is
// chosen over Parquet: the billing reader keeps CSV amounts as the decimal
// text AWS wrote.
func (s *session) createExport(ctx context.Context) (accounts.Resource, error) {
	if s.req.Infra.Settings.ExportType == ExportCUR {
		return s.putReportDefinition(ctx)
	}
	n := s.names()
	what := "Data Exports export " + n.Export
	client, err := s.exports(ctx)
	if err != nil {
		return accounts.Resource{}, s.cloudError(err, what)
	}
	r := accounts.Resource{Kind: "CUR 2.0 export", Region: billingRegion, State: accounts.Created,
		Note: "daily CUR 2.0 (CSV, gzip) to s3://" + n.Bucket + "/" + Prefix + "/" + n.Export + "/"}
	// An earlier attempt may have created it before failing to record it.
	pages := bcmdataexports.NewListExportsPaginator(client, &bcmdataexports.ListExportsInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return accounts.Resource{}, s.cloudError(err, what)
		}
		for _, e := range page.Exports {
			if aws.ToString(e.ExportName) == n.Export {
				r.ID, r.Note = aws.ToString(e.ExportArn), "created by an earlier attempt; "+r.Note
				return r, nil
			}
		}
	}
	out, err := client.CreateExport(ctx, &bcmdataexports.CreateExportInput{
		Export: &detypes.Export{
			Name:        aws.String(n.Export),
			Description: aws.String("Daily CUR 2.0 read by Truecost"),
			DataQuery: &detypes.DataQuery{
				QueryStatement:      aws.String(CUR2Query()),
				TableConfigurations: map[string]map[string]string{curTable: cur2Table},
			},
			DestinationConfigurations: &detypes.DestinationConfigurations{
				S3Destination: &detypes.S3Destination{
					S3Bucket: aws.String(n.Bucket),
					S3Prefix: aws.String(Prefix),
					S3Region: aws.String(s.region()),
					S3OutputConfigurations: &detypes.S3OutputConfigurations{
						Compression: detypes.CompressionOptionGzip,
						Format:      detypes.FormatOptionTextOrCsv,
						OutputType:  detypes.S3OutputTypeCustom,
						Overwrite:   detypes.OverwriteOptionOverwriteReport,
					},
				},
			},
			RefreshCadence: &detypes.RefreshCadence{Frequency: detypes.FrequencyOptionSynchronous},
		},
		ResourceTags: []detypes.ResourceTag{{Key: aws.String(TagInfrastructure), Value: aws.String(s.req.Infra.ID)}},
	})
	if err != nil {
		return accounts.Resource{}, s.cloudError(err, what)
	}
	r.ID = aws.ToString(out.ExportArn)
	return r, nil
}

// putReportDefinition creates the legacy daily Cost and Usage Report.
func (s *session) putReportDefinition(ctx context.Context) (accounts.Resource, error) {
	n := s.names()
	what := "Cost and Usage Report " + n.Export
	client, err := s.reports(ctx)
	if err != nil {
		return accounts.Resource{}, s.cloudError(err, what)
	}
	r := accounts.Resource{Kind: "Cost and Usage Report", ID: n.Export, Region: billingRegion, State: accounts.Created,
		Note: "daily legacy CUR (CSV, gzip, resource IDs) to s3://" + n.Bucket + "/" + Prefix + "/" + n.Export + "/"}
	_, err = client.PutReportDefinition(ctx, &costandusagereportservice.PutReportDefinitionInput{
		ReportDefinition: &curtypes.ReportDefinition{
			ReportName:               aws.String(n.Export),
			TimeUnit:                 curtypes.TimeUnitDaily,
			Format:                   curtypes.ReportFormatCsv,
			Compression:              curtypes.CompressionFormatGzip,
			AdditionalSchemaElements: []curtypes.SchemaElement{curtypes.SchemaElementResources},
			S3Bucket:                 aws.String(n.Bucket),
			S3Prefix:                 aws.String(Prefix),
			S3Region:                 curtypes.AWSRegion(s.region()),
			RefreshClosedReports:     aws.Bool(true),
			ReportVersioning:         curtypes.ReportVersioningOverwriteReport,
		},
		Tags: []curtypes.Tag{{Key: aws.String(TagInfrastructure), Value: aws.String(s.req.Infra.ID)}},
	})
	if err != nil {
		if errorCode(err) != "DuplicateReportNameException" {
			return accounts.Resource{}, s.cloudError(err, what)
		}
		r.Note = "created by an earlier attempt; " + r.Note
	}
	return r, nil
}

// deleteExport deletes the export or report the ledger names.
func (s *session) deleteExport(ctx context.Context, r accounts.Resource) error {
	if s.req.Infra.Settings.ExportType == ExportCUR || !strings.HasPrefix(r.ID, "arn:") {
		what := "Cost and Usage Report " + r.ID
		client, err := s.reports(ctx)
		if err != nil {
			return s.cloudError(err, what)
		}
		_, err = client.DeleteReportDefinition(ctx, &costandusagereportservice.DeleteReportDefinitionInput{ReportName: aws.String(r.ID)})
		if err != nil && errorCode(err) != "ResourceNotFoundException" {
			return s.cloudError(err, what)
		}
		return nil
	}
	what := "Data Exports export " + r.ID
	client, err := s.exports(ctx)
	if err != nil {
		return s.cloudError(err, what)
	}
	_, err = client.DeleteExport(ctx, &bcmdataexports.DeleteExportInput{ExportArn: aws.String(r.ID)})
	if err != nil && errorCode(err) != "ResourceNotFoundException" {
		return s.cloudError(err, what)
	}
	return nil
}
