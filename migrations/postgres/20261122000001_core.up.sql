-- Core schema: tenancy, connectors, ingestion runs, line items, rollups, job locks.
-- Every tenant-owned table leads with org_id so it can be distributed by it.

CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('reseller', 'customer')),
    reseller_id TEXT REFERENCES organizations (id),
    created_at TIMESTAMPTZ NOT NULL
);

--bun:split

CREATE INDEX organizations_reseller_idx ON organizations (reseller_id);

--bun:split

CREATE TABLE users (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    id TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member')),
    password_hash TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id)
);

--bun:split

CREATE TABLE api_tokens (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ,
    PRIMARY KEY (org_id, id)
);

--bun:split

CREATE TABLE sessions (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    csrf TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id)
);

--bun:split

CREATE TABLE billing_connectors (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    id TEXT NOT NULL,
    provider TEXT NOT NULL,
    name TEXT NOT NULL,
    location TEXT NOT NULL,
    format TEXT NOT NULL,
    status TEXT NOT NULL,
    last_sync_at TIMESTAMPTZ,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, provider, location)
);

--bun:split

CREATE TABLE ingestion_runs (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    status TEXT NOT NULL,
    format TEXT NOT NULL DEFAULT '',
    source_version TEXT NOT NULL DEFAULT '',
    files TEXT NOT NULL DEFAULT '[]',
    row_count BIGINT NOT NULL DEFAULT 0,
    periods TEXT NOT NULL DEFAULT '[]',
    totals TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    PRIMARY KEY (org_id, id)
);

--bun:split

CREATE INDEX ingestion_runs_connector_idx ON ingestion_runs (org_id, connector_id, started_at);

--bun:split

CREATE INDEX ingestion_runs_started_idx ON ingestion_runs (org_id, started_at);

--bun:split

-- The active version of each replaceable (connector, billing period)
-- partition: readers see only rows of the run named here.
CREATE TABLE billing_partitions (
    org_id TEXT NOT NULL REFERENCES organizations (id),
    connector_id TEXT NOT NULL,
    billing_period_start TIMESTAMPTZ NOT NULL,
    run_id TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, connector_id, billing_period_start)
);

--bun:split

CREATE TABLE cost_line_items (
    org_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    billing_period_start TIMESTAMPTZ NOT NULL,
    billing_period_end TIMESTAMPTZ NOT NULL,
    charge_period_start TIMESTAMPTZ NOT NULL,
    charge_period_end TIMESTAMPTZ NOT NULL,
    billing_currency TEXT NOT NULL,
    billed_cost NUMERIC NOT NULL,
    effective_cost NUMERIC NOT NULL,
    list_cost NUMERIC,
    contracted_cost NUMERIC,
    list_unit_price NUMERIC,
    contracted_unit_price NUMERIC,
    pricing_quantity NUMERIC,
    consumed_quantity NUMERIC,
    commitment_discount_quantity NUMERIC,
    pricing_currency_contracted_unit_price NUMERIC,
    pricing_currency_effective_cost NUMERIC,
    pricing_currency_list_unit_price NUMERIC,
    availability_zone TEXT,
    billing_account_id TEXT,
    billing_account_name TEXT,
    billing_account_type TEXT,
    capacity_reservation_id TEXT,
    capacity_reservation_status TEXT,
    charge_category TEXT,
    charge_class TEXT,
    charge_description TEXT,
    charge_frequency TEXT,
    commitment_discount_category TEXT,
    commitment_discount_id TEXT,
    commitment_discount_name TEXT,
    commitment_discount_status TEXT,
    commitment_discount_type TEXT,
    commitment_discount_unit TEXT,
    consumed_unit TEXT,
    invoice_id TEXT,
    invoice_issuer_name TEXT,
    pricing_category TEXT,
    pricing_currency TEXT,
    pricing_unit TEXT,
    provider_name TEXT,
    publisher_name TEXT,
    region_id TEXT,
    region_name TEXT,
    resource_id TEXT,
    resource_name TEXT,
    resource_type TEXT,
    service_category TEXT,
    service_name TEXT,
    service_subcategory TEXT,
    sku_id TEXT,
    sku_meter TEXT,
    sku_price_id TEXT,
    sub_account_id TEXT,
    sub_account_name TEXT,
    sub_account_type TEXT,
    service_provider_name TEXT,
    host_provider_name TEXT,
    allocated_method_id TEXT,
    allocated_resource_id TEXT,
    allocated_resource_name TEXT,
    tags JSONB,
    sku_price_details JSONB,
    contract_applied JSONB,
    allocated_method_details JSONB,
    allocated_tags JSONB,
    extras JSONB
);

--bun:split

CREATE INDEX cost_line_items_run_idx ON cost_line_items (org_id, run_id, billing_period_start);

--bun:split

CREATE TABLE cost_rollups (
    org_id TEXT NOT NULL,
    connector_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    day DATE NOT NULL,
    billing_period_start TIMESTAMPTZ NOT NULL,
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
    tags TEXT NOT NULL,
    billed_cost NUMERIC NOT NULL,
    effective_cost NUMERIC NOT NULL,
    list_cost NUMERIC NOT NULL,
    contracted_cost NUMERIC NOT NULL,
    row_count BIGINT NOT NULL
);

--bun:split

CREATE INDEX cost_rollups_day_idx ON cost_rollups (org_id, day);

--bun:split

CREATE INDEX cost_rollups_period_idx ON cost_rollups (org_id, billing_period_start);

--bun:split

CREATE INDEX cost_rollups_run_idx ON cost_rollups (org_id, run_id);

--bun:split

-- One row per (job, time slot): the replica that inserts it runs the job.
CREATE TABLE job_locks (
    job_name TEXT NOT NULL,
    slot TIMESTAMPTZ NOT NULL,
    owner TEXT NOT NULL,
    locked_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (job_name, slot)
);
