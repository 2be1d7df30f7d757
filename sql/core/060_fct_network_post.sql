-- core.fct_network_post after loading one network's day dt. A post's row is its
-- latest observation (latest day, then time, then load) and its first observation the earliest,
-- over every staged observation of it. The posts to rebuild are those observed on dt now or in the
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
    SELECT s.*,
           MIN(s.observed_at) OVER (PARTITION BY s.page_key, s.post_key) AS first_observed_at,
           ROW_NUMBER() OVER (
               PARTITION BY s.page_key, s.post_key ORDER BY s.dt DESC, s.observed_at DESC, s.load_id DESC
           ) AS rn
    FROM staging.network_post_observations AS s
    WHERE s.network = :network
      AND EXISTS (
          SELECT 1 FROM staging.network_rebuild_posts AS k
          WHERE k.network = :network AND k.page_key = s.page_key AND k.post_key = s.post_key
      )
) AS latest
WHERE rn = 1;
