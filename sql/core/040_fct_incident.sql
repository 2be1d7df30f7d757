-- Apply a batch of export files (staging.incident_batch rows of batch_id; each file its load_id) to the
-- incident tables: their observations become events, their texts go to the restricted schema, and each
-- incident they mention gets its latest observation over all files: the newest export day wins, then
-- the latest arrival. An older export arriving late changes nothing; a batch gives the tables that
-- its files applied one by one give.
-- A file's export moment: the start of its export day, or the latest moment it mentions that day.
UPDATE staging.incident_export
SET exported_at = GREATEST(staging.incident_export.exported_at, latest.mentioned)
FROM (
    SELECT s.load_id,
           MAX(GREATEST(s.registered_at, COALESCE(s.first_reaction_at, s.registered_at),
                        COALESCE(s.answered_at, s.registered_at))) AS mentioned
    FROM staging.incident_export AS s
    WHERE s.load_id IN (SELECT b.load_id FROM staging.incident_batch AS b WHERE b.batch_id = :batch_id)
      AND GREATEST(s.registered_at, COALESCE(s.first_reaction_at, s.registered_at),
                   COALESCE(s.answered_at, s.registered_at)) < s.exported_at + INTERVAL '1 day'
    GROUP BY s.load_id
) AS latest
WHERE staging.incident_export.load_id = latest.load_id;

DELETE FROM core.fct_incident_event WHERE load_id IN (SELECT load_id FROM staging.incident_batch WHERE batch_id = :batch_id);

INSERT INTO core.fct_incident_event (
    source, incident_id, load_id, file, row_number, export_date, exported_at, processed_at, region_code,
    org_id, executor, status, channel, message_type, rubric, subcategory, registered_at,
    first_reaction_at, answered_at, due_at, satisfaction, satisfied, author_key
)
SELECT source, incident_id, load_id, file, row_number, export_date, exported_at, processed_at, region_code,
       org_id, executor, status, channel, message_type, rubric, subcategory, registered_at,
       first_reaction_at, answered_at, due_at, satisfaction, satisfied, author_key
FROM staging.incident_export
WHERE load_id IN (SELECT load_id FROM staging.incident_batch WHERE batch_id = :batch_id);

DELETE FROM restricted.incident_text WHERE load_id IN (SELECT load_id FROM staging.incident_batch WHERE batch_id = :batch_id);

INSERT INTO restricted.incident_text (source, incident_id, load_id, url, message_text, answer_text)
SELECT source, incident_id, load_id, url, message_text, answer_text
FROM staging.incident_text
WHERE load_id IN (SELECT load_id FROM staging.incident_batch WHERE batch_id = :batch_id);

DELETE FROM core.fct_incident
WHERE EXISTS (
    SELECT 1 FROM staging.incident_export AS s
    WHERE s.load_id IN (SELECT b.load_id FROM staging.incident_batch AS b WHERE b.batch_id = :batch_id)
      AND s.source = core.fct_incident.source
      AND s.incident_id = core.fct_incident.incident_id
);

INSERT INTO core.fct_incident (
    source, incident_id, region_code, org_id, executor, status, channel, message_type, rubric, subcategory,
    registered_at, first_reaction_at, answered_at, due_at, satisfaction, satisfied, is_answered, is_overdue,
    author_key, observations, first_export_date, last_export_date, last_exported_at, last_file, load_id
)
SELECT source, incident_id, region_code, org_id, executor, status, channel, message_type, rubric, subcategory,
       registered_at, first_reaction_at, answered_at, due_at, satisfaction, satisfied,
       answered_at IS NOT NULL,
       CASE WHEN answered_at IS NOT NULL THEN answered_at > due_at ELSE due_at < exported_at END,
       author_key, observations, first_export_date, export_date, exported_at, file, load_id
FROM (
    SELECT e.*,
           ROW_NUMBER() OVER (
               PARTITION BY e.source, e.incident_id
               ORDER BY e.export_date DESC, e.exported_at DESC, e.processed_at DESC, e.load_id DESC
           ) AS newest,
           COUNT(*) OVER (PARTITION BY e.source, e.incident_id) AS observations,
           MIN(e.export_date) OVER (PARTITION BY e.source, e.incident_id) AS first_export_date
    FROM core.fct_incident_event AS e
    WHERE EXISTS (
        SELECT 1 FROM staging.incident_export AS s
        WHERE s.load_id IN (SELECT b.load_id FROM staging.incident_batch AS b WHERE b.batch_id = :batch_id)
          AND s.source = e.source AND s.incident_id = e.incident_id
    )
) AS latest
WHERE newest = 1;

DELETE FROM staging.incident_export WHERE load_id IN (SELECT load_id FROM staging.incident_batch WHERE batch_id = :batch_id);

DELETE FROM staging.incident_text WHERE load_id IN (SELECT load_id FROM staging.incident_batch WHERE batch_id = :batch_id);

DELETE FROM staging.incident_batch WHERE batch_id = :batch_id;
