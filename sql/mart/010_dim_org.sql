-- mart.dim_org: every version of every body (grain: org_id × version); is_current marks today's.
DELETE FROM mart.dim_org;

INSERT INTO mart.dim_org (
    org_id, version, name, short_name, kind, rating_group, parent_org_id, region_code, region_name,
    municipality, oktmo, timezone, valid_from, valid_to, is_current
)
SELECT org_id, version, name, short_name, kind, rating_group, parent_org_id, region_code, region_name,
       municipality, oktmo, timezone, valid_from, valid_to, is_current
FROM core.dim_org;
