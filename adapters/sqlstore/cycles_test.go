package sqlstore_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/uptrace/bun"

	"github.com/truecost/truecost/adapters/sqlstore"
	"github.com/truecost/truecost/adapters/sqlstore/sqltest"
	"github.com/truecost/truecost/domain"
	"github.com/truecost/truecost/domain/billing"
	"github.com/truecost/truecost/domain/pricing"
	"github.com/truecost/truecost/domain/tenancy"
)

// usage is one FOCUS usage row of a test export.
type usage struct {
	month   string // YYYY-MM
	service string
	cost    string
}

// writeUsageFOCUS writes a FOCUS 1.2 file of usage rows, each a copy of the
// sample's first row with its month, service and costs replaced.
func writeUsageFOCUS(t *testing.T, path string, rows []usage) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "focus-1.2-sample.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	base, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(out)
	_ = w.Write(head)
	for _, u := range rows {
		start, err := time.Parse("2006-01", u.month)
		if err != nil {
			t.Fatal(err)
		}
		row := append([]string(nil), base...)
		set := func(name, v string) { row[col[name]] = v }
		set("BillingPeriodStart", start.Format(time.RFC3339))
		set("BillingPeriodEnd", start.AddDate(0, 1, 0).Format(time.RFC3339))
		set("ChargePeriodStart", start.AddDate(0, 0, 9).Format(time.RFC3339))
		set("ChargePeriodEnd", start.AddDate(0, 0, 10).Format(time.RFC3339))
		set("ServiceName", u.service)
		set("SkuId", "SKU-"+u.service)
		for _, c := range []string{"BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingCurrencyEffectiveCost"} {
			set(c, u.cost)
		}
		_ = w.Write(row)
	}
	w.Flush()
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// cyclesEnv is a reseller with a customer Acme priced at a 10% markup, and
// a pricing service whose clock reads December 10, 2026.
type cyclesEnv struct {
	pricingEnv
	acme   tenancy.Organization
	pb     pricing.Pricebook
	path   string
	closed []string
}

func newCyclesEnv(t *testing.T, s *sqlstore.Store) *cyclesEnv {
	t.Helper()
	ctx := context.Background()
	ce := &cyclesEnv{pricingEnv: newPricingEnv(t, s)}
	ce.pricing = pricing.NewService(s, s, tenancy.NewID,
		pricing.WithClock(func() time.Time { return date("2026-12-10") }),
		pricing.WithCloseObserver(func(_ context.Context, orgID string, m time.Time) {
			ce.closed = append(ce.closed, orgID+" "+m.Format("2006-01"))
		}))
	acme, err := ce.tenancy.CreateOrganization(ctx, system, "acme", "Acme", tenancy.Customer, "reseller")
	if err != nil {
		t.Fatal(err)
	}
	ce.acme = acme
	if ce.pb, err = ce.pricing.CreatePricebook(ctx, ce.reseller, "Ten"); err != nil {
		t.Fatal(err)
	}
	if ce.pb, err = ce.pricing.PutRule(ctx, ce.reseller, ce.pb.ID, pricing.Rule{Scope: pricing.ScopeAll, Type: pricing.Markup, Percent: num("10")}); err != nil {
		t.Fatal(err)
	}
	if _, err := ce.pricing.Assign(ctx, ce.reseller, acme.ID, ce.pb.ID, date("2026-01-01")); err != nil {
		t.Fatal(err)
	}
	ce.path = filepath.Join(t.TempDir(), "acme.csv")
	return ce
}

func (ce *cyclesEnv) load(t *testing.T, rows []usage) {
	t.Helper()
	writeUsageFOCUS(t, ce.path, rows)
	if _, err := ce.ingest(t, ce.acme, ce.path); err != nil {
		t.Fatal(err)
	}
}

func (ce *cyclesEnv) bill(t *testing.T, month string) pricing.Bill {
	t.Helper()
	b, _, err := ce.pricing.Bill(context.Background(), ce.reseller, ce.acme.ID, date(month+"-01"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func total(t *testing.T, b pricing.Bill) decimal.Decimal {
	t.Helper()
	if len(b.Totals) != 1 {
		t.Fatalf("bill of %s: got totals %+v, want one currency", b.Month.Format("2006-01"), b.Totals)
	}
	return b.Totals[0].Resale
}

func (ce *cyclesEnv) resale(t *testing.T, from, to string) decimal.Decimal {
	t.Helper()
	rep, err := ce.reporter.Report(context.Background(), system, billing.CostQuery{OrgID: ce.acme.ID, From: date(from),
		To: date(to), DateBasis: billing.BillingPeriod, Metric: billing.ResaleCost})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Totals) != 1 {
		t.Fatalf("got totals %v, want one currency", rep.Totals)
	}
	return rep.Totals[0].Amount
}

func wantConflict(t *testing.T, what string, err error, msg string) {
	t.Helper()
	if domain.ErrorCode(err) != domain.Conflict || !strings.Contains(domain.ErrorMessage(err), msg) {
		t.Errorf("%s: got %v, want conflict %q", what, err, msg)
	}
}

func TestClosedMonthRefusesChangesInDomainAndStore(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ce := newCyclesEnv(t, s)
		ctx := context.Background()
		ce.load(t, []usage{{"2026-10", "Compute", "100.00"}, {"2026-11", "Compute", "200.00"}})
		if _, err := ce.pricing.CloseMonth(ctx, ce.reseller, ce.acme.ID, date("2026-10-01")); err != nil {
			t.Fatal(err)
		}
		const msg = "October 2026 is closed for Acme"
		oct := date("2026-10-01")
		_, err := ce.pricing.Assign(ctx, ce.reseller, ce.acme.ID, "", oct)
		wantConflict(t, "assignment in October", err, msg)
		_, err = ce.pricing.Assign(ctx, ce.reseller, ce.acme.ID, "", date("2026-09-01"))
		wantConflict(t, "assignment from September", err, msg)
		_, err = ce.pricing.PutRule(ctx, ce.reseller, ce.pb.ID, pricing.Rule{Scope: pricing.ScopeAll, Type: pricing.Markup, Percent: num("20")})
		wantConflict(t, "rule change", err, msg)
		_, err = ce.pricing.RemoveRule(ctx, ce.reseller, ce.pb.ID, ce.pb.Rules[0].ID)
		wantConflict(t, "rule removal", err, msg)
		_, err = ce.pricing.AddCredit(ctx, ce.reseller, pricing.Credit{OrgID: ce.acme.ID, Month: oct, Amount: num("5"), Currency: "USD", Reason: "r"})
		wantConflict(t, "credit", err, msg)
		_, err = ce.pricing.PutSupportPlan(ctx, ce.reseller, pricing.SupportPlan{OrgID: ce.acme.ID, Percent: num("3"), From: oct})
		wantConflict(t, "support plan", err, msg)
		_, err = ce.pricing.SetAdjustmentFrom(ctx, ce.reseller, ce.acme.ID, num("-5"), oct)
		wantConflict(t, "discount", err, msg)

		// The store refuses on its own, whoever calls it.
		err = s.AddAssignment(ctx, pricing.Assignment{OrgID: ce.acme.ID, EffectiveMonth: oct, CreatedAt: time.Now()})
		wantConflict(t, "store assignment", err, msg)
		err = s.AddCredit(ctx, pricing.Credit{ID: "c1", OrgID: ce.acme.ID, Month: oct, Amount: num("5"), Currency: "USD", Reason: "r", CreatedAt: time.Now()})
		wantConflict(t, "store credit", err, msg)
		_, err = s.UpdatePricebook(ctx, ce.reseller.Org.ID, ce.pb.ID, func(pb *pricing.Pricebook) error {
			pb.Rules[0].Percent = num("50")
			pb.Version++
			return nil
		})
		wantConflict(t, "store rule change", err, msg)

		// November is open: changes effective there are fine and leave
		// October as it closed.
		if _, err := ce.pricing.Assign(ctx, ce.reseller, ce.acme.ID, "", date("2026-11-01")); err != nil {
			t.Fatal(err)
		}
		if _, err := ce.pricing.PutSupportPlan(ctx, ce.reseller, pricing.SupportPlan{OrgID: ce.acme.ID, Percent: num("3"), From: date("2026-11-01")}); err != nil {
			t.Fatal(err)
		}
		if got := total(t, ce.bill(t, "2026-10")); !got.Equal(num("110")) {
			t.Errorf("October after November's changes: got %s, want 110", got)
		}
		if got := total(t, ce.bill(t, "2026-11")); !got.Equal(num("206")) {
			t.Errorf("November at cost plus 3%% support: got %s, want 206", got)
		}
		if got := ce.resale(t, "2026-10-01", "2026-11-01"); !got.Equal(num("110")) {
			t.Errorf("costs(RESALE_COST) of October: got %s, want 110", got)
		}
		sums, err := ce.pricing.CustomerSummaries(ctx, ce.reseller, date("2026-11-01"))
		if err != nil || len(sums) != 1 || sums[0].Org.ID != ce.acme.ID || !sums[0].Cost.Equal(num("200")) ||
			!sums[0].Resale.Equal(num("206")) || !sums[0].Margin.Equal(num("6")) || sums[0].Currency != "USD" {
			t.Errorf("customer summaries of November: got %+v, %v", sums, err)
		}
		// A month that has not ended does not close.
		if _, err := ce.pricing.CloseMonth(ctx, ce.reseller, ce.acme.ID, date("2026-12-01")); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("closing December on December 10: got %v, want invalid", err)
		}
		if _, err := ce.pricing.CloseMonth(ctx, ce.reseller, ce.acme.ID, oct); domain.ErrorCode(err) != domain.Conflict {
			t.Errorf("closing October twice: got %v, want conflict", err)
		}
		if len(ce.closed) != 1 || ce.closed[0] != ce.acme.ID+" 2026-10" {
			t.Errorf("close observer: got %v, want one call for October", ce.closed)
		}
		if ok, err := ce.pricing.MonthClosed(ctx, ce.reseller, ce.acme.ID, date("2026-10-20")); err != nil || !ok {
			t.Errorf("MonthClosed(October): got %v, %v", ok, err)
		}
		if ok, err := ce.pricing.MonthClosed(ctx, ce.reseller, ce.acme.ID, date("2026-11-01")); err != nil || ok {
			t.Errorf("MonthClosed(November): got %v, %v", ok, err)
		}
	})
}

func TestRestatedClosedMonthCarriesTheDifferenceIntoTheNextOpenMonth(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ce := newCyclesEnv(t, s)
		ctx := context.Background()
		ce.load(t, []usage{{"2026-10", "Compute", "100.00"}, {"2026-10", "Storage", "50.00"}, {"2026-11", "Compute", "200.00"}})
		if _, err := ce.pricing.CloseMonth(ctx, ce.reseller, ce.acme.ID, date("2026-10-01")); err != nil {
			t.Fatal(err)
		}
		closedOct := ce.bill(t, "2026-10")
		if got := total(t, closedOct); !got.Equal(num("165")) || !closedOct.Closed {
			t.Fatalf("closed October: got %s (closed %v), want 165", got, closedOct.Closed)
		}

		// The provider restates October: 30 more of storage.
		ce.load(t, []usage{{"2026-10", "Compute", "100.00"}, {"2026-10", "Storage", "80.00"}, {"2026-11", "Compute", "200.00"}})
		oct, nov := ce.bill(t, "2026-10"), ce.bill(t, "2026-11")
		if got := total(t, oct); !got.Equal(num("165")) || len(oct.Lines) != len(closedOct.Lines) {
			t.Errorf("October after the restatement: got %s in %d lines, want the closed 165 in %d", got, len(oct.Lines), len(closedOct.Lines))
		}
		var adj *pricing.BillLine
		for i, l := range nov.Lines {
			if l.Kind == pricing.LineKind(pricing.Restatement) {
				adj = &nov.Lines[i]
			}
		}
		if adj == nil || !adj.Resale.Equal(num("33")) || !adj.RestatedMonth.Equal(date("2026-10-01")) {
			t.Fatalf("November's restatement line: got %+v, want 33 for October", adj)
		}
		// Both months reconcile with the new source priced: (180 + 200) × 1.1.
		if got := total(t, oct).Add(total(t, nov)); !got.Equal(num("418")) {
			t.Errorf("October + November bills: got %s, want 418", got)
		}
		if got := ce.resale(t, "2026-10-01", "2026-11-01"); !got.Equal(num("165")) {
			t.Errorf("costs(RESALE_COST) of October: got %s, want the closed 165", got)
		}
		if got := ce.resale(t, "2026-10-01", "2026-12-01"); !got.Equal(num("418")) {
			t.Errorf("costs(RESALE_COST) of October and November: got %s, want 418", got)
		}

		// Closing November bills the restatement; a second restatement
		// of October then goes to December.
		if _, err := ce.pricing.CloseMonth(ctx, ce.reseller, ce.acme.ID, date("2026-11-01")); err != nil {
			t.Fatal(err)
		}
		ce.load(t, []usage{{"2026-10", "Compute", "100.00"}, {"2026-10", "Storage", "90.00"}, {"2026-11", "Compute", "200.00"},
			{"2026-12", "Compute", "10.00"}})
		if got := total(t, ce.bill(t, "2026-11")); !got.Equal(num("253")) {
			t.Errorf("closed November: got %s, want 253", got)
		}
		if got := total(t, ce.bill(t, "2026-12")); !got.Equal(num("22")) {
			t.Errorf("December with 11 of October's second restatement: got %s, want 22", got)
		}
		if got := ce.resale(t, "2026-10-01", "2027-01-01"); !got.Equal(num("440")) {
			t.Errorf("costs(RESALE_COST) of October to December: got %s, want (190+200+10) × 1.1 = 440", got)
		}

		// Reopening needs a reason, the latest closed month first, and is
		// in the audit trail.
		if err := ce.pricing.ReopenMonth(ctx, ce.reseller, ce.acme.ID, date("2026-11-01"), " "); domain.ErrorCode(err) != domain.Invalid {
			t.Errorf("reopen without a reason: got %v, want invalid", err)
		}
		err := ce.pricing.ReopenMonth(ctx, ce.reseller, ce.acme.ID, date("2026-10-01"), "wrong storage")
		wantConflict(t, "reopen October before November", err, "November 2026 is closed for Acme")
		if err := ce.pricing.ReopenMonth(ctx, ce.reseller, ce.acme.ID, date("2026-11-01"), "customer disputes the restatement"); err != nil {
			t.Fatal(err)
		}
		if got := total(t, ce.bill(t, "2026-11")); !got.Equal(num("264")) {
			t.Errorf("reopened November: got %s, want 220 + both restatements (44) = 264", got)
		}
		if got := total(t, ce.bill(t, "2026-12")); !got.Equal(num("11")) {
			t.Errorf("December after November reopened: got %s, want 11", got)
		}
		events, err := ce.pricing.CycleEvents(ctx, ce.reseller, ce.acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 3 || events[0].Action != pricing.ReopenAction || events[0].Reason != "customer disputes the restatement" ||
			events[0].Actor == "" {
			t.Errorf("audit trail: got %+v, want the reopen with its reason first of three", events)
		}
		cycles, err := ce.pricing.Cycles(ctx, ce.reseller, ce.acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		var states []string
		for _, c := range cycles {
			states = append(states, c.Month.Format("2006-01")+" "+string(c.State))
		}
		if got := strings.Join(states, ", "); got != "2026-12 OPEN, 2026-11 OPEN, 2026-10 CLOSED" {
			t.Errorf("cycles: got %s", got)
		}
	})
}

func TestCloseDueClosesEndedMonthsOnce(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ce := newCyclesEnv(t, s)
		ctx := context.Background()
		ce.load(t, []usage{{"2026-10", "Compute", "100.00"}, {"2026-11", "Compute", "200.00"}, {"2026-12", "Compute", "1.00"}})
		job := tenancy.SystemPrincipal("test")
		// On December 10, five days after month end: October and November.
		done, err := ce.pricing.CloseDue(ctx, job, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(done) != 2 {
			t.Errorf("first pass closed %v, want October and November", done)
		}
		done, err = ce.pricing.CloseDue(ctx, job, 5)
		if err != nil || len(done) != 0 {
			t.Errorf("second pass: got %v, %v, want nothing", done, err)
		}
		if _, err := ce.pricing.CloseDue(ctx, ce.reseller, 5); domain.ErrorCode(err) != domain.Forbidden {
			t.Errorf("a user closing due months: got %v, want forbidden", err)
		}
	})
}

// statements counts the statements a store runs.
type statements struct {
	mu sync.Mutex
	n  int
}

func (c *statements) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }

func (c *statements) AfterQuery(context.Context, *bun.QueryEvent) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
}

func TestCustomerSummariesTakeTwoStatementsHoweverManyCustomers(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ce := newCyclesEnv(t, s)
		ctx := context.Background()
		ce.load(t, []usage{{"2026-11", "Compute", "200.00"}})
		for _, slug := range []string{"beta", "gamma", "delta"} {
			ce.customer(t, slug)
		}
		count := &statements{}
		counted := s.WithQueryHook(count)
		svc := pricing.NewService(counted, counted, tenancy.NewID)
		sums, err := svc.CustomerSummaries(ctx, ce.reseller, date("2026-11-01"))
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 4 || count.n != 2 {
			t.Errorf("got %d summaries in %d statements, want 4 in 2", len(sums), count.n)
		}
	})
}

func TestRestatementIsPricedAsTheClosedMonthWas(t *testing.T) {
	sqltest.Each(t, func(t *testing.T, s *sqlstore.Store) {
		ce := newCyclesEnv(t, s)
		ctx := context.Background()
		if _, err := ce.pricing.PutSupportPlan(ctx, ce.reseller, pricing.SupportPlan{OrgID: ce.acme.ID, Percent: num("10")}); err != nil {
			t.Fatal(err)
		}
		ce.load(t, []usage{{"2026-10", "Compute", "100"}, {"2026-11", "Compute", "200"}})
		if _, err := ce.pricing.CloseMonth(ctx, ce.reseller, ce.acme.ID, date("2026-10-01")); err != nil {
			t.Fatal(err)
		}
		// From November support is 20%; October closed with 10%.
		if _, err := ce.pricing.PutSupportPlan(ctx, ce.reseller, pricing.SupportPlan{OrgID: ce.acme.ID, Percent: num("20"),
			From: date("2026-11-01")}); err != nil {
			t.Fatal(err)
		}
		ce.load(t, []usage{{"2026-10", "Compute", "130"}, {"2026-11", "Compute", "200"}})
		if got := total(t, ce.bill(t, "2026-10")); !got.Equal(num("121")) {
			t.Errorf("closed October: got %s, want 110 + 10%% support = 121", got)
		}
		// October restated: 143 + 14.3 support at October's 10% = 157.3,
		// 36.3 more than billed; November: 220 + 44 support at 20%.
		if got := total(t, ce.bill(t, "2026-11")); !got.Equal(num("300.3")) {
			t.Errorf("November: got %s, want 220 + 44 + 36.3 = 300.3", got)
		}
	})
}
