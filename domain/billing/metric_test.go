package billing_test

import (
	"testing"

	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/tenancy"
)

func TestMetricForShowsResoldCustomersResaleOnlyAndMarginToResellers(t *testing.T) {
	t.Parallel()
	reseller := tenancy.Principal{Org: tenancy.Organization{ID: "r", Kind: tenancy.Reseller}}
	resold := tenancy.Principal{Org: tenancy.Organization{ID: "c", Kind: tenancy.Customer, ResellerID: "r"}}
	direct := tenancy.Principal{Org: tenancy.Organization{ID: "d", Kind: tenancy.Customer}}
	tests := []struct {
		name   string
		caller tenancy.Principal
		in     billing.Metric
		want   billing.Metric
		code   domain.Code
	}{
		{"reseller default", reseller, "", billing.BilledCost, ""},
		{"reseller margin", reseller, billing.Margin, billing.Margin, ""},
		{"resold default", resold, "", billing.ResaleCost, ""},
		{"resold resale", resold, billing.ResaleCost, billing.ResaleCost, ""},
		{"resold billed", resold, billing.BilledCost, "", domain.Forbidden},
		{"resold effective", resold, billing.EffectiveCost, "", domain.Forbidden},
		{"resold list", resold, billing.ListCost, "", domain.Forbidden},
		{"resold contracted", resold, billing.ContractedCost, "", domain.Forbidden},
		{"resold margin", resold, billing.Margin, "", domain.Forbidden},
		{"direct default", direct, "", billing.BilledCost, ""},
		{"direct effective", direct, billing.EffectiveCost, billing.EffectiveCost, ""},
		{"direct margin", direct, billing.Margin, "", domain.Forbidden},
		{"system margin", tenancy.SystemPrincipal("t"), billing.Margin, billing.Margin, ""},
	}
	for _, tt := range tests {
		got, err := billing.MetricFor(tt.caller, tt.in)
		if tt.code != "" {
			if domain.ErrorCode(err) != tt.code {
				t.Errorf("%s: got %v, want %s", tt.name, err, tt.code)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q %v, want %q", tt.name, got, err, tt.want)
		}
	}
}
