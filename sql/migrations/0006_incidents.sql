-- Incidents of IM and ПОС exports (docs/incident-exports.md).
--   staging.incident_export     typed valid rows of one file (load_id = the file's content hash)
--   core.fct_incident_event     every valid observation: one row per incident and export file
--   core.fct_incident           each incident's latest observation (newest export day, then arrival)
--   restricted.incident_text    message and answer texts and links, per observation (personal data)
--   audit.export_file           each file seen, by content hash: loaded or rejected, with counts
--   audit.validation_result     Great Expectations verdicts per file and expectation

CREATE TABLE IF NOT EXISTS staging.incident_export (
    load_id            TEXT NOT NULL,
    source             TEXT NOT NULL,
    incident_id        TEXT NOT NULL,
    file               TEXT NOT NULL,
    row_number         BIGINT NOT NULL,
    export_date        DATE NOT NULL,
    exported_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    processed_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    region_code        TEXT NOT NULL,
    org_id             TEXT,
    executor           TEXT NOT NULL,
    status             TEXT NOT NULL,
    channel            TEXT,
    message_type       TEXT,
    rubric             TEXT,
    subcategory        TEXT,
    registered_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    first_reaction_at  TIMESTAMP WITH TIME ZONE,
    answered_at        TIMESTAMP WITH TIME ZONE,
    due_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    satisfaction       INTEGER,
    satisfied          INTEGER,
    author_key         TEXT
);

CREATE TABLE IF NOT EXISTS core.fct_incident_event (
    source             TEXT NOT NULL,
    incident_id        TEXT NOT NULL,
    load_id            TEXT NOT NULL,
    file               TEXT NOT NULL,
    row_number         BIGINT NOT NULL,
    export_date        DATE NOT NULL,
    exported_at        TIMESTAMP WITH TIME ZONE NOT NULL,
    processed_at       TIMESTAMP WITH TIME ZONE NOT NULL,
    region_code        TEXT NOT NULL,
    org_id             TEXT,
    executor           TEXT NOT NULL,
    status             TEXT NOT NULL,
    channel            TEXT,
    message_type       TEXT,
    rubric             TEXT,
    subcategory        TEXT,
    registered_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    first_reaction_at  TIMESTAMP WITH TIME ZONE,
    answered_at        TIMESTAMP WITH TIME ZONE,
    due_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    satisfaction       INTEGER,
    satisfied          INTEGER,
    author_key         TEXT,
    PRIMARY KEY (source, incident_id, load_id)
);

CREATE TABLE IF NOT EXISTS core.fct_incident (
    source             TEXT NOT NULL,
    incident_id        TEXT NOT NULL,
    region_code        TEXT NOT NULL,
    org_id             TEXT,
    executor           TEXT NOT NULL,
    status             TEXT NOT NULL,
    channel            TEXT,
    message_type       TEXT,
    rubric             TEXT,
    subcategory        TEXT,
    registered_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    first_reaction_at  TIMESTAMP WITH TIME ZONE,
    answered_at        TIMESTAMP WITH TIME ZONE,
    due_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    satisfaction       INTEGER,
    satisfied          INTEGER,
    is_answered        BOOLEAN NOT NULL,
    is_overdue         BOOLEAN NOT NULL,
    author_key         TEXT,
    observations       INTEGER NOT NULL,
    first_export_date  DATE NOT NULL,
    last_export_date   DATE NOT NULL,
    last_exported_at   TIMESTAMP WITH TIME ZONE NOT NULL,
    last_file          TEXT NOT NULL,
    load_id            TEXT NOT NULL,
    PRIMARY KEY (source, incident_id)
);

CREATE TABLE IF NOT EXISTS staging.incident_text (
    load_id       TEXT NOT NULL,
    source        TEXT NOT NULL,
    incident_id   TEXT NOT NULL,
    url           TEXT,
    message_text  TEXT,
    answer_text   TEXT
);

CREATE TABLE IF NOT EXISTS restricted.incident_text (
    source        TEXT NOT NULL,
    incident_id   TEXT NOT NULL,
    load_id       TEXT NOT NULL,
    url           TEXT,
    message_text  TEXT,
    answer_text   TEXT,
    PRIMARY KEY (source, incident_id, load_id)
);

CREATE TABLE IF NOT EXISTS audit.export_file (
    file_sha          TEXT PRIMARY KEY,
    source            TEXT NOT NULL,
    file              TEXT NOT NULL,
    landed_key        TEXT NOT NULL,
    stored_key        TEXT,
    state             TEXT NOT NULL,
    reject_kind       TEXT,
    reason            TEXT,
    format            TEXT,
    region_code       TEXT,
    export_date       DATE,
    rows_read         BIGINT,
    rows_loaded       BIGINT,
    rows_quarantined  BIGINT,
    rows_duplicate    BIGINT,
    rows_empty        BIGINT,
    bytes             BIGINT NOT NULL,
    processed_at      TIMESTAMP WITH TIME ZONE NOT NULL,
    dag_id            TEXT,
    run_id            TEXT
);

CREATE TABLE IF NOT EXISTS audit.validation_result (
    load_id           TEXT NOT NULL,
    file              TEXT NOT NULL,
    suite             TEXT NOT NULL,
    expectation       TEXT NOT NULL,
    column_name       TEXT,
    severity          TEXT NOT NULL,
    success           BOOLEAN NOT NULL,
    element_count     BIGINT NOT NULL,
    unexpected_count  BIGINT NOT NULL,
    reason            TEXT NOT NULL,
    validated_at      TIMESTAMP WITH TIME ZONE NOT NULL
);

-- Executors of loaded incidents that match no alias of the registry: what ЦУР should add.
CREATE VIEW audit.unresolved_executor AS
SELECT source, region_code, executor, COUNT(*) AS incidents,
       MIN(registered_at) AS first_registered_at, MAX(last_export_date) AS last_export_date
FROM core.fct_incident
WHERE org_id IS NULL
GROUP BY source, region_code, executor;

-- Bodies found for incidents loaded without one, once their executor's alias is in the registry.
CREATE TABLE IF NOT EXISTS staging.incident_org_fix (
    source       TEXT NOT NULL,
    incident_id  TEXT NOT NULL,
    org_id       TEXT NOT NULL
);
