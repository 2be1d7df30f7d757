-- core.fct_comment after loading the day dt, for the posts listed by 020_fct_post.sql in
-- staging.vk_rebuild_posts: each comment's latest observation (latest day, then time, then load),
-- and for citizens' comments whether the page replied in the thread, and when. One rule for the VK
-- load's two scopes, as in 020_fct_post.sql (forward, bound by the loader):
--   full     (forward false) every staged observation of the posts' comments, all days, and
--            each comment's latest observation on the days staging retention deleted
--            (staging.vk_comment_retired; gospublic.infra.retention);
--   forward  (forward true)  the day's staged rows, and the posts' core comments standing for the
--            days before (a comment not seen that day keeps its core row).
-- staging.vk_day_comments holds the rebuilt rows until the old ones are deleted.
TRUNCATE staging.vk_day_comments;

INSERT INTO staging.vk_day_comments (
    vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash, is_page_reply,
    observed_at, observed_dt
)
SELECT vk_group_id, post_id, comment_id, parent_comment_id, published_at, author_hash,
       is_page_reply, observed_at, dt
FROM (
    SELECT o.vk_group_id, o.post_id, o.comment_id, o.parent_comment_id, o.published_at, o.author_hash,
           o.is_page_reply, o.observed_at, o.dt,
           ROW_NUMBER() OVER (
               PARTITION BY o.vk_group_id, o.post_id, o.comment_id
               ORDER BY o.dt DESC, o.observed_at DESC, o.load_id DESC
           ) AS rn
    FROM (
        -- full: every staged observation of the posts' comments
        SELECT s.vk_group_id, s.post_id, s.comment_id, s.parent_comment_id, s.published_at,
               s.author_hash, s.is_page_reply, s.observed_at, s.dt, s.load_id
        FROM staging.vk_comment_observations AS s
        WHERE NOT :forward
          AND EXISTS (
              SELECT 1 FROM staging.vk_rebuild_posts AS k
              WHERE k.vk_group_id = s.vk_group_id AND k.post_id = s.post_id
          )
        UNION ALL
        -- full: the comments' observations on the days retention deleted, folded (one row each)
        SELECT r.vk_group_id, r.post_id, r.comment_id, r.parent_comment_id, r.published_at,
               r.author_hash, r.is_page_reply, r.observed_at, r.dt, r.load_id
        FROM staging.vk_comment_retired AS r
        WHERE NOT :forward
          AND EXISTS (
              SELECT 1 FROM staging.vk_rebuild_posts AS k
              WHERE k.vk_group_id = r.vk_group_id AND k.post_id = r.post_id
          )
        UNION ALL
        -- forward: the day's staged observations (020 listed each of their posts)
        SELECT s.vk_group_id, s.post_id, s.comment_id, s.parent_comment_id, s.published_at,
               s.author_hash, s.is_page_reply, s.observed_at, s.dt, s.load_id
        FROM staging.vk_comment_observations AS s
        WHERE :forward AND s.dt = :dt
        UNION ALL
        -- forward: the posts' core comments, for the days before (all earlier than dt)
        SELECT c.vk_group_id, c.post_id, c.comment_id, c.parent_comment_id, c.published_at,
               c.author_hash, c.is_page_reply, c.observed_at, c.observed_dt, CAST(NULL AS TEXT)
        FROM core.fct_comment AS c
        WHERE :forward
          AND EXISTS (
              SELECT 1 FROM staging.vk_rebuild_posts AS k
              WHERE k.vk_group_id = c.vk_group_id AND k.post_id = c.post_id
          )
    ) AS o
) AS ranked
WHERE rn = 1;

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
