-- The periods a publish superseded, recorded in the publishing transaction
-- and removed once the old version's rows are gone: a process killed
-- between the two leaves the rows listed here, and the next command
-- removes them.

CREATE TABLE superseded_periods (
    org_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    billing_period_start TEXT NOT NULL,
    superseded_at TEXT NOT NULL,
    PRIMARY KEY (org_id, run_id, billing_period_start)
);
