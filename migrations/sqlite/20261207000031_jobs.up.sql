-- Background jobs a user started (test a connector, sync it, provision
-- billing, check billing status): their state, progress and outcome, so a
-- restart shows them failed, not lost.

CREATE TABLE jobs (
    org_id TEXT NOT NULL,
    id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject_id TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    -- fraction done, 0 to 1; NULL when the job cannot tell
    progress REAL,
    message TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '',
    error TEXT NOT NULL DEFAULT '',
    error_code TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    heartbeat_at TEXT NOT NULL,
    PRIMARY KEY (org_id, id)
);

CREATE INDEX jobs_unfinished_idx ON jobs (heartbeat_at) WHERE state IN ('queued', 'running');
