-- Issue 25. Every body's municipality (name and OKTMO code, docs/registry-format.md) through the
-- registry's staging, core and mart tables; empty for bodies of the whole region.
ALTER TABLE staging.registry_org ADD COLUMN municipality TEXT;
ALTER TABLE staging.registry_org ADD COLUMN oktmo TEXT;
ALTER TABLE core.dim_org ADD COLUMN municipality TEXT;
ALTER TABLE core.dim_org ADD COLUMN oktmo TEXT;
ALTER TABLE mart.dim_org ADD COLUMN municipality TEXT;
ALTER TABLE mart.dim_org ADD COLUMN oktmo TEXT;

-- Incidents by body × source × month of registration × rubric × channel (sql/mart/070_*.sql); its
-- counts add up to mart.response_metrics_monthly's per body, source and month.
CREATE TABLE IF NOT EXISTS mart.incident_topics_monthly (
    org_id       TEXT NOT NULL,
    source       TEXT NOT NULL,
    month        DATE NOT NULL,
    rubric       TEXT NOT NULL,
    channel      TEXT NOT NULL,
    region_code  TEXT NOT NULL,
    incidents    INTEGER NOT NULL,
    answered     INTEGER NOT NULL,
    overdue      INTEGER NOT NULL,
    rated        INTEGER NOT NULL,
    satisfied    INTEGER NOT NULL,
    PRIMARY KEY (org_id, source, month, rubric, channel)
);
