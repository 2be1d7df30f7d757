-- Incident exports without silent loss (issue 23).
-- audit.export_file: what a loaded file's header gave.
--   columns_read          the fields its columns were matched to, in the file's order (", ")
--   columns_unrecognised  its columns no field reads, each with the closest known header ("; ")
--   columns_changed       fields gained (+) or lost (-) since the last file of its source and region
ALTER TABLE audit.export_file ADD COLUMN columns_read TEXT;
ALTER TABLE audit.export_file ADD COLUMN columns_unrecognised TEXT;
ALTER TABLE audit.export_file ADD COLUMN columns_changed TEXT;

-- The text of CSV rows quarantined because they could not be read as written (a wrong number of
-- fields, bytes not in the file's encoding): personal data, so here and not in audit.quarantine.
-- Replaced with the file's quarantine (partition_key: the file's content hash).
CREATE TABLE IF NOT EXISTS restricted.quarantine_raw_row (
    partition_key  TEXT   NOT NULL,
    load_id        TEXT   NOT NULL,
    file           TEXT   NOT NULL,
    row_number     BIGINT NOT NULL,
    line_number    BIGINT NOT NULL,
    raw_text       TEXT   NOT NULL
);
