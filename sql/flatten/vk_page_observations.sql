-- The groups.getById answers of a day's raw files ($files, gzip JSON lines) as rows of
-- staging.vk_page_observations, one per page, plus what the load counts: every row says its
-- outcome and the file it came from (outcomes as in vk_post_observations.sql). The response is
-- API 5.199's {"groups": [...], "profiles": [...]} or, from older versions, the list of groups.
WITH answers AS (
    SELECT
        filename AS source_file,
        CAST(observed_at AS TIMESTAMPTZ) AS observed_at,
        response,
        error IS NOT NULL OR response IS NULL AS rejected
    FROM READ_JSON(
        $files,
        format = 'newline_delimited',
        compression = 'gzip',
        filename = TRUE,
        columns = { observed_at: 'VARCHAR', response: 'JSON', error: 'JSON' }
    )
),

groups AS (
    SELECT
        source_file,
        observed_at,
        UNNEST(CAST(CASE WHEN JSON_TYPE(response) = 'ARRAY' THEN response ELSE response -> 'groups' END AS JSON[])) AS raw
    FROM answers
    WHERE NOT rejected
),

pages AS (
    SELECT
        source_file,
        observed_at,
        raw,
        JSON_TRANSFORM(
            raw,
            '{
                "id": "BIGINT", "screen_name": "VARCHAR", "name": "VARCHAR", "members_count": "BIGINT",
                "is_closed": "INTEGER", "deactivated": "VARCHAR", "verified": "JSON", "has_photo": "JSON",
                "cover": {"enabled": "JSON"}, "description": "VARCHAR", "contacts": "JSON", "links": "JSON",
                "site": "VARCHAR", "can_message": "JSON", "wall": "INTEGER", "activity": "VARCHAR"
            }'
        ) AS g
    FROM groups
)

SELECT
    CAST($dt AS DATE) AS dt,
    g.id AS vk_group_id,
    g.screen_name,
    g.name,
    g.members_count,
    g.is_closed,
    g.deactivated,
    VK_TRUTH(g.verified) AS verified,
    VK_TRUTH(g.has_photo) AS has_photo,
    VK_TRUTH(g.cover.enabled) AS has_cover,
    VK_HAS_TEXT(g.description) AS has_description,
    VK_HAS_ITEMS(g.contacts) AS has_contacts,
    VK_HAS_ITEMS(g.links) AS has_links,
    VK_HAS_TEXT(g.site) AS has_site,
    VK_TRUTH(g.can_message) AS can_message,
    g.wall,
    g.activity,
    observed_at,
    CAST($load_id AS VARCHAR) AS load_id,
    CASE
        WHEN observed_at IS NULL OR g.id IS NULL OR VK_LOST(raw -> 'members_count', g.members_count)
            OR VK_LOST(raw -> 'is_closed', g.is_closed) OR VK_LOST(raw -> 'wall', g.wall) THEN 'malformed'
        ELSE 'row'
    END AS outcome,
    source_file
FROM pages

UNION ALL BY NAME

SELECT
    CASE WHEN observed_at IS NULL THEN 'malformed' ELSE 'rejected' END AS outcome,
    source_file
FROM answers
WHERE rejected OR observed_at IS NULL
