-- A running run's process renews it; one not renewed for a minute died,
-- and housekeeping fails it and removes what it wrote.

ALTER TABLE ingestion_runs ADD COLUMN renewed_at TIMESTAMPTZ;
