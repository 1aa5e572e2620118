package billing

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// BenchmarkAggregate measures what the ingester's reader goroutine spends
// on a line item beyond decoding it — checking it, reading its tags and
// adding it to the rollups — over runs of 250,000 line items: tags as
// BenchmarkScale writes them (a user and a SessionID vary per row, so tag
// objects rarely repeat), and tags that are the resource's own (20,000
// objects, each repeated, more than the tag cache holds).
func BenchmarkAggregate(b *testing.B) {
	const rows = 250_000
	for _, bc := range []struct {
		name   string
		perRow bool
	}{{"export", true}, {"resource-tags", false}} {
		b.Run(bc.name, func(b *testing.B) {
			items := benchItems(rows, bc.perRow)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			b.ResetTimer()
			for range b.N {
				agg := newAggregator()
				if err := agg.addBatch(items); err != nil {
					b.Fatal(err)
				}
				if _, _, ok := agg.finish(rows); !ok {
					b.Fatal("rollups not built")
				}
			}
			b.StopTimer()
			runtime.ReadMemStats(&after)
			n := float64(b.N) * rows
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/row")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/row")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/n, "B/row")
		})
	}
}

// benchItems are line items shaped like the exports BenchmarkScale (in
// adapters/sqlstore) generates: 40 services, 30 regions, 10 sub accounts,
// 20,000 resources over four providers; tags team 8 values,
// env 3, cost_center 40, project 200, user 500, Name one per resource,
// SessionID about one per five rows. Each row's strings are fresh, as a
// CSV reader's are. Unless perRow, user and SessionID are the resource's
// too.
func benchItems(n int, perRow bool) []LineItem {
	rng := rand.New(rand.NewPCG(1, 2))
	month := time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)
	next := month.AddDate(0, 1, 0)
	hours := int(next.Sub(month).Hours())
	providers := []string{"AWS", "Microsoft", "Google Cloud", "Oracle"}
	items := make([]LineItem, n)
	for i := range items {
		res := rng.IntN(20_000)
		p := res % len(providers)
		svc := (res / 4) % 40
		hour := month.Add(time.Duration(rng.IntN(hours)) * time.Hour)
		qty, price := rng.IntN(100_000), 1+rng.IntN(50_000)
		cost := fmt.Sprintf("%d.%07d", qty*price/10_000_000, (qty*price)%10_000_000)
		list := fmt.Sprintf("%d.%07d", qty*price*12/100_000_000, (qty*price*12/10)%10_000_000)
		user, session := rng.IntN(500), rng.IntN(n/5+1)
		if !perRow {
			user, session = res%500, res
		}
		category := "Usage"
		if i%97 == 0 {
			category = "Tax"
		}
		l := &items[i]
		*l = LineItem{
			BillingPeriodStart: month, BillingPeriodEnd: next,
			ChargePeriodStart: hour, ChargePeriodEnd: hour.Add(time.Hour),
			BillingCurrency: "USD", BilledCost: Number(cost), EffectiveCost: Number(cost), ListCost: Number(list),
			ContractedCost: Number(cost), ProviderName: providers[p],
			ServiceName: fmt.Sprintf("Service %02d", svc), ServiceCategory: fmt.Sprintf("Category %d", svc%8),
			RegionID: fmt.Sprintf("region-%02d", res%30), RegionName: fmt.Sprintf("Region %02d", res%30),
			BillingAccountID: fmt.Sprintf("payer-0-%d", p), BillingAccountName: fmt.Sprintf("Payer %d", p),
			SubAccountID: fmt.Sprintf("sub-0-%d", res%10), SubAccountName: fmt.Sprintf("Account %d", res%10),
			ChargeCategory: category, ChargeClass: "",
			ResourceID: fmt.Sprintf("res-0-%05d", res),
			Tags: fmt.Sprintf(`{"team":"t%d","env":"%s","cost_center":"cc%02d","project":"p%03d","user":"u%03d","Name":"host-%05d","SessionID":"%s-%06d"}`,
				res%8, []string{"prod", "stage", "dev"}[res%3], res%40, res%200, user, res,
				month.Format("0601"), session),
		}
	}
	return items
}
