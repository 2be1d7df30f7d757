-- core.fct_post after a forward load of the day dt (its first load, no later day staged; the
-- loader decides): the latest observation of a post seen that day is that day's, and its first
-- observation the earlier of the day's first and its core row's. Reads the day's staged rows and
-- the core rows of the posts they touch, never the days before. Posts only commented on that day
-- keep their rows; staging.vk_rebuild_posts lists every touched post for 031_fct_comment_forward.sql.
DELETE FROM staging.vk_rebuild_posts;

INSERT INTO staging.vk_rebuild_posts (vk_group_id, post_id)
SELECT vk_group_id, post_id FROM staging.vk_post_observations WHERE dt = :dt
UNION
SELECT vk_group_id, post_id FROM staging.vk_comment_observations WHERE dt = :dt;

DELETE FROM staging.vk_day_posts;

INSERT INTO staging.vk_day_posts (
    vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
    other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
    first_observed_at, observed_at, observed_dt
)
SELECT d.vk_group_id, d.post_id, d.published_at, d.text_length, d.photo_count, d.video_count,
       d.link_count, d.other_attachment_count, d.is_pinned, d.is_repost, d.views, d.likes,
       d.comments, d.reposts,
       CASE WHEN p.first_observed_at < d.first_seen_at THEN p.first_observed_at ELSE d.first_seen_at END,
       d.observed_at, d.dt
FROM (
    SELECT o.*,
           MIN(observed_at) OVER (PARTITION BY vk_group_id, post_id) AS first_seen_at,
           ROW_NUMBER() OVER (
               PARTITION BY vk_group_id, post_id ORDER BY observed_at DESC, load_id DESC
           ) AS rn
    FROM staging.vk_post_observations AS o
    WHERE dt = :dt
) AS d
LEFT JOIN core.fct_post AS p ON p.vk_group_id = d.vk_group_id AND p.post_id = d.post_id
WHERE d.rn = 1;

DELETE FROM core.fct_post
WHERE EXISTS (
    SELECT 1 FROM staging.vk_day_posts AS d
    WHERE d.vk_group_id = core.fct_post.vk_group_id AND d.post_id = core.fct_post.post_id
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
