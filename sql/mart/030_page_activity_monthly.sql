-- mart.page_activity_monthly: page × month. Days are the body's local days. Engagement rate:
-- (likes + comments + reposts) ÷ subscribers of the post's day × 100, averaged over the posts.
-- Comments: citizens' comments published in the month; replied = the page answered in the thread.
-- VK pages first (core.fct_post, fct_comment), then the pages of OK, MAX and Telegram
-- (core.fct_network_post, fct_network_page_daily, joined by network and the page key the registry
-- keeps in screen_name): the same measures where the network gives them; their citizens' comment
-- counts are NULL (comments are not read one by one), and so is a measure built only of metrics the
-- network lacks (MAX gives views only: no engagement rate; OK gives no views). Those pages have a row
-- when they were observed in the month (a day's subscribers or a post).
-- post_comments (every network): the comments on the month's posts as each post's own count says
-- (every author; NULL where the network counts none: MAX, a Telegram channel without discussion).
DELETE FROM mart.page_activity_monthly WHERE month = :month_start;

INSERT INTO mart.page_activity_monthly (
    page_id, org_id, vk_group_id, month, days_in_month, posts, days_with_post, longest_gap_days,
    photo_video_share, avg_views, engagement_rate_pct, citizen_comments, replied_comments, replied_share,
    median_reply_delay_minutes, subscribers_end, network, post_comments
)
WITH pages AS (
    SELECT p.page_id, p.org_id, p.vk_group_id, o.timezone
    FROM core.dim_page AS p
    JOIN core.dim_org AS o ON o.org_id = p.org_id AND o.is_current
    WHERE p.vk_group_id IS NOT NULL
      AND p.valid_from < :month_end AND (p.valid_to IS NULL OR p.valid_to > :month_start)
),
posts AS (
    SELECT g.page_id, x.post_id, x.day, x.views, x.likes, x.comments, x.reposts, x.photo_count, x.video_count,
           d.members_count AS subscribers
    FROM pages AS g
    JOIN (
        SELECT po.*, CAST(po.published_at AT TIME ZONE g2.timezone AS DATE) AS day
        FROM core.fct_post AS po
        JOIN pages AS g2 ON g2.vk_group_id = po.vk_group_id
        WHERE po.published_at >= :window_start AND po.published_at < :window_end
    ) AS x ON x.vk_group_id = g.vk_group_id
    LEFT JOIN core.fct_page_daily AS d ON d.vk_group_id = x.vk_group_id AND d.dt = x.day
    WHERE x.day >= :month_start AND x.day < :month_end
),
post_days AS (
    SELECT page_id, day, LEAD(day) OVER (PARTITION BY page_id ORDER BY day) AS next_day
    FROM (SELECT DISTINCT page_id, day FROM posts) AS days
),
gaps AS (
    SELECT page_id,
           COUNT(*) AS days_with_post,
           GREATEST(
               MAX(CASE WHEN next_day IS NOT NULL THEN next_day - day - 1 ELSE 0 END),
               MIN(day) - CAST(:month_start AS DATE),
               CAST(:month_end AS DATE) - MAX(day) - 1
           ) AS longest_gap
    FROM post_days
    GROUP BY page_id
),
post_stats AS (
    SELECT page_id,
           COUNT(*) AS posts,
           AVG(CASE WHEN COALESCE(photo_count, 0) + COALESCE(video_count, 0) > 0 THEN 1.0 ELSE 0.0 END)
               AS photo_video_share,
           AVG(CAST(views AS DOUBLE PRECISION)) AS avg_views,
           AVG(CASE WHEN subscribers > 0
                    THEN 100.0 * (COALESCE(likes, 0) + COALESCE(comments, 0) + COALESCE(reposts, 0)) / subscribers
               END) AS engagement_rate_pct,
           SUM(comments) AS post_comments
    FROM posts
    GROUP BY page_id
),
comment_stats AS (
    SELECT g.page_id,
           COUNT(*) AS citizen_comments,
           SUM(CASE WHEN c.page_replied THEN 1 ELSE 0 END) AS replied_comments,
           PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY c.reply_delay_minutes) AS median_reply_delay_minutes
    FROM core.fct_comment AS c
    JOIN pages AS g ON g.vk_group_id = c.vk_group_id
    WHERE NOT c.is_page_reply
      AND c.published_at >= :window_start AND c.published_at < :window_end
      AND CAST(c.published_at AT TIME ZONE g.timezone AS DATE) >= :month_start
      AND CAST(c.published_at AT TIME ZONE g.timezone AS DATE) < :month_end
    GROUP BY g.page_id
),
month_end_subscribers AS (
    SELECT g.page_id,
           (SELECT d.members_count FROM core.fct_page_daily AS d
            WHERE d.vk_group_id = g.vk_group_id AND d.dt < :month_end AND d.members_count IS NOT NULL
            ORDER BY d.dt DESC LIMIT 1) AS subscribers_end
    FROM pages AS g
)
SELECT g.page_id, g.org_id, g.vk_group_id, :month_start,
       CAST(:month_end AS DATE) - CAST(:month_start AS DATE),
       COALESCE(s.posts, 0),
       COALESCE(gp.days_with_post, 0),
       COALESCE(gp.longest_gap, CAST(:month_end AS DATE) - CAST(:month_start AS DATE)),
       s.photo_video_share, s.avg_views, s.engagement_rate_pct,
       COALESCE(cs.citizen_comments, 0), COALESCE(cs.replied_comments, 0),
       CASE WHEN cs.citizen_comments > 0 THEN 1.0 * cs.replied_comments / cs.citizen_comments END,
       cs.median_reply_delay_minutes,
       m.subscribers_end,
       'vk',
       s.post_comments
FROM pages AS g
LEFT JOIN post_stats AS s ON s.page_id = g.page_id
LEFT JOIN gaps AS gp ON gp.page_id = g.page_id
LEFT JOIN comment_stats AS cs ON cs.page_id = g.page_id
LEFT JOIN month_end_subscribers AS m ON m.page_id = g.page_id;

INSERT INTO mart.page_activity_monthly (
    page_id, org_id, vk_group_id, month, days_in_month, posts, days_with_post, longest_gap_days,
    photo_video_share, avg_views, engagement_rate_pct, citizen_comments, replied_comments, replied_share,
    median_reply_delay_minutes, subscribers_end, network, post_comments
)
WITH pages AS (
    SELECT p.page_id, p.org_id, p.network, p.screen_name AS page_key, o.timezone
    FROM core.dim_page AS p
    JOIN core.dim_org AS o ON o.org_id = p.org_id AND o.is_current
    WHERE p.network IN ('ok', 'max', 'tg') AND p.screen_name IS NOT NULL
      AND p.valid_from < :month_end AND (p.valid_to IS NULL OR p.valid_to > :month_start)
),
posts AS (
    SELECT x.page_id, x.post_key, x.day, x.views, x.likes, x.comments, x.reposts, x.has_photo, x.has_video,
           d.subscribers
    FROM (
        SELECT g.page_id, po.*, CAST(po.published_at AT TIME ZONE g.timezone AS DATE) AS day
        FROM core.fct_network_post AS po
        JOIN pages AS g ON g.network = po.network AND g.page_key = po.page_key
        WHERE po.published_at >= :window_start AND po.published_at < :window_end
    ) AS x
    LEFT JOIN core.fct_network_page_daily AS d
      ON d.network = x.network AND d.page_key = x.page_key AND d.dt = x.day
    WHERE x.day >= :month_start AND x.day < :month_end
),
post_days AS (
    SELECT page_id, day, LEAD(day) OVER (PARTITION BY page_id ORDER BY day) AS next_day
    FROM (SELECT DISTINCT page_id, day FROM posts) AS days
),
gaps AS (
    SELECT page_id,
           COUNT(*) AS days_with_post,
           GREATEST(
               MAX(CASE WHEN next_day IS NOT NULL THEN next_day - day - 1 ELSE 0 END),
               MIN(day) - CAST(:month_start AS DATE),
               CAST(:month_end AS DATE) - MAX(day) - 1
           ) AS longest_gap
    FROM post_days
    GROUP BY page_id
),
post_stats AS (
    SELECT page_id,
           COUNT(*) AS posts,
           AVG(CASE WHEN has_photo OR has_video THEN 1.0
                    WHEN has_photo IS NULL AND has_video IS NULL THEN NULL ELSE 0.0 END) AS photo_video_share,
           AVG(CAST(views AS DOUBLE PRECISION)) AS avg_views,
           AVG(CASE WHEN subscribers > 0 AND COALESCE(likes, comments, reposts) IS NOT NULL
                    THEN 100.0 * (COALESCE(likes, 0) + COALESCE(comments, 0) + COALESCE(reposts, 0)) / subscribers
               END) AS engagement_rate_pct,
           SUM(comments) AS post_comments
    FROM posts
    GROUP BY page_id
),
observed AS (
    SELECT g.page_id,
           (SELECT d.subscribers FROM core.fct_network_page_daily AS d
            WHERE d.network = g.network AND d.page_key = g.page_key AND d.dt < :month_end
              AND d.subscribers IS NOT NULL
            ORDER BY d.dt DESC LIMIT 1) AS subscribers_end
    FROM pages AS g
    WHERE EXISTS (
        SELECT 1 FROM core.fct_network_page_daily AS d
        WHERE d.network = g.network AND d.page_key = g.page_key
          AND d.dt >= :month_start AND d.dt < :month_end
    ) OR EXISTS (SELECT 1 FROM posts AS x WHERE x.page_id = g.page_id)
)
SELECT g.page_id, g.org_id, CAST(NULL AS BIGINT), :month_start,
       CAST(:month_end AS DATE) - CAST(:month_start AS DATE),
       COALESCE(s.posts, 0),
       COALESCE(gp.days_with_post, 0),
       COALESCE(gp.longest_gap, CAST(:month_end AS DATE) - CAST(:month_start AS DATE)),
       s.photo_video_share, s.avg_views, s.engagement_rate_pct,
       CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), CAST(NULL AS DOUBLE PRECISION),
       CAST(NULL AS DOUBLE PRECISION),
       m.subscribers_end,
       g.network,
       s.post_comments
FROM pages AS g
JOIN observed AS m ON m.page_id = g.page_id
LEFT JOIN post_stats AS s ON s.page_id = g.page_id
LEFT JOIN gaps AS gp ON gp.page_id = g.page_id;
