-- The billing periods a run retired: periods a source replaced whole (FOCUS
-- files) no longer holds, removed in the same swap as the run's own.

ALTER TABLE ingestion_runs ADD COLUMN retired_periods TEXT NOT NULL DEFAULT '[]';
