-- The service rollup summed by charge month: a year of one customer is
-- some thousand rows instead of tens of thousands, for the monthly and
-- whole-month reports that dashboards ask for most. day holds the first
-- day of the month.

CREATE TABLE cost_month_rollups (
    org_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    billing_period_start TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    cloud TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    service_name TEXT NOT NULL,
    service_category TEXT NOT NULL,
    charge_category TEXT NOT NULL,
    charge_class TEXT NOT NULL,
    currency TEXT NOT NULL,
    billed_cost NUMERIC NOT NULL,
    effective_cost NUMERIC NOT NULL,
    list_cost NUMERIC NOT NULL,
    contracted_cost NUMERIC NOT NULL,
    resale_cost NUMERIC NOT NULL,
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
SELECT org_id, connector_id, run_id, billing_period_start, date_trunc('month', day::timestamp)::date, cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency,
    SUM(billed_cost), SUM(effective_cost), SUM(list_cost), SUM(contracted_cost), SUM(resale_cost), SUM(row_count)
FROM cost_service_rollups
GROUP BY org_id, connector_id, run_id, billing_period_start, date_trunc('month', day::timestamp)::date, cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency;
