package sqlstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
)

const boundsHeader = "BillingPeriodStart,BillingPeriodEnd,ChargePeriodStart,ChargePeriodEnd,BillingCurrency,BilledCost,EffectiveCost,ProviderName,ServiceName,Tags\n"

// boundsRow is a valid line item; each case breaks one cell of its second
// copy, on line 3.
var boundsRow = []string{"2024-09-01T00:00:00Z", "2024-10-01T00:00:00Z", "2024-09-10T00:00:00Z", "2024-09-11T00:00:00Z", "USD", "1.25", "1.25", "AWS", "EC2", `{"team":"a"}`}

func TestIngestRefusesValuesNoBillCanHoldOnBothDatabases(t *testing.T) {
	cases := []struct {
		name   string
		col    int
		value  string
		column string
		want   string
	}{
		{"huge exponent", 5, "1e400", "BilledCost", "too large"},
		{"too many integer digits", 6, "123456789012345678901", "EffectiveCost", "too large"},
		{"too many decimals", 5, "0.0000000000000000000000000000001", "BilledCost", "too many decimals"},
		{"billing period ends before it starts", 1, "2024-08-01T00:00:00Z", "BillingPeriodEnd", "before BillingPeriodStart"},
		{"charge period ends before it starts", 3, "2024-09-09T00:00:00Z", "ChargePeriodEnd", "before ChargePeriodStart"},
		{"year 1900", 2, "1900-09-10T00:00:00Z", "ChargePeriodStart", "outside the plausible range"},
		{"year 9999", 3, "9999-09-11T00:00:00Z", "ChargePeriodEnd", "outside the plausible range"},
		{"year 0000", 0, "0000-09-01T00:00:00Z", "BillingPeriodStart", ""},
		{"currency name", 4, "US Dollars $$", "BillingCurrency", "not an ISO 4217 currency code"},
		{"unknown currency", 4, "XYZ", "BillingCurrency", "not an ISO 4217 currency code"},
		{"NUL byte in text", 8, "EC\x002", "ServiceName", "NUL byte"},
		{"NUL escape in tags", 9, `{"team":"a\u0000b"}`, "Tags", "NUL byte"},
	}
	errs := map[string]map[string]string{} // case → dialect → error
	dir := t.TempDir()
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		for i, c := range cases {
			org := e.org(t, "org-"+strings.Repeat("x", i+1))
			bad := append([]string(nil), boundsRow...)
			bad[c.col] = c.value
			path := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".csv")
			text := boundsHeader + csvLine(boundsRow) + "\n" + csvLine(bad) + "\n"
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := e.ingest(t, org, path)
			if err == nil {
				t.Errorf("%s: ingest succeeded", c.name)
				continue
			}
			msg := domain.ErrorMessage(err)
			where := path + ": line 3, column " + c.column + ": "
			if domain.ErrorCode(err) != domain.Invalid || !strings.HasPrefix(msg, where) || !strings.Contains(msg, c.want) {
				t.Errorf("%s: %q (code %s), want invalid at %q saying %q", c.name, msg, domain.ErrorCode(err), where, c.want)
			}
			if n := countRows(t, s, org.ID); n != 0 {
				t.Errorf("%s: %d line items stored", c.name, n)
			}
			if errs[c.name] == nil {
				errs[c.name] = map[string]string{}
			}
			errs[c.name][string(s.Dialect())] = msg
		}
	})
	for name, by := range errs {
		if len(by) == 2 && by["sqlite"] != by["postgres"] {
			t.Errorf("%s: SQLite says %q, Postgres %q", name, by["sqlite"], by["postgres"])
		}
	}
}

func csvLine(cells []string) string {
	out := make([]string, len(cells))
	for i, c := range cells {
		if strings.ContainsAny(c, ",\"\n") {
			c = `"` + strings.ReplaceAll(c, `"`, `""`) + `"`
		}
		out[i] = c
	}
	return strings.Join(out, ",")
}

func TestIngestUpperCasesCurrencyCodes(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		e := newEnv(s)
		org := e.org(t, "acme")
		row := append([]string(nil), boundsRow...)
		row[4] = "usd"
		path := filepath.Join(t.TempDir(), "lower.csv")
		if err := os.WriteFile(path, []byte(boundsHeader+csvLine(boundsRow)+"\n"+csvLine(row)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		run, err := e.ingest(t, org, path)
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Totals) != 1 || run.Totals[0].Currency != "USD" {
			t.Errorf("run totals %+v, want one in USD", run.Totals)
		}
		got := e.byProvider(t, org.ID)
		if len(got) != 1 || !got["AWS USD"].Equal(decimal.RequireFromString("2.50")) {
			t.Errorf("totals %v, want AWS USD 2.50", got)
		}
	})
}
