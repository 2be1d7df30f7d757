-- core.dim_org and core.dim_org_alias from the registry load in staging (the whole registry).
DELETE FROM core.dim_org;

INSERT INTO core.dim_org (
    org_id, version, name, short_name, kind, rating_group, parent_org_id, region_code, region_name,
    municipality, oktmo, timezone, domain, valid_from, valid_to, is_current, load_id
)
SELECT org_id, version, name, short_name, kind, rating_group, parent_org_id, region_code, region_name,
       municipality, oktmo, timezone, domain, valid_from, valid_to, valid_to IS NULL, load_id
FROM staging.registry_org;

DELETE FROM core.dim_org_alias;

INSERT INTO core.dim_org_alias (org_id, version, region_code, alias, alias_key)
SELECT DISTINCT a.org_id, a.version, a.region_code, a.alias, a.alias_key
FROM staging.registry_org_alias AS a
JOIN staging.registry_org AS o ON o.org_id = a.org_id AND o.version = a.version;
