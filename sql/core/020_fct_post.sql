-- core.fct_post after loading the day dt. A post's row is its latest observation (latest day, then
-- time, then load) and its first observation the earliest. One rule for both scopes of the VK load,
-- which differ only in where the observations of the days before dt come from; the loader binds
-- the boolean forward, and both engines fold it before planning, so each scope plans as if alone:
--   full     (forward false) every staged observation of the posts, all days, and each post's
--            fold of the days staging retention deleted (staging.vk_post_retired: the latest of
--            them and the first seen; gospublic.infra.retention), so that the full scope gives the
--            rows it would give with every day staged (tests/vk/test_staging_retention.py);
--   forward  (forward true)  the day's staged rows, and each post's core row standing for the days
--            before (their latest observation and their first). The loader takes it only on a
--            day's first load with nothing staged after the day and no core row observed on or
--            after it, where both scopes give the same rows (tests/vk/test_vk_rebuild_scopes.py).
-- The posts to rebuild are those observed on dt now or in the previous load of dt (posts or their
-- comments); one left with no observation disappears. staging.vk_rebuild_posts lists them for
-- 030_fct_comment.sql; staging.vk_day_posts holds their new rows until the old ones are deleted.
-- The work tables are emptied by TRUNCATE: a DELETE of every row left each earlier load's row
-- versions in them on PostgreSQL until a vacuum (tests/vk/test_vk_load_postgres.py).
TRUNCATE staging.vk_rebuild_posts;

INSERT INTO staging.vk_rebuild_posts (vk_group_id, post_id)
SELECT vk_group_id, post_id FROM core.fct_post WHERE observed_dt = :dt
UNION
SELECT vk_group_id, post_id FROM staging.vk_post_observations WHERE dt = :dt
UNION
SELECT vk_group_id, post_id FROM core.fct_comment WHERE observed_dt = :dt
UNION
SELECT vk_group_id, post_id FROM staging.vk_comment_observations WHERE dt = :dt;

TRUNCATE staging.vk_day_posts;

INSERT INTO staging.vk_day_posts (
    vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
    other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
    first_observed_at, observed_at, observed_dt
)
SELECT vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
       other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
       first_observed_at, observed_at, dt
FROM (
    SELECT o.vk_group_id, o.post_id, o.published_at, o.text_length, o.photo_count, o.video_count,
           o.link_count, o.other_attachment_count, o.is_pinned, o.is_repost, o.views, o.likes,
           o.comments, o.reposts, o.observed_at, o.dt,
           MIN(o.first_seen_at) OVER (PARTITION BY o.vk_group_id, o.post_id) AS first_observed_at,
           ROW_NUMBER() OVER (
               PARTITION BY o.vk_group_id, o.post_id ORDER BY o.dt DESC, o.observed_at DESC, o.load_id DESC
           ) AS rn
    FROM (
        -- full: every staged observation of the posts to rebuild
        SELECT s.vk_group_id, s.post_id, s.published_at, s.text_length, s.photo_count, s.video_count,
               s.link_count, s.other_attachment_count, s.is_pinned, s.is_repost, s.views, s.likes,
               s.comments, s.reposts, s.observed_at AS first_seen_at, s.observed_at, s.dt, s.load_id
        FROM staging.vk_post_observations AS s
        WHERE NOT :forward
          AND EXISTS (
              SELECT 1 FROM staging.vk_rebuild_posts AS k
              WHERE k.vk_group_id = s.vk_group_id AND k.post_id = s.post_id
          )
        UNION ALL
        -- full: the posts' observations on the days retention deleted, folded (at most one row each)
        SELECT r.vk_group_id, r.post_id, r.published_at, r.text_length, r.photo_count, r.video_count,
               r.link_count, r.other_attachment_count, r.is_pinned, r.is_repost, r.views, r.likes,
               r.comments, r.reposts, r.first_seen_at, r.observed_at, r.dt, r.load_id
        FROM staging.vk_post_retired AS r
        WHERE NOT :forward
          AND EXISTS (
              SELECT 1 FROM staging.vk_rebuild_posts AS k
              WHERE k.vk_group_id = r.vk_group_id AND k.post_id = r.post_id
          )
        UNION ALL
        -- forward: the day's staged observations (every post they touch is to rebuild)
        SELECT s.vk_group_id, s.post_id, s.published_at, s.text_length, s.photo_count, s.video_count,
               s.link_count, s.other_attachment_count, s.is_pinned, s.is_repost, s.views, s.likes,
               s.comments, s.reposts, s.observed_at AS first_seen_at, s.observed_at, s.dt, s.load_id
        FROM staging.vk_post_observations AS s
        WHERE :forward AND s.dt = :dt
        UNION ALL
        -- forward: the core rows of the posts to rebuild, for the days before (all earlier than
        -- dt, so a day's row ranks first; load_id never decides between them)
        SELECT p.vk_group_id, p.post_id, p.published_at, p.text_length, p.photo_count, p.video_count,
               p.link_count, p.other_attachment_count, p.is_pinned, p.is_repost, p.views, p.likes,
               p.comments, p.reposts, p.first_observed_at, p.observed_at, p.observed_dt,
               CAST(NULL AS TEXT)
        FROM core.fct_post AS p
        WHERE :forward
          AND EXISTS (
              SELECT 1 FROM staging.vk_rebuild_posts AS k
              WHERE k.vk_group_id = p.vk_group_id AND k.post_id = p.post_id
          )
    ) AS o
) AS latest
WHERE rn = 1;

DELETE FROM core.fct_post
WHERE EXISTS (
    SELECT 1 FROM staging.vk_rebuild_posts AS k
    WHERE k.vk_group_id = core.fct_post.vk_group_id AND k.post_id = core.fct_post.post_id
);

INSERT INTO core.fct_post (
    vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
    other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
    first_observed_at, observed_at, observed_dt
)
SELECT vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
       other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
       first_observed_at, observed_at, observed_dt
FROM staging.vk_day_posts;
