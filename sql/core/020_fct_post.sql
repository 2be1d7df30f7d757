-- core.fct_post after loading day the day dt. The posts to rebuild are those observed on the day dt now or in
-- the previous load of the day dt; each gets its latest observation over all days (or disappears when
-- no observation is left).
DELETE FROM staging.vk_rebuild_posts;

INSERT INTO staging.vk_rebuild_posts (vk_group_id, post_id)
SELECT vk_group_id, post_id FROM core.fct_post WHERE observed_dt = :dt
UNION
SELECT vk_group_id, post_id FROM staging.vk_post_observations WHERE dt = :dt
UNION
SELECT vk_group_id, post_id FROM core.fct_comment WHERE observed_dt = :dt
UNION
SELECT vk_group_id, post_id FROM staging.vk_comment_observations WHERE dt = :dt;

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
       first_observed_at, observed_at, dt
FROM (
    SELECT o.*,
           MIN(observed_at) OVER (PARTITION BY vk_group_id, post_id) AS first_observed_at,
           ROW_NUMBER() OVER (
               PARTITION BY vk_group_id, post_id ORDER BY dt DESC, observed_at DESC, load_id DESC
           ) AS rn
    FROM staging.vk_post_observations AS o
    WHERE EXISTS (
        SELECT 1 FROM staging.vk_rebuild_posts AS k
        WHERE k.vk_group_id = o.vk_group_id AND k.post_id = o.post_id
    )
) AS latest
WHERE rn = 1;
