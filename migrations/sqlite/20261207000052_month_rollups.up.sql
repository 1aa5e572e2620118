-- The service rollup summed by charge month: a year of one customer is
-- some thousand rows instead of tens of thousands, for the monthly and
-- whole-month reports that dashboards ask for most. day holds the first
-- day of the month.

CREATE TABLE cost_month_rollups (
    org_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    billing_period_start TEXT NOT NULL,
    day TEXT NOT NULL,
    cloud TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    service_name TEXT NOT NULL,
    service_category TEXT NOT NULL,
    charge_category TEXT NOT NULL,
    charge_class TEXT NOT NULL,
    currency TEXT NOT NULL,
    billed_cost TEXT NOT NULL,
    effective_cost TEXT NOT NULL,
    list_cost TEXT NOT NULL,
    contracted_cost TEXT NOT NULL,
    resale_cost TEXT NOT NULL,
    row_count BIGINT NOT NULL
);

--bun:split

CREATE INDEX cost_month_rollups_day_idx ON cost_month_rollups (org_id, day);

--bun:split

CREATE INDEX cost_month_rollups_period_idx ON cost_month_rollups (org_id, billing_period_start);

--bun:split

CREATE INDEX cost_month_rollups_run_idx ON cost_month_rollups (org_id, run_id, billing_period_start);

--bun:split

INSERT INTO cost_month_rollups (org_id, connector_id, run_id, billing_period_start, day, cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency,
    billed_cost, effective_cost, list_cost, contracted_cost, resale_cost, row_count)
SELECT org_id, connector_id, run_id, billing_period_start, substr(day, 1, 7) || '-01 00:00:00+00:00', cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency,
    decsum(billed_cost), decsum(effective_cost), decsum(list_cost), decsum(contracted_cost), decsum(resale_cost), SUM(row_count)
FROM cost_service_rollups
GROUP BY org_id, connector_id, run_id, billing_period_start, substr(day, 1, 7) || '-01 00:00:00+00:00', cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency;
