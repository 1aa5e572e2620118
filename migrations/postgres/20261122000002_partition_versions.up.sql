-- The source version each partition was loaded from, so a source whose
-- months change independently (AWS assemblies, Azure runs, GCP invoice
-- months) reloads only the months that changed.
ALTER TABLE billing_partitions ADD COLUMN source_version TEXT NOT NULL DEFAULT '';
