-- One row per load of one source partition into the warehouse: the reconciliation record.
-- rows_read = rows_written + rows_rejected + rows_duplicate for every finished load.
CREATE TABLE IF NOT EXISTS audit.load_runs (
    load_id         TEXT PRIMARY KEY,
    dag_id          TEXT,
    run_id          TEXT,
    task_id         TEXT,
    source          TEXT NOT NULL,
    partition_key   TEXT NOT NULL,
    target_table    TEXT NOT NULL,
    rows_read       BIGINT NOT NULL DEFAULT 0,
    rows_written    BIGINT NOT NULL DEFAULT 0,
    rows_rejected   BIGINT NOT NULL DEFAULT 0,
    rows_duplicate  BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    message         TEXT,
    started_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    finished_at     TIMESTAMP WITH TIME ZONE
);
