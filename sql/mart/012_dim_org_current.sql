-- mart.dim_org_current: one row per body (grain: org_id), so a join on org_id keeps a fact's rows.
-- The body's current version (valid_to empty); a body with none (closed or merged away) keeps its
-- last version: the latest valid_from, then the highest version. versions counts its versions.
DELETE FROM mart.dim_org_current;

INSERT INTO mart.dim_org_current (
    org_id, version, name, short_name, kind, rating_group, parent_org_id, region_code, region_name,
    municipality, oktmo, timezone, valid_from, valid_to, is_current, versions
)
SELECT org_id, version, name, short_name, kind, rating_group, parent_org_id, region_code, region_name,
       municipality, oktmo, timezone, valid_from, valid_to, is_current, versions
FROM (
    SELECT
        d.*,
        ROW_NUMBER() OVER (
            PARTITION BY d.org_id ORDER BY d.is_current DESC, d.valid_from DESC, d.version DESC
        ) AS pick,
        COUNT(*) OVER (PARTITION BY d.org_id) AS versions
    FROM mart.dim_org AS d
) AS ranked
WHERE pick = 1;
