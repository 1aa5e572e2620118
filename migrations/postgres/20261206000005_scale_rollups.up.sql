-- Rollups that compress: a dimension rollup without tags, a service rollup
-- that keeps only the dimensions most reports group by, tag rollups one
-- key at a time for keys with few values, the tag keys of each run, and a
-- resale column on line items that pricing fills. Reports group these in
-- the database; what they cannot answer is read from the line items.

ALTER TABLE cost_line_items ADD COLUMN resale_cost NUMERIC;

--bun:split

CREATE TABLE cost_dim_rollups (
    org_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    billing_period_start TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    cloud TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    service_name TEXT NOT NULL,
    service_category TEXT NOT NULL,
    region_id TEXT NOT NULL,
    region_name TEXT NOT NULL,
    billing_account_id TEXT NOT NULL,
    billing_account_name TEXT NOT NULL,
    sub_account_id TEXT NOT NULL,
    sub_account_name TEXT NOT NULL,
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

CREATE INDEX cost_dim_rollups_day_idx ON cost_dim_rollups (org_id, day);

--bun:split

CREATE INDEX cost_dim_rollups_period_idx ON cost_dim_rollups (org_id, billing_period_start);

--bun:split

CREATE INDEX cost_dim_rollups_run_idx ON cost_dim_rollups (org_id, run_id, billing_period_start);

--bun:split

CREATE TABLE cost_service_rollups (
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

CREATE INDEX cost_service_rollups_day_idx ON cost_service_rollups (org_id, day);

--bun:split

CREATE INDEX cost_service_rollups_period_idx ON cost_service_rollups (org_id, billing_period_start);

--bun:split

CREATE INDEX cost_service_rollups_run_idx ON cost_service_rollups (org_id, run_id, billing_period_start);

--bun:split

CREATE TABLE cost_tag_rollups (
    org_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    billing_period_start TIMESTAMPTZ NOT NULL,
    day DATE NOT NULL,
    tag_key TEXT NOT NULL,
    tag_value TEXT NOT NULL,
    cloud TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    service_name TEXT NOT NULL,
    currency TEXT NOT NULL,
    billed_cost NUMERIC NOT NULL,
    effective_cost NUMERIC NOT NULL,
    list_cost NUMERIC NOT NULL,
    contracted_cost NUMERIC NOT NULL,
    resale_cost NUMERIC NOT NULL,
    row_count BIGINT NOT NULL
);

--bun:split

CREATE INDEX cost_tag_rollups_day_idx ON cost_tag_rollups (org_id, tag_key, day);

--bun:split

CREATE INDEX cost_tag_rollups_period_idx ON cost_tag_rollups (org_id, tag_key, billing_period_start);

--bun:split

CREATE INDEX cost_tag_rollups_run_idx ON cost_tag_rollups (org_id, run_id, billing_period_start);

--bun:split

-- The tag keys a run's rows carry: value_count is how many tag rollup rows
-- the key would need, rolled_up whether it has them.
-- The key '*' not rolled up marks a run whose keys were never counted:
-- every tag report over it reads the line items.
CREATE TABLE run_tag_keys (
    org_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    tag_key TEXT NOT NULL,
    value_count INTEGER NOT NULL,
    rolled_up BOOLEAN NOT NULL,
    PRIMARY KEY (org_id, run_id, tag_key)
);

--bun:split

INSERT INTO cost_dim_rollups (org_id, connector_id, run_id, billing_period_start, day, cloud, provider_name,
    service_name, service_category, region_id, region_name, billing_account_id, billing_account_name,
    sub_account_id, sub_account_name, charge_category, charge_class, currency,
    billed_cost, effective_cost, list_cost, contracted_cost, resale_cost, row_count)
SELECT li.org_id, li.connector_id, li.run_id, li.billing_period_start, (li.charge_period_start AT TIME ZONE 'UTC')::date,
    CASE
        WHEN lower(COALESCE(NULLIF(li.provider_name, ''), li.service_provider_name, '')) IN ('aws', 'amazon web services', 'amazon', 'amazon web services, inc.') THEN 'AWS'
        WHEN lower(COALESCE(NULLIF(li.provider_name, ''), li.service_provider_name, '')) IN ('microsoft', 'azure', 'microsoft azure', 'microsoft corporation') THEN 'AZURE'
        WHEN lower(COALESCE(NULLIF(li.provider_name, ''), li.service_provider_name, '')) IN ('google cloud', 'google', 'gcp', 'google cloud platform') THEN 'GCP'
        WHEN lower(COALESCE(NULLIF(li.provider_name, ''), li.service_provider_name, '')) IN ('oracle', 'oci', 'oracle cloud', 'oracle cloud infrastructure') THEN 'OCI'
        ELSE 'OTHER' END,
    COALESCE(NULLIF(li.provider_name, ''), li.service_provider_name, ''), COALESCE(li.service_name, ''), COALESCE(li.service_category, ''),
    COALESCE(li.region_id, ''), COALESCE(li.region_name, ''), COALESCE(li.billing_account_id, ''),
    COALESCE(li.billing_account_name, ''), COALESCE(li.sub_account_id, ''), COALESCE(li.sub_account_name, ''),
    COALESCE(li.charge_category, ''), COALESCE(li.charge_class, ''), li.billing_currency,
    SUM(li.billed_cost), SUM(li.effective_cost), SUM(COALESCE(li.list_cost, 0)), SUM(COALESCE(li.contracted_cost, 0)),
    SUM(COALESCE(li.resale_cost, li.billed_cost)), COUNT(*)
FROM cost_line_items AS li
JOIN billing_partitions AS p ON p.org_id = li.org_id AND p.connector_id = li.connector_id
    AND p.billing_period_start = li.billing_period_start AND p.run_id = li.run_id
GROUP BY li.org_id, li.connector_id, li.run_id, li.billing_period_start, (li.charge_period_start AT TIME ZONE 'UTC')::date, COALESCE(NULLIF(li.provider_name, ''), li.service_provider_name, ''),
    li.service_name, li.service_category, li.region_id, li.region_name, li.billing_account_id,
    li.billing_account_name, li.sub_account_id, li.sub_account_name, li.charge_category, li.charge_class,
    li.billing_currency;

--bun:split

INSERT INTO cost_service_rollups (org_id, connector_id, run_id, billing_period_start, day, cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency,
    billed_cost, effective_cost, list_cost, contracted_cost, resale_cost, row_count)
SELECT org_id, connector_id, run_id, billing_period_start, day, cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency,
    SUM(billed_cost), SUM(effective_cost), SUM(list_cost), SUM(contracted_cost), SUM(resale_cost), SUM(row_count)
FROM cost_dim_rollups
GROUP BY org_id, connector_id, run_id, billing_period_start, day, cloud, provider_name,
    service_name, service_category, charge_category, charge_class, currency;

--bun:split

INSERT INTO run_tag_keys (org_id, run_id, tag_key, value_count, rolled_up)
SELECT DISTINCT org_id, run_id, '*', 0, FALSE FROM billing_partitions;

--bun:split

DROP TABLE cost_rollups;
