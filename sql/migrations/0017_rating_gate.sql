-- The publication gate of monthly_rating (issue 22, item 3): every check of a month's inputs, one
-- row per run and month. verdict: 'passed' (inputs complete), 'failed' (the run stopped, nothing
-- published), 'accepted' (incomplete, published deliberately with accept_incomplete_inputs;
-- reason says why and who). findings: JSON of what was missing (days, sources, counts); message:
-- the same in Russian and English. snapshot_ids: the snapshots the run went on to make or keep.
CREATE TABLE IF NOT EXISTS audit.rating_gate (
    month         DATE NOT NULL,
    checked_at    TIMESTAMP WITH TIME ZONE NOT NULL,
    dag_id        TEXT,
    run_id        TEXT,
    verdict       TEXT NOT NULL,
    reason        TEXT,
    findings      TEXT NOT NULL,
    message       TEXT NOT NULL,
    snapshot_ids  TEXT
);
