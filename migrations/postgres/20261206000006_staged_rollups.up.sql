-- Rollups built while a run's line items stream in wait here until the run
-- is published, when they move into the rollup tables in the same
-- transaction as the partition swap. Unlogged: a crash loses only rows of
-- runs that never published.

CREATE UNLOGGED TABLE cost_dim_rollups_staged (LIKE cost_dim_rollups);

--bun:split

CREATE INDEX cost_dim_rollups_staged_run_idx ON cost_dim_rollups_staged (org_id, run_id);

--bun:split

CREATE UNLOGGED TABLE cost_tag_rollups_staged (LIKE cost_tag_rollups);

--bun:split

CREATE INDEX cost_tag_rollups_staged_run_idx ON cost_tag_rollups_staged (org_id, run_id);
