-- Billing cycles: a reseller's customer's month, open until closed. A row
-- of billing_cycles is a closed month and keeps its bill and the pricing
-- it was made with (JSON); reopening deletes it. The audit trail keeps
-- every close and reopen. A carry is what a closed month's restatement
-- still owes (pending, billed in the next open month) and what closed
-- months already billed of it (billed).

CREATE TABLE billing_cycles (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    month TIMESTAMPTZ NOT NULL,
    closed_at TIMESTAMPTZ NOT NULL,
    closed_by TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    PRIMARY KEY (org_id, month)
);

--bun:split

CREATE TABLE billing_cycle_events (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    month TIMESTAMPTZ NOT NULL,
    action TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (org_id, id)
);

--bun:split

CREATE TABLE billing_cycle_carries (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    from_month TIMESTAMPTZ NOT NULL,
    currency TEXT NOT NULL,
    pending NUMERIC NOT NULL,
    billed NUMERIC NOT NULL,
    PRIMARY KEY (org_id, from_month, currency)
);
