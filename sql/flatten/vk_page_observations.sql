-- The groups.getById answers of a day's raw files ($files, gzip JSON lines) as rows of
-- staging.vk_page_observations, one per page, plus what the load counts: every row says its
-- outcome and the file it came from (outcomes as in vk_post_observations.sql). The response is
-- API 5.199's {"groups": [...], "profiles": [...]} or, from older versions, the list of groups.
-- Each line is parsed once, by one JSON_TRANSFORM of the line as read (read_json would write the
-- response back out as JSON text first); only a line without a list of groups there (the older
-- shape, an error, no response) is parsed again, for the list or to see that there is none.
WITH lines AS (
    SELECT
        filename AS source_file,
        json,
        JSON_TRANSFORM(
            json, '{"observed_at": "VARCHAR", "error": "JSON", "response": {"groups": ' || VK_GROUPS() || '}}'
        ) AS line
    FROM READ_NDJSON_OBJECTS($files, compression = 'gzip', filename = TRUE)
),

answers AS (
    SELECT
        source_file,
        CAST(line.observed_at AS TIMESTAMPTZ) AS observed_at,
        CASE
            WHEN line.response.groups IS NOT NULL THEN line.response.groups
            WHEN line.error IS NULL THEN JSON_TRANSFORM(json, '{"response": ' || VK_GROUPS() || '}').response
        END AS pages,
        line.error IS NOT NULL
        OR (line.response.groups IS NULL AND COALESCE(JSON_TYPE(json, '$.response'), 'NULL') = 'NULL') AS rejected
    FROM lines
),

pages AS (
    SELECT
        source_file,
        observed_at,
        g,
        -- the numbers typed as the structure would have typed them, so that a lost one is seen
        JSON_TRANSFORM(g.members_count, '"BIGINT"') AS members_count,
        JSON_TRANSFORM(g.is_closed, '"INTEGER"') AS is_closed,
        JSON_TRANSFORM(g.wall, '"INTEGER"') AS wall
    FROM (SELECT source_file, observed_at, UNNEST(pages) AS g FROM answers WHERE NOT rejected) AS unnested
)

SELECT
    CAST($dt AS DATE) AS dt,
    g.id AS vk_group_id,
    g.screen_name,
    g.name,
    members_count,
    is_closed,
    g.deactivated,
    VK_TRUTH(g.verified) AS verified,
    VK_TRUTH(g.has_photo) AS has_photo,
    VK_TRUTH(g.cover.enabled) AS has_cover,
    VK_HAS_TEXT(g.description) AS has_description,
    VK_HAS_ITEMS(g.contacts) AS has_contacts,
    VK_HAS_ITEMS(g.links) AS has_links,
    VK_HAS_TEXT(g.site) AS has_site,
    VK_TRUTH(g.can_message) AS can_message,
    wall,
    g.activity,
    observed_at,
    CAST($load_id AS VARCHAR) AS load_id,
    CASE
        WHEN observed_at IS NULL OR g.id IS NULL OR VK_LOST(g.members_count, members_count)
            OR VK_LOST(g.is_closed, is_closed) OR VK_LOST(g.wall, wall) THEN 'malformed'
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
