-- Detailed billing exports: each organization's export configurations
-- (destination bucket, providers, price basis, format; a GCS key sealed)
-- and the runs that write a (customer, provider, month), queued ones
-- included: the queue is the runs waiting in status 'queued'.

CREATE TABLE export_configs (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    providers TEXT NOT NULL,
    basis TEXT NOT NULL CHECK (basis IN ('cost', 'resale')),
    format TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('s3', 'gcs')),
    bucket TEXT NOT NULL,
    prefix TEXT NOT NULL,
    region TEXT NOT NULL,
    account_id TEXT NOT NULL,
    sealed_key BLOB,
    overwrite_confirmed BOOLEAN NOT NULL,
    verified_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

--bun:split

CREATE TABLE export_runs (
    org_id TEXT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id TEXT NOT NULL,
    config_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    month TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    basis TEXT NOT NULL,
    layout TEXT NOT NULL DEFAULT '',
    assembly TEXT NOT NULL DEFAULT '',
    files TEXT NOT NULL DEFAULT '[]',
    row_count INTEGER NOT NULL DEFAULT 0,
    totals TEXT NOT NULL DEFAULT '[]',
    sources TEXT NOT NULL DEFAULT '[]',
    error TEXT NOT NULL DEFAULT '',
    queued_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    PRIMARY KEY (org_id, id)
);

--bun:split

CREATE INDEX export_runs_listed_idx ON export_runs (org_id, queued_at);

--bun:split

-- The export job finds due runs without knowing their organization.
CREATE INDEX export_runs_due_idx ON export_runs (status, next_attempt_at);
