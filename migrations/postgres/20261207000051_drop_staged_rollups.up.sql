-- Rollups built while a run reads are now written straight into the rollup
-- tables inside the publishing transaction; the staging tables go.

DROP TABLE IF EXISTS cost_dim_rollups_staged;

--bun:split

DROP TABLE IF EXISTS cost_tag_rollups_staged;
