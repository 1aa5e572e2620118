-- Line item extras are kept as text, not jsonb: every stored object is
-- written by the store itself (string values, keys sorted), nothing queries
-- inside them but an export listing their keys, and parsing jsonb was a
-- large part of the server's work per ingested row. The text is still a
-- JSON object; exports read it as such (and cast it where they need keys).
-- Existing objects convert to jsonb's text of them, which reads the same.

ALTER TABLE cost_line_items ALTER COLUMN extras TYPE TEXT USING extras::text;

--bun:split

-- The run tables not attached as partitions (a run still writing, or left
-- for housekeeping) were made like cost_line_items and must stay like it,
-- or they could not be attached.
DO $$
DECLARE
    r RECORD;
BEGIN
    FOR r IN SELECT t.table_name
             FROM cost_line_item_tables AS t
             JOIN pg_attribute AS a ON a.attrelid = to_regclass(t.table_name) AND a.attname = 'extras'
             WHERE a.atttypid = 'jsonb'::regtype AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN extras TYPE TEXT USING extras::text', r.table_name);
    END LOOP;
END
$$;
