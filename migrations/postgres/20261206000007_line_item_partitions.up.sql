-- Line items are partitioned by billing month and, within a month, by run:
-- cost_line_items (RANGE on billing_period_start, one partition a month)
--   └ cost_line_items_YYYYMM (LIST on run_id)
--       └ cost_line_items_YYYYMM_<run> (one run's rows of that month)
-- A run copies into its own tables, publishing attaches them, and a
-- superseded or abandoned run's table is dropped whole. A run's table
-- holds one organization's rows, so it needs no index: reports that read
-- line items name the (run, period) pairs they read and the planner prunes
-- to those tables.

ALTER TABLE cost_line_items RENAME TO cost_line_items_unpartitioned;

--bun:split

CREATE TABLE cost_line_items (LIKE cost_line_items_unpartitioned INCLUDING DEFAULTS)
    PARTITION BY RANGE (billing_period_start);

--bun:split

-- Every table a run wrote line items into, attached or not, so that the
-- tables of a failed or superseded run can be found and dropped.
CREATE TABLE cost_line_item_tables (
    org_id TEXT NOT NULL,
    run_id TEXT NOT NULL,
    month TIMESTAMPTZ NOT NULL,
    table_name TEXT NOT NULL UNIQUE,
    PRIMARY KEY (org_id, run_id, month)
);

--bun:split

DO $$
DECLARE
    r RECORD;
    month_table TEXT;
    run_table TEXT;
BEGIN
    FOR r IN SELECT DISTINCT org_id, run_id,
                    date_trunc('month', billing_period_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS month
             FROM cost_line_items_unpartitioned
    LOOP
        month_table := 'cost_line_items_' || to_char(r.month AT TIME ZONE 'UTC', 'YYYYMM');
        run_table := month_table || '_' || left(md5(r.run_id), 16);
        IF to_regclass(month_table) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF cost_line_items FOR VALUES FROM (%L) TO (%L) PARTITION BY LIST (run_id)',
                month_table, r.month, r.month + interval '1 month');
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)', run_table, month_table, r.run_id);
        EXECUTE format('INSERT INTO %I SELECT * FROM cost_line_items_unpartitioned WHERE org_id = %L AND run_id = %L'
            || ' AND billing_period_start >= %L AND billing_period_start < %L',
            run_table, r.org_id, r.run_id, r.month, r.month + interval '1 month');
        INSERT INTO cost_line_item_tables (org_id, run_id, month, table_name) VALUES (r.org_id, r.run_id, r.month, run_table);
    END LOOP;
END
$$;

--bun:split

DROP TABLE cost_line_items_unpartitioned;
