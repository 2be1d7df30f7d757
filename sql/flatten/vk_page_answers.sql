-- The typed read of groups.getById's raw answers ($files, gzip JSON lines): the relation vk_answers
-- that vk_page_observations.sql flattens (its sidecar as in vk_post_answers.sql; the version also
-- covers the macro VK_GROUPS of vk_macros.sql). The response is API 5.199's
-- {"groups": [...], "profiles": [...]} or, from older versions, the list of groups.
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
)

SELECT
    source_file,
    line.observed_at,
    CASE
        WHEN line.response.groups IS NOT NULL THEN line.response.groups
        WHEN line.error IS NULL THEN JSON_TRANSFORM(json, '{"response": ' || VK_GROUPS() || '}').response
    END AS pages,
    line.error IS NOT NULL
    OR (line.response.groups IS NULL AND COALESCE(JSON_TYPE(json, '$.response'), 'NULL') = 'NULL') AS rejected
FROM lines
