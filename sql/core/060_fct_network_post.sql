-- core.fct_network_post after loading one network's day dt. A post's row is its
-- latest observation (latest day, then time, then load) and its first observation the earliest,
-- over every staged observation of it and its fold of the days staging retention deleted
-- (staging.network_post_retired: the latest of them and the first seen; gospublic.infra.retention),
-- so that it gives the rows it would give with every day staged
-- (tests/networks/test_network_post_retention.py). The posts to rebuild are those observed on dt now or in the
-- previous load of dt; one left with no observation disappears (as in 020_fct_post.sql's full scope).
-- staging.network_rebuild_posts lists them, each network its own rows (every statement reads only the
-- bound network's: another network's load leaves its rows there, committed), so the networks' loads
-- never meet (each takes its own writer lock: gospublic.<ok|max|telegram>.load).
DELETE FROM staging.network_rebuild_posts WHERE network = :network;

INSERT INTO staging.network_rebuild_posts (network, page_key, post_key)
SELECT network, page_key, post_key FROM core.fct_network_post WHERE network = :network AND observed_dt = :dt
UNION
SELECT network, page_key, post_key FROM staging.network_post_observations WHERE network = :network AND dt = :dt;

DELETE FROM core.fct_network_post
WHERE network = :network
  AND EXISTS (
    SELECT 1 FROM staging.network_rebuild_posts AS k
    WHERE k.network = :network
      AND k.network = core.fct_network_post.network
      AND k.page_key = core.fct_network_post.page_key
      AND k.post_key = core.fct_network_post.post_key
);

INSERT INTO core.fct_network_post (
    network, page_key, post_key, published_at, text_length, has_photo, has_video, views, likes,
    comments, reposts, first_observed_at, observed_at, observed_dt, load_id
)
SELECT network, page_key, post_key, published_at, text_length, has_photo, has_video, views, likes,
       comments, reposts, first_observed_at, observed_at, dt, load_id
FROM (
    SELECT o.*,
           MIN(o.first_seen_at) OVER (PARTITION BY o.page_key, o.post_key) AS first_observed_at,
           ROW_NUMBER() OVER (
               PARTITION BY o.page_key, o.post_key ORDER BY o.dt DESC, o.observed_at DESC, o.load_id DESC
           ) AS rn
    FROM (
        SELECT s.network, s.page_key, s.post_key, s.published_at, s.text_length, s.has_photo, s.has_video,
               s.views, s.likes, s.comments, s.reposts, s.observed_at AS first_seen_at, s.observed_at, s.dt,
               s.load_id
        FROM staging.network_post_observations AS s
        WHERE s.network = :network
          AND EXISTS (
              SELECT 1 FROM staging.network_rebuild_posts AS k
              WHERE k.network = :network AND k.page_key = s.page_key AND k.post_key = s.post_key
          )
        UNION ALL
        SELECT r.network, r.page_key, r.post_key, r.published_at, r.text_length, r.has_photo, r.has_video,
               r.views, r.likes, r.comments, r.reposts, r.first_seen_at, r.observed_at, r.dt, r.load_id
        FROM staging.network_post_retired AS r
        WHERE r.network = :network
          AND EXISTS (
              SELECT 1 FROM staging.network_rebuild_posts AS k
              WHERE k.network = :network AND k.page_key = r.page_key AND k.post_key = r.post_key
          )
    ) AS o
) AS latest
WHERE rn = 1;
