-- Rollups built while a run's line items stream in wait here until the run
-- is published, when they move into the rollup tables in the same
-- transaction as the partition swap.

CREATE TABLE cost_dim_rollups_staged AS SELECT * FROM cost_dim_rollups WHERE 0;

--bun:split

CREATE INDEX cost_dim_rollups_staged_run_idx ON cost_dim_rollups_staged (org_id, run_id);

--bun:split

CREATE TABLE cost_tag_rollups_staged AS SELECT * FROM cost_tag_rollups WHERE 0;

--bun:split

CREATE INDEX cost_tag_rollups_staged_run_idx ON cost_tag_rollups_staged (org_id, run_id);
