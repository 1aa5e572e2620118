package azurebilling_test

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/truecost/truecost/adapters/azurebilling"
)

// costRow is a cost-details row as a Parquet export types it: amounts as
// doubles, the date as a timestamp, a DECIMAL price.
type costRow struct {
	Date                  time.Time `parquet:"Date,timestamp(millisecond)"`
	CostInBillingCurrency float64   `parquet:"CostInBillingCurrency"`
	BillingCurrency       string    `parquet:"BillingCurrency"`
	SubscriptionID        string    `parquet:"SubscriptionId"`
	ResourceLocation      string    `parquet:"ResourceLocation"`
	MeterCategory         string    `parquet:"MeterCategory"`
	Tags                  string    `parquet:"Tags"`
	ChargeType            *string   `parquet:"ChargeType,optional"`
	Quantity              float32   `parquet:"Quantity"`
	PayGPrice             int64     `parquet:"PayGPrice,decimal(4:18)"`
	BillingPeriodStart    int32     `parquet:"BillingPeriodStartDate,date"`
}

// parquetFromCSV turns the sample cost details into a Parquet file with the
// same amounts.
func parquetFromCSV(t *testing.T, data []byte) []byte {
	t.Helper()
	rows := records(t, data)
	idx := map[string]int{}
	for i, h := range rows[0] {
		idx[h] = i
	}
	var out []costRow
	for _, r := range rows[1:] {
		day, err := time.Parse(time.DateOnly, r[idx["Date"]])
		if err != nil {
			t.Fatal(err)
		}
		q, _ := strconv.ParseFloat(r[idx["Quantity"]], 32)
		out = append(out, costRow{
			Date:                  day,
			CostInBillingCurrency: must(strconv.ParseFloat(r[idx["CostInBillingCurrency"]], 64)),
			BillingCurrency:       r[idx["BillingCurrency"]],
			SubscriptionID:        r[idx["SubscriptionId"]],
			ResourceLocation:      r[idx["ResourceLocation"]],
			MeterCategory:         r[idx["MeterCategory"]],
			Tags:                  r[idx["Tags"]],
			Quantity:              float32(q),
			PayGPrice:             12345,
			BillingPeriodStart:    int32(time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC).Unix() / 86400),
		})
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[costRow](&buf)
	if _, err := w.Write(out); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeParquetKeepsDoublesExact(t *testing.T) {
	data := parquetFromCSV(t, readBytes(t, sepFile))
	items, err := decodeAll(t, "part_0_0001.parquet", data, azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 3000 {
		t.Fatalf("%d items, want 3000", len(items))
	}
	if got := sumBilled(items); !got.Equal(sepTotal) {
		t.Errorf("BilledCost total %s, want %s (the CSV's)", got, sepTotal)
	}
	l := items[0]
	got := []string{string(l.BilledCost), l.ChargePeriodStart.Format(time.RFC3339), l.BillingPeriodStart.Format(time.RFC3339),
		string(l.ConsumedQuantity), string(l.ListUnitPrice), l.ChargeCategory, l.RegionID, l.Tags}
	want := []string{"0.22255356620000002", "2026-09-01T00:00:00Z", "2026-09-01T00:00:00Z", "0.70762", "1.2345", "Usage", "westus2",
		`{"environment": "teach-arrive", "version": "level-born", "app": "week-letter"}`}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got  %q\nwant %q", got, want)
			break
		}
	}
}

// focusRow is a FocusCost row in Parquet.
type focusRow struct {
	BilledCost         float64   `parquet:"BilledCost"`
	EffectiveCost      float64   `parquet:"EffectiveCost"`
	BillingCurrency    string    `parquet:"BillingCurrency"`
	BillingPeriodStart time.Time `parquet:"BillingPeriodStart,timestamp(microsecond)"`
	BillingPeriodEnd   time.Time `parquet:"BillingPeriodEnd,timestamp(microsecond)"`
	ChargePeriodStart  time.Time `parquet:"ChargePeriodStart,timestamp(microsecond)"`
	ChargePeriodEnd    time.Time `parquet:"ChargePeriodEnd,timestamp(microsecond)"`
	ChargeCategory     string    `parquet:"ChargeCategory"`
	ProviderName       string    `parquet:"ProviderName"`
	Region             *string   `parquet:"RegionId,optional"`
	XSkuMeterID        string    `parquet:"x_SkuMeterId"`
}

func TestDecodeFocusCostParquet(t *testing.T) {
	start := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	rows := []focusRow{
		{BilledCost: 0.22255356620000002, EffectiveCost: 0.1, BillingCurrency: "USD", BillingPeriodStart: start, BillingPeriodEnd: start.AddDate(0, 1, 0),
			ChargePeriodStart: start, ChargePeriodEnd: start.AddDate(0, 0, 1), ChargeCategory: "Usage", ProviderName: "Microsoft", XSkuMeterID: "m-1"},
		{BilledCost: 1.7e-05, EffectiveCost: 1.7e-05, BillingCurrency: "USD", BillingPeriodStart: start, BillingPeriodEnd: start.AddDate(0, 1, 0),
			ChargePeriodStart: start, ChargePeriodEnd: start.AddDate(0, 0, 1), ChargeCategory: "Tax", ProviderName: "Microsoft", Region: new("westus2")},
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[focusRow](&buf)
	if _, err := w.Write(rows); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	items, err := decodeAll(t, "focus.parquet", buf.Bytes(), azurebilling.DecodeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("%d items, want 2", len(items))
	}
	got := []string{string(items[0].BilledCost), string(items[1].BilledCost), items[0].RegionID, items[1].RegionID, items[0].Extras["x_SkuMeterId"], items[1].ChargeCategory,
		items[0].ChargePeriodEnd.Format(time.RFC3339)}
	want := []string{"0.22255356620000002", "1.7e-05", "", "westus2", "m-1", "Tax", "2026-09-02T00:00:00Z"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
