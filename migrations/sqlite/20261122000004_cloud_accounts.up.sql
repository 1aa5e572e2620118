-- Cloud accounts with their billing status and its history, and the billing
-- infrastructure provisioned once per provider of an organization with the
-- ledger of what provisioning created.

CREATE TABLE cloud_accounts (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    provider TEXT NOT NULL CHECK (provider IN ('aws', 'azure', 'gcp', 'oci')),
    name TEXT NOT NULL,
    provider_account_id TEXT NOT NULL,
    billing_account_id TEXT NOT NULL DEFAULT '',
    external_id TEXT NOT NULL DEFAULT '',
    credentials BLOB,
    status TEXT NOT NULL CHECK (status IN ('checking', 'provisioned', 'unprovisioned')),
    status_detail TEXT NOT NULL DEFAULT '',
    status_since TEXT NOT NULL,
    last_checked_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id),
    UNIQUE (org_id, provider, provider_account_id)
);

--bun:split

-- One row per status change of an account; seq orders an account's changes.
CREATE TABLE cloud_account_status_changes (
    org_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    changed_at TEXT NOT NULL,
    PRIMARY KEY (org_id, account_id, seq),
    FOREIGN KEY (org_id, account_id) REFERENCES cloud_accounts (org_id, id) ON DELETE CASCADE
);

--bun:split

-- The account that provisioned the infrastructure may be removed once it is
-- deprovisioned, so account_id has no foreign key; the row stays to reuse
-- its connector when billing is provisioned again.
CREATE TABLE billing_infrastructure (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    settings TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    error TEXT NOT NULL DEFAULT '',
    ledger TEXT NOT NULL DEFAULT '[]',
    connector_id TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    provisioned_at TEXT,
    PRIMARY KEY (org_id, provider)
);
