-- Failed sign-ins and API token attempts, per account and per client
-- address (keys are hashes), so that throttling holds across replicas and
-- restarts.

CREATE TABLE login_attempts (
    key TEXT PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_failure TIMESTAMPTZ NOT NULL,
    blocked_until TIMESTAMPTZ
);

CREATE INDEX login_attempts_last_failure ON login_attempts (last_failure);
