-- core.fct_post for the posts observed on :dt: each post's latest observation over all days.
DELETE FROM core.fct_post
WHERE EXISTS (
    SELECT 1 FROM staging.vk_post_observations AS s
    WHERE s.dt = :dt AND s.vk_group_id = core.fct_post.vk_group_id AND s.post_id = core.fct_post.post_id
);

INSERT INTO core.fct_post (
    vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
    other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
    first_observed_at, observed_at
)
SELECT vk_group_id, post_id, published_at, text_length, photo_count, video_count, link_count,
       other_attachment_count, is_pinned, is_repost, views, likes, comments, reposts,
       first_observed_at, observed_at
FROM (
    SELECT o.*,
           MIN(observed_at) OVER (PARTITION BY vk_group_id, post_id) AS first_observed_at,
           ROW_NUMBER() OVER (
               PARTITION BY vk_group_id, post_id ORDER BY observed_at DESC, load_id DESC
           ) AS rn
    FROM staging.vk_post_observations AS o
    WHERE EXISTS (
        SELECT 1 FROM staging.vk_post_observations AS s
        WHERE s.dt = :dt AND s.vk_group_id = o.vk_group_id AND s.post_id = o.post_id
    )
) AS latest
WHERE rn = 1;
