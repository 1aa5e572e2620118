package focusfile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
)

const header = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ListCost,ProviderName,Tags,x_Discount"

func decode(t *testing.T, csv string) ([]billing.LineItem, error) {
	t.Helper()
	var items []billing.LineItem
	err := focusfile.Decode(context.Background(), "export.csv", strings.NewReader(csv), func(l *billing.LineItem) error {
		items = append(items, *l)
		return nil
	})
	return items, err
}

func TestDecodeFOCUSReadsValuesExactly(t *testing.T) {
	csv := "\uFEFF" + header + "\r\n" +
		`2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,2024-09-10 12:00:00+00:00,2024-09-10T13:00Z,USD,0.22255356620000002,1.7e-05,NULL,AWS,"{""team"": ""growth""}",-0.5` + "\r\n" +
		`2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,2024-09-11T00:00:00Z,2024-09-12T00:00:00Z,USD,-3,-3,,Microsoft,,` + "\r\n"
	items, err := decode(t, csv)
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 2 {
		t.Fatalf("got %d items, want 2", len(items))
	}
	a := items[0]
	if a.BilledCost.String() != "0.22255356620000002" || a.EffectiveCost.String() != "1.7e-05" {
		t.Errorf("decimals: BilledCost %s EffectiveCost %s", a.BilledCost, a.EffectiveCost)
	}
	if a.ListCost.Valid() {
		t.Errorf("NULL ListCost read as %s", a.ListCost)
	}
	if want := time.Date(2024, 9, 10, 12, 0, 0, 0, time.UTC); !a.ChargePeriodStart.Equal(want) || a.ChargePeriodStart.Location() != time.UTC {
		t.Errorf("ChargePeriodStart %v, want %v in UTC", a.ChargePeriodStart, want)
	}
	if a.Tags != `{"team": "growth"}` || a.Extras["x_Discount"] != "-0.5" {
		t.Errorf("tags %q extras %v", a.Tags, a.Extras)
	}
	if b := items[1]; b.BilledCost.String() != "-3" || b.Tags != "" || b.Extras != nil {
		t.Errorf("second row: %+v", b)
	}
}

func TestDecodeFOCUSRejectsBadInput(t *testing.T) {
	row := `2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,2024-09-10T12:00:00Z,2024-09-10T13:00:00Z,USD,1.5,1.5,2,AWS,{},`
	tests := []struct {
		name, csv, want string
	}{
		{"missing columns", "BilledCost,ProviderName\n1,AWS\n", "line 1: not a FOCUS cost-and-usage file: missing column(s) BillingPeriodStart"},
		{"unparsable number", header + "\n" + strings.Replace(row, ",1.5,1.5,", ",1.5,abc,", 1), "line 2, column EffectiveCost: \"abc\" is not a number"},
		{"unparsable date", header + "\n" + strings.Replace(row, "2024-09-10T12:00:00Z", "10/09/2024", 1), "line 2, column ChargePeriodStart: \"10/09/2024\" is not a date-time"},
		{"null required cost", header + "\n" + strings.Replace(row, ",1.5,1.5,", ",NULL,1.5,", 1), "line 2, column BilledCost: must not be null"},
		{"wrong field count", header + "\n" + row + ",extra\n", "line 2: wrong number of fields"},
		{"tags not an object", header + "\n" + strings.Replace(row, ",{},", ",[1],", 1), "line 2, column Tags: not a JSON object"},
		{"empty provider", header + "\n" + strings.Replace(row, ",AWS,", ",,", 1), "line 2, column ProviderName: must not be empty"},
		{"duplicate column", header + ",BilledCost\n", "line 1, column BilledCost: column appears twice"},
		{"empty file", "", "line 1: empty file"},
		{"bad quoting", header + "\n" + `2024-09-01T00:00:00Z,"un"closed` + "\n", "line 2, column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decode(t, tt.csv)
			if err == nil {
				t.Fatal("decoded without error")
			}
			if domain.ErrorCode(err) != domain.Invalid || !strings.Contains(err.Error(), "export.csv: "+tt.want) {
				t.Errorf("got %q (code %s), want invalid containing %q", err, domain.ErrorCode(err), tt.want)
			}
		})
	}
}

func TestFOCUSVersionIsFoundByHeader(t *testing.T) {
	tests := []struct {
		cols []string
		want string
	}{
		{[]string{"BilledCost", "ServiceProviderName"}, "1.3"},
		{[]string{"BilledCost", "InvoiceId"}, "1.2"},
		{[]string{"BilledCost", "SkuMeter"}, "1.1"},
		{[]string{"BilledCost", "ChargeClass"}, "1.0"},
	}
	for _, tt := range tests {
		if got := focusfile.Version(tt.cols); got != tt.want {
			t.Errorf("Version(%v) = %s, want %s", tt.cols, got, tt.want)
		}
	}
}

func TestFOCUS13ProviderFallsBackToServiceProviderName(t *testing.T) {
	h := strings.Replace(header, "ProviderName", "ServiceProviderName", 1)
	items, err := decode(t, h+"\n"+`2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,2024-09-10T12:00:00Z,2024-09-10T13:00:00Z,USD,1,1,1,Oracle,,`+"\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := items[0].Provider(); got != "Oracle" {
		t.Errorf("provider %q, want Oracle", got)
	}
}
