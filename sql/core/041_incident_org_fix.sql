-- Give incidents loaded without a body the body found for them (staging.incident_org_fix), in the
-- latest state and in every observation that had none.
UPDATE core.fct_incident
SET org_id = (
    SELECT f.org_id FROM staging.incident_org_fix AS f
    WHERE f.source = core.fct_incident.source AND f.incident_id = core.fct_incident.incident_id
)
WHERE org_id IS NULL
  AND EXISTS (
    SELECT 1 FROM staging.incident_org_fix AS f
    WHERE f.source = core.fct_incident.source AND f.incident_id = core.fct_incident.incident_id
);

UPDATE core.fct_incident_event
SET org_id = (
    SELECT f.org_id FROM staging.incident_org_fix AS f
    WHERE f.source = core.fct_incident_event.source AND f.incident_id = core.fct_incident_event.incident_id
)
WHERE org_id IS NULL
  AND EXISTS (
    SELECT 1 FROM staging.incident_org_fix AS f
    WHERE f.source = core.fct_incident_event.source AND f.incident_id = core.fct_incident_event.incident_id
);

DELETE FROM staging.incident_org_fix;
