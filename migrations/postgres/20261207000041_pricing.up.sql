-- Reseller pricing: pricebooks of rules, their assignment to customers
-- month by month, a customer's global discount or uplift, support plans
-- and credits. Amounts and percentages are exact decimals.

CREATE TABLE pricebooks (
    reseller_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (reseller_id, id)
);

--bun:split

CREATE TABLE pricebook_rules (
    reseller_id TEXT NOT NULL,
    pricebook_id TEXT NOT NULL,
    id TEXT NOT NULL,
    scope TEXT NOT NULL,
    value TEXT NOT NULL,
    type TEXT NOT NULL,
    percent NUMERIC NOT NULL,
    unit_price NUMERIC NOT NULL,
    pricing_unit TEXT NOT NULL,
    priority INTEGER NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (reseller_id, pricebook_id, id),
    FOREIGN KEY (reseller_id, pricebook_id) REFERENCES pricebooks (reseller_id, id) ON DELETE CASCADE
);

--bun:split

-- A history: the newest assignment effective in a month prices it.
-- pricebook_id is empty for "no pricebook from this month on".
CREATE TABLE pricing_assignments (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    effective_month TIMESTAMPTZ NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    pricebook_id TEXT NOT NULL,
    PRIMARY KEY (org_id, effective_month, created_at)
);

--bun:split

CREATE TABLE pricing_customers (
    org_id TEXT NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    adjustment NUMERIC NOT NULL
);

--bun:split

-- cloud is empty for a plan over every provider.
CREATE TABLE support_plans (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    cloud TEXT NOT NULL,
    percent NUMERIC NOT NULL,
    tiers TEXT NOT NULL,
    minimum NUMERIC NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (org_id, cloud)
);

--bun:split

CREATE TABLE pricing_credits (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    month TIMESTAMPTZ NOT NULL,
    amount NUMERIC NOT NULL,
    currency TEXT NOT NULL,
    cloud TEXT NOT NULL,
    reason TEXT NOT NULL,
    allow_negative BOOLEAN NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id)
);
