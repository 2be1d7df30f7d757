-- core.fct_comment after a forward load of the day dt, for the posts listed by
-- 021_fct_post_forward.sql in staging.vk_rebuild_posts: a comment seen that day takes that day's
-- latest observation, one not seen keeps its core row's; then, as in 030_fct_comment.sql, whether
-- and when the page replied in each citizen's thread. Reads the day's staged rows and the core
-- comments of the touched posts, never the days before.
DELETE FROM staging.vk_day_comments;

INSERT INTO staging.vk_day_comments (
    vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash, is_page_reply,
    observed_at, observed_dt
)
SELECT vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash,
       is_page_reply, observed_at, dt
FROM (
    SELECT o.*,
           ROW_NUMBER() OVER (
               PARTITION BY vk_group_id, post_id, comment_id ORDER BY observed_at DESC, load_id DESC
           ) AS rn
    FROM staging.vk_comment_observations AS o
    WHERE dt = :dt
) AS ranked
WHERE rn = 1;

INSERT INTO staging.vk_day_comments (
    vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash, is_page_reply,
    observed_at, observed_dt
)
SELECT c.vk_group_id, c.post_id, c.comment_id, c.parent_comment_id, c.published_at, c.author_hash,
       c.is_page_reply, c.observed_at, c.observed_dt
FROM core.fct_comment AS c
JOIN staging.vk_rebuild_posts AS k ON k.vk_group_id = c.vk_group_id AND k.post_id = c.post_id
LEFT JOIN staging.vk_day_comments AS d
    ON d.vk_group_id = c.vk_group_id AND d.post_id = c.post_id AND d.comment_id = c.comment_id
WHERE d.comment_id IS NULL;

DELETE FROM core.fct_comment
WHERE EXISTS (
    SELECT 1 FROM staging.vk_rebuild_posts AS k
    WHERE k.vk_group_id = core.fct_comment.vk_group_id AND k.post_id = core.fct_comment.post_id
);

INSERT INTO core.fct_comment (
    vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash, is_page_reply,
    page_replied, first_reply_at, reply_delay_minutes, observed_at, observed_dt
)
WITH replies AS (
    SELECT vk_group_id, post_id, parent_comment_id, MIN(published_at) AS first_reply_at
    FROM staging.vk_day_comments
    WHERE is_page_reply AND parent_comment_id IS NOT NULL
    GROUP BY vk_group_id, post_id, parent_comment_id
)
SELECT c.vk_group_id, c.post_id, c.comment_id, c.parent_comment_id, c.published_at, c.author_hash,
       c.is_page_reply,
       CASE WHEN c.is_page_reply THEN NULL ELSE r.first_reply_at IS NOT NULL END AS page_replied,
       r.first_reply_at,
       CAST(EXTRACT(EPOCH FROM (r.first_reply_at - c.published_at)) / 60.0 AS DOUBLE PRECISION)
           AS reply_delay_minutes,
       c.observed_at, c.observed_dt
FROM staging.vk_day_comments AS c
LEFT JOIN replies AS r
    ON NOT c.is_page_reply
   AND r.vk_group_id = c.vk_group_id AND r.post_id = c.post_id AND r.parent_comment_id = c.comment_id;
