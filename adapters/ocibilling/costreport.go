package ocibilling

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/truecost/truecost/adapters/csvfile"
	"github.com/truecost/truecost/adapters/focusfile"
	"github.com/truecost/truecost/domain/billing"
)

// Oracle is the ProviderName, PublisherName and InvoiceIssuerName of the
// line items read from proprietary cost reports.
const Oracle = "Oracle"

// Columns of the proprietary cost report, lower-cased: OCI's own
// documentation spells some of them in varying case (lineItem/TenantId,
// lineItem/iscorrection), so headers are matched without regard to case.
const (
	colTenantID      = "lineitem/tenantid"
	colIntervalStart = "lineitem/intervalusagestart"
	colIntervalEnd   = "lineitem/intervalusageend"
	colIsCorrection  = "lineitem/iscorrection"
	colService       = "product/service"
	colCompartmentID = "product/compartmentid"
	colCompartment   = "product/compartmentname"
	colRegion        = "product/region"
	colAD            = "product/availabilitydomain"
	colResourceID    = "product/resourceid"
	colDescription   = "product/description"
	colBilledQty     = "usage/billedquantity"
	colSKU           = "cost/productsku"
	colUnitPrice     = "cost/unitprice"
	colMyCost        = "cost/mycost"
	colCurrency      = "cost/currencycode"
	colSKUUnit       = "cost/skuunitdescription"
	tagPrefix        = "tags/"
)

// requiredCostColumns must be in every cost report header.
var requiredCostColumns = []string{colIntervalStart, colIntervalEnd, colMyCost, colCurrency}

// costSetter stores one cell of a cost report row into a line item.
type costSetter func(l *billing.LineItem, v string) error

func setStr(f func(*billing.LineItem) *string) costSetter {
	return func(l *billing.LineItem, v string) error {
		*f(l) = v
		return nil
	}
}

func setNum(fs ...func(*billing.LineItem) *billing.Number) costSetter {
	return func(l *billing.LineItem, v string) error {
		if v == "" {
			return nil
		}
		n, err := billing.ParseNumber(v)
		if err != nil {
			return err
		}
		for _, f := range fs {
			*f(l) = n
		}
		return nil
	}
}

// costMapping says where each known column goes. Columns not listed (and
// not tags/…) are kept in Extras as x_<column>.
var costMapping = map[string]costSetter{
	colTenantID:      setStr(func(l *billing.LineItem) *string { return &l.BillingAccountID }),
	colService:       setStr(func(l *billing.LineItem) *string { return &l.ServiceName }),
	colCompartmentID: setStr(func(l *billing.LineItem) *string { return &l.SubAccountID }),
	colCompartment:   setStr(func(l *billing.LineItem) *string { return &l.SubAccountName }),
	colRegion:        setStr(func(l *billing.LineItem) *string { return &l.RegionID }),
	colAD:            setStr(func(l *billing.LineItem) *string { return &l.AvailabilityZone }),
	colResourceID:    setStr(func(l *billing.LineItem) *string { return &l.ResourceID }),
	colDescription:   setStr(func(l *billing.LineItem) *string { return &l.ChargeDescription }),
	colSKU:           setStr(func(l *billing.LineItem) *string { return &l.SkuID }),
	colCurrency:      setStr(func(l *billing.LineItem) *string { return &l.BillingCurrency }),
	colSKUUnit: func(l *billing.LineItem, v string) error {
		l.PricingUnit, l.ConsumedUnit = v, v
		return nil
	},
	// The report gives one unit price, the one OCI charged: it is both the
	// list and the contracted price as far as this report can tell.
	colUnitPrice: setNum(
		func(l *billing.LineItem) *billing.Number { return &l.ListUnitPrice },
		func(l *billing.LineItem) *billing.Number { return &l.ContractedUnitPrice }),
	colBilledQty: setNum(
		func(l *billing.LineItem) *billing.Number { return &l.PricingQuantity },
		func(l *billing.LineItem) *billing.Number { return &l.ConsumedQuantity }),
	// cost/myCost already includes overage: cost/myCostOverage is kept as
	// an extra and never added.
	colMyCost: func(l *billing.LineItem, v string) error {
		if v == "" {
			return errors.New("must not be empty")
		}
		n, err := billing.ParseNumber(v)
		if err != nil {
			return err
		}
		l.BilledCost, l.EffectiveCost, l.ListCost, l.ContractedCost = n, n, n, n
		return nil
	},
	colIntervalStart: func(l *billing.LineItem, v string) error {
		t, err := focusfile.ParseTime(v)
		if err != nil {
			return err
		}
		l.ChargePeriodStart = t
		l.BillingPeriodStart = billing.MonthStart(t)
		l.BillingPeriodEnd = l.BillingPeriodStart.AddDate(0, 1, 0)
		return nil
	},
	colIntervalEnd: func(l *billing.LineItem, v string) error {
		t, err := focusfile.ParseTime(v)
		if err != nil {
			return err
		}
		l.ChargePeriodEnd = t
		return nil
	},
	colIsCorrection: func(l *billing.LineItem, v string) error {
		switch strings.ToLower(v) {
		case "true":
			l.ChargeClass = "Correction"
		case "false", "":
		default:
			return fmt.Errorf("%q is not true or false", v)
		}
		return nil
	},
}

// costColumn is how one header column of a cost report is read.
type costColumn struct {
	name   string     // as written in the header
	set    costSetter // mapped FOCUS column, or nil
	tagKey []byte     // JSON-quoted tag key for tags/… columns
	extra  string     // Extras key for unmapped columns
}

// DecodeCostReport reads an OCI proprietary cost report (CSV, already
// decompressed) from r and calls fn with each row as a FOCUS line item.
// name is used in errors, which are domain.Invalid and give file, line and
// column. BillingPeriodStart is the UTC month of lineItem/intervalUsageStart.
// The LineItem passed to fn is reused: fn must copy what it keeps. A
// *billing.RowError returned by fn is reported with the row's file and line.
func DecodeCostReport(ctx context.Context, name string, r io.Reader, fn func(*billing.LineItem) error) error {
	rd, err := csvfile.Open(name, r, "an OCI cost report header row")
	if err != nil {
		return err
	}
	cols, err := costColumns(name, rd.Header())
	if err != nil {
		return err
	}

	var item billing.LineItem
	var tags bytes.Buffer
	return rd.Each(ctx, func(rec []string, line int) error {
		item = billing.LineItem{
			ProviderName:       Oracle,
			PublisherName:      Oracle,
			InvoiceIssuerName:  Oracle,
			ChargeCategory:     "Usage",
			ChargeFrequency:    "Usage-Based",
			BillingAccountType: "Tenancy",
			SubAccountType:     "Compartment",
		}
		tags.Reset()
		for i, v := range rec {
			c := &cols[i]
			v = strings.TrimSpace(v)
			if !utf8.ValidString(v) {
				return billing.InputError(name, rd.FieldLine(i), c.name, "not valid UTF-8 text")
			}
			switch {
			case c.set != nil:
				if err := c.set(&item, v); err != nil {
					return billing.InputError(name, rd.FieldLine(i), c.name, "%v", err)
				}
			case c.tagKey != nil:
				if v != "" {
					appendTag(&tags, c.tagKey, v)
				}
			case v != "":
				if item.Extras == nil {
					item.Extras = make(map[string]string)
				}
				item.Extras[c.extra] = v
			}
		}
		if item.BillingCurrency == "" {
			return billing.InputError(name, line, "cost/currencyCode", "must not be empty")
		}
		if tags.Len() > 0 {
			tags.WriteByte('}')
			item.Tags = tags.String()
		}
		item.ServiceCategory = serviceCategory(item.ServiceName)
		return fn(&item)
	})
}

// costColumns reads a cost report header (as csvfile.Open cleaned it): it
// rejects columns repeated in any case, and checks the required ones are
// present.
func costColumns(name string, header []string) ([]costColumn, error) {
	cols := make([]costColumn, len(header))
	seen := make(map[string]bool, len(header))
	for i, h := range header {
		key := strings.ToLower(h)
		if seen[key] {
			return nil, billing.InputError(name, 1, h, "column appears twice")
		}
		seen[key] = true
		cols[i].name = h
		switch {
		case costMapping[key] != nil:
			cols[i].set = costMapping[key]
		case strings.HasPrefix(key, tagPrefix) && len(h) > len(tagPrefix):
			q, _ := json.Marshal(h[len(tagPrefix):])
			cols[i].tagKey = q
		default:
			cols[i].extra = extraName(h)
		}
	}
	var missing []string
	for _, c := range requiredCostColumns {
		if !seen[c] {
			missing = append(missing, canonicalCostName(c))
		}
	}
	if len(missing) > 0 {
		return nil, billing.InputError(name, 1, "", "not an OCI cost report: missing column(s) %s", strings.Join(missing, ", "))
	}
	return cols, nil
}

// canonicalCostName spells a lower-cased column as OCI writes it, for
// messages.
func canonicalCostName(c string) string {
	switch c {
	case colIntervalStart:
		return "lineItem/intervalUsageStart"
	case colIntervalEnd:
		return "lineItem/intervalUsageEnd"
	case colMyCost:
		return "cost/myCost"
	case colCurrency:
		return "cost/currencyCode"
	}
	return c
}

// appendTag adds "key":"value" to the JSON object being built in b.
func appendTag(b *bytes.Buffer, key []byte, value string) {
	if b.Len() == 0 {
		b.WriteByte('{')
	} else {
		b.WriteByte(',')
	}
	b.Write(key)
	b.WriteByte(':')
	q, _ := json.Marshal(value)
	b.Write(q)
}

// extraName turns a provider column such as cost/myCostOverage into the
// Extras key x_cost_myCostOverage.
func extraName(column string) string {
	var b strings.Builder
	b.WriteString("x_")
	for _, r := range column {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// serviceCategory maps OCI's product/service to a FOCUS ServiceCategory.
func serviceCategory(service string) string {
	s := strings.ToUpper(service)
	switch {
	case s == "":
		return ""
	case strings.Contains(s, "DATABASE") || strings.Contains(s, "MYSQL") || strings.Contains(s, "NOSQL") || strings.Contains(s, "EXADATA"):
		return "Databases"
	case strings.Contains(s, "STORAGE") || strings.Contains(s, "OBJECTSTORE") || strings.Contains(s, "ARCHIVE"):
		return "Storage"
	case strings.Contains(s, "NETWORK") || strings.Contains(s, "LOAD_BALANCER") || strings.Contains(s, "FASTCONNECT") ||
		strings.Contains(s, "DNS") || strings.Contains(s, "VCN") || strings.Contains(s, "VPN"):
		return "Networking"
	case strings.Contains(s, "COMPUTE") || strings.Contains(s, "CONTAINER") || strings.Contains(s, "FUNCTIONS"):
		return "Compute"
	case strings.Contains(s, "MONITORING") || strings.Contains(s, "TELEMETRY") || strings.Contains(s, "LOGGING"):
		return "Management and Governance"
	case strings.Contains(s, "SECURITY") || strings.Contains(s, "VAULT") || strings.Contains(s, "WAF"):
		return "Security"
	}
	return "Other"
}

// monthOf returns the start of t's UTC month.
func monthOf(t time.Time) time.Time { return billing.MonthStart(t) }

// IsCostReportHeader reports whether header is an OCI proprietary cost
// report's: it names the usage interval and the cost.
func IsCostReportHeader(header []string) bool {
	var interval, cost bool
	for _, h := range header {
		switch strings.ToLower(strings.TrimSpace(h)) {
		case colIntervalStart:
			interval = true
		case colMyCost:
			cost = true
		}
	}
	return interval && cost
}
