-- The wall.getComments answers of a day's raw files, typed (the relation vk_answers:
-- vk_comment_answers.sql over the gzip JSON lines, or its Parquet sidecars), as rows of
-- staging.vk_comment_observations, one per comment, thread replies included, plus what the load
-- counts: every row says its outcome and the file it came from (outcomes as in
-- vk_post_observations.sql; a comment's post is the call's params.owner_id and params.post_id).
-- author_id is the commenter's VK id (0 when absent), NULL for the page's own replies: only the
-- loader turns it into author_hash (gospublic.vk.flatten), with the key outside SQL.
WITH answers AS (
    SELECT
        source_file,
        CAST(observed_at AS TIMESTAMPTZ) AS observed_at,
        params,
        response,
        error IS NOT NULL OR response IS NULL AS rejected
    FROM vk_answers
),

top_level AS (
    SELECT source_file, observed_at, params, UNNEST(response.items) AS item
    FROM answers
    WHERE NOT rejected
),

with_threads AS (
    -- each comment, then the replies of its thread that came inline
    SELECT
        source_file, observed_at, params,
        UNNEST(LIST_PREPEND(
            STRUCT_PACK(
                id := item.id, "date" := item.date, from_id := item.from_id, "text" := item.text,
                parents_stack := item.parents_stack
            ),
            COALESCE(item.thread.items, [])
        )) AS c
    FROM top_level
),

comments AS (
    SELECT source_file, observed_at, params, c, COALESCE(c.from_id, 0) = params.owner_id AS is_page_reply
    FROM with_threads
)

SELECT
    CAST($dt AS DATE) AS dt,
    -params.owner_id AS vk_group_id,
    -- the call's parameter, a struct field (not a column aliased to itself)
    params.post_id AS post_id,  -- noqa: AL09
    c.id AS comment_id,
    c.parents_stack[-1] AS parent_comment_id,
    TO_TIMESTAMP(c.date) AS published_at,
    CASE WHEN NOT is_page_reply THEN COALESCE(c.from_id, 0) END AS author_id,
    is_page_reply,
    CAST(LENGTH(COALESCE(c.text, '')) AS INTEGER) AS text_length,
    observed_at,
    CAST($load_id AS VARCHAR) AS load_id,
    CASE
        WHEN observed_at IS NULL OR params.owner_id IS NULL OR params.post_id IS NULL
            OR c.id IS NULL OR c.date IS NULL THEN 'malformed'
        ELSE 'row'
    END AS outcome,
    source_file
FROM comments

UNION ALL BY NAME

SELECT
    CASE
        WHEN observed_at IS NULL OR (NOT rejected AND (params.owner_id IS NULL OR params.post_id IS NULL))
            THEN 'malformed'
        ELSE 'rejected'
    END AS outcome,
    source_file
FROM answers
WHERE rejected OR observed_at IS NULL OR params.owner_id IS NULL OR params.post_id IS NULL
