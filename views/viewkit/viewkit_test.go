package viewkit_test

import (
	"slices"
	"testing"

	"github.com/truecost/truecost/domain/tenancy"
	"github.com/truecost/truecost/views/viewkit"
)

func TestRegionOptionsKeepAnUnlistedCurrentValue(t *testing.T) {
	got := viewkit.RegionOptions([]string{"us-east-1", "eu-west-1"}, "ap-south-2")
	want := []viewkit.Option{{Value: "ap-south-2", Label: "ap-south-2"}, {Value: "us-east-1", Label: "us-east-1"}, {Value: "eu-west-1", Label: "eu-west-1"}}
	if !slices.Equal(got, want) {
		t.Errorf("options = %v, want %v", got, want)
	}
	if got := viewkit.RegionOptions([]string{"us-east-1"}, "us-east-1"); len(got) != 1 {
		t.Errorf("a listed value was added again: %v", got)
	}
}

func TestOrgPickerListsCustomersByNameForResellers(t *testing.T) {
	own := tenancy.Organization{ID: "o1", Name: "Northwind", Kind: tenancy.Reseller}
	orgs := []tenancy.Organization{own, {ID: "o3", Name: "Zeta"}, {ID: "o2", Name: "Alpha"}}
	p := tenancy.Principal{Org: own}
	got := viewkit.OrgPicker(p, orgs, "o2", "All customers")
	want := []viewkit.Option{{Value: "", Label: "All customers"}, {Value: "o1", Label: "Northwind (own account)"}, {Value: "o2", Label: "Alpha"}, {Value: "o3", Label: "Zeta"}}
	if !got.Show || got.Selected != "o2" || !slices.Equal(got.Options, want) {
		t.Errorf("picker = %+v, want options %v", got, want)
	}
	p.Org.Kind = tenancy.Customer
	if got := viewkit.OrgPicker(p, orgs, "", ""); got.Show || len(got.Options) != 0 {
		t.Errorf("a customer's picker = %+v, want hidden", got)
	}
}

func TestPrincipalLabelNamesAnAccountRoot(t *testing.T) {
	for in, want := range map[string]string{
		"arn:aws:iam::111122223333:root":      "AWS account 111122223333",
		"arn:aws:iam::111122223333:role/read": "arn:aws:iam::111122223333:role/read",
		"":                                    "",
	} {
		if got := viewkit.PrincipalLabel(in); got != want {
			t.Errorf("PrincipalLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
