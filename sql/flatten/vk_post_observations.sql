-- The wall.get answers of a day's raw files, typed (the relation vk_answers: vk_post_answers.sql
-- over the gzip JSON lines, or the Parquet sidecars it wrote), as rows of
-- staging.vk_post_observations, one per post, plus what the load counts: every row says its
-- outcome and the file it came from.
--   row            a post observed in the re-read window (all posts without $window_start)
--   before_window  a post published before $window_start (epoch seconds): wall.get pages reach past
--                  the window, and which of those posts come back depends on the paging
--   rejected       an answer with an error, or without a response (execute's `false`), once each
--   malformed      an answer or a post missing a field every VK answer has; the load refuses the file
-- The same rows as transforms/vk_flatten.py (tests/vk/test_vk_sql_flatten.py holds them equal).
WITH answers AS (
    SELECT
        source_file,
        CAST(observed_at AS TIMESTAMPTZ) AS observed_at,
        response,
        error IS NOT NULL OR response IS NULL AS rejected
    FROM vk_answers
),

posts AS (
    SELECT source_file, observed_at, UNNEST(response.items) AS post
    FROM answers
    WHERE NOT rejected
),

attachment_types AS (
    SELECT
        source_file, observed_at, post,
        LIST_TRANSFORM(COALESCE(post.attachments, []), LAMBDA a: a.type) AS kinds
    FROM posts
)

SELECT
    CAST($dt AS DATE) AS dt,
    -post.owner_id AS vk_group_id,
    post.id AS post_id,
    TO_TIMESTAMP(post.date) AS published_at,
    CAST(COALESCE(LENGTH(post.text), 0) AS INTEGER) AS text_length,
    CAST(LEN(LIST_FILTER(kinds, LAMBDA k: k IN ('photo', 'album', 'posted_photo'))) AS INTEGER) AS photo_count,
    CAST(LEN(LIST_FILTER(kinds, LAMBDA k: k IN ('video', 'clip'))) AS INTEGER) AS video_count,
    CAST(LEN(LIST_FILTER(kinds, LAMBDA k: k = 'link')) AS INTEGER) AS link_count,
    CAST(LEN(LIST_FILTER(
        kinds, LAMBDA k: k IS NULL OR k NOT IN ('photo', 'album', 'posted_photo', 'video', 'clip', 'link')
    )) AS INTEGER) AS other_attachment_count,
    VK_TRUTH(post.is_pinned) AS is_pinned,
    VK_HAS_ITEMS(post.copy_history) AS is_repost,
    CASE WHEN post.views IS NOT NULL THEN COALESCE(post.views.count, 0) END AS "views",
    CASE WHEN post.likes IS NOT NULL THEN COALESCE(post.likes.count, 0) END AS likes,
    CASE WHEN post.comments IS NOT NULL THEN COALESCE(post.comments.count, 0) END AS "comments",
    CASE WHEN post.reposts IS NOT NULL THEN COALESCE(post.reposts.count, 0) END AS reposts,
    observed_at,
    CAST($load_id AS VARCHAR) AS load_id,
    CASE
        WHEN observed_at IS NULL OR post.id IS NULL OR post.owner_id IS NULL OR post.date IS NULL THEN 'malformed'
        WHEN post.date < CAST($window_start AS BIGINT) THEN 'before_window'
        ELSE 'row'
    END AS outcome,
    source_file
FROM attachment_types

UNION ALL BY NAME

SELECT
    CASE WHEN observed_at IS NULL THEN 'malformed' ELSE 'rejected' END AS outcome,
    source_file
FROM answers
WHERE rejected OR observed_at IS NULL
