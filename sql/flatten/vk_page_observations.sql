-- The groups.getById answers of a day's raw files, typed (the relation vk_answers:
-- vk_page_answers.sql over the gzip JSON lines, or its Parquet sidecars), as rows of
-- staging.vk_page_observations, one per page, plus what the load counts: every row says its
-- outcome and the file it came from (outcomes as in vk_post_observations.sql).
WITH answers AS (
    SELECT source_file, CAST(observed_at AS TIMESTAMPTZ) AS observed_at, pages, rejected
    FROM vk_answers
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
