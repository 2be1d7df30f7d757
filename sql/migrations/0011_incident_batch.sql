-- The export files the incident loader applies together (one transaction, one pass of
-- sql/core/040_fct_incident.sql): a national month's 528 files in a few dozen batches rather than
-- one pass each, each pass rebuilding the latest state of the incidents its files mention.

CREATE TABLE IF NOT EXISTS staging.incident_batch (
    batch_id  TEXT NOT NULL,
    load_id   TEXT NOT NULL
);
